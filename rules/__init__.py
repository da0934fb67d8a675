"""The rule language: models, in-memory evaluation, dependencies (journey-language.md §1).

``rules.models`` (what operators write), ``rules.conditions`` (operator mappings),
``rules.match`` (the one comparison core), ``rules.view`` (a customer as rules see
them), ``rules.evaluate`` (in memory), ``rules.deps`` (what a rule reads). The package
imports nothing of carepath's; models, conditions, match and view are safe inside a
Temporal workflow sandbox (stdlib and pydantic only, no I/O, no clock).
"""
