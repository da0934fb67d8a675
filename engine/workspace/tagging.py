"""Keyword auto-tags: reading ``tagging.yaml`` and matching customers' messages.

:func:`load_tagging` reads a workspace's ``tagging.yaml`` (problems name file, line and
fix, like every workspace file); the loader puts the validated document into
``Workspace.documents["tagging"]`` and a deploy stores it, so every process matches
with the deployed rules. :func:`matcher_for` compiles a document once (cached by its
content) into a :class:`Matcher`, whose :meth:`Matcher.match` gives each tag a text
adds, the text that matched and the rule.

A workspace without ``tagging.yaml`` deploys an empty document: removing the file
stops automatic tags.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Problem
from engine.models.reading import read_model
from engine.models.tagging import ChatSource, TaggingFile, TaggingRule

__all__ = ["DOCUMENT", "KeywordMatch", "Matcher", "load_tagging", "matcher_for", "normalise"]

#: The document name a deploy stores the rules under.
DOCUMENT = "tagging"
FILE = "tagging.yaml"
#: The matched text kept with a tag (its source) at most this long.
MATCHED_MAX = 60

_LATIN = "A-Za-z0-9"


def normalise(text: str) -> str:
    """NFKC: full-width Latin letters, digits and punctuation become their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class KeywordMatch:
    """A tag a message adds: the rule's tag and name, and the text that matched."""

    tag: str
    rule: str
    matched: str

    @property
    def source(self) -> str:
        """The tag's source, as the customer's tags and their history show it."""
        return f"auto:keyword:{self.rule}:{self.matched[:MATCHED_MAX]}"


def _keyword(word: str) -> re.Pattern[str]:
    """A literal keyword; a Latin letter or digit at an edge must not touch another."""
    word = normalise(word)
    before = f"(?<![{_LATIN}])" if re.match(f"[{_LATIN}]", word) else ""
    after = f"(?![{_LATIN}])" if re.search(f"[{_LATIN}]$", word) else ""
    return re.compile(before + re.escape(word) + after, re.IGNORECASE)


@dataclass(frozen=True)
class _Compiled:
    rule: TaggingRule
    finders: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]

    def first(self, text: str) -> str | None:
        """The first match in ``text`` that no exclude phrase covers."""
        spans = [m.span() for e in self.exclude for m in e.finditer(text)]
        for finder in self.finders:
            for found in finder.finditer(text):
                start, end = found.span()
                if end > start and not any(s <= start and end <= e for s, e in spans):
                    return found.group(0)
        return None


class Matcher:
    """Compiled rules of one tagging document."""

    def __init__(self, rules: Iterable[TaggingRule]) -> None:
        self._rules = tuple(
            _Compiled(
                rule,
                tuple(_keyword(k) for k in rule.keywords)
                + tuple(re.compile(p) for p in rule.patterns),
                tuple(re.compile(re.escape(normalise(x)), re.IGNORECASE) for x in rule.exclude),
            )
            for rule in rules
        )

    def __bool__(self) -> bool:
        return bool(self._rules)

    def match(self, text: str, source: ChatSource) -> list[KeywordMatch]:
        """Each tag ``text`` adds (first rule per tag wins), read from ``source``."""
        text = normalise(text)
        found: dict[str, KeywordMatch] = {}
        for compiled in self._rules:
            rule = compiled.rule
            if source not in rule.sources or rule.tag in found:
                continue
            matched = compiled.first(text)
            if matched is not None:
                found[rule.tag] = KeywordMatch(rule.tag, rule.name, matched)
        return list(found.values())


_EMPTY = Matcher(())
_cache: dict[str, Matcher] = {}
_cache_lock = threading.Lock()


def matcher_for(document: dict[str, Any] | None) -> Matcher:
    """The compiled rules of a deployed document (compiled once per distinct document)."""
    if not document or not document.get("rules"):
        return _EMPTY
    key = repr(document)  # the document as deployed: equal documents share a matcher
    hit = _cache.get(key)
    if hit is not None:
        return hit
    matcher = Matcher(TaggingFile.model_validate(document).rules)
    with _cache_lock:
        if len(_cache) > 16:  # a document changes only on deploy
            _cache.clear()
        _cache[key] = matcher
    return matcher


def load_tagging(root: str | Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The workspace's ``tagging.yaml`` as a document, and what is wrong with it.

    No file: the empty document (no automatic tags). A file with problems: None.
    """

    path = Path(root) / FILE
    if not path.is_file():
        return TaggingFile().model_dump(mode="json"), []
    loaded = read_model(path, TaggingFile)
    problems = [_rule_code(p) for p in loaded.problems]
    model = loaded.model
    if not isinstance(model, TaggingFile):
        return None, problems
    seen: dict[str, int] = {}
    for i, rule in enumerate(model.rules):
        if rule.name in seen:
            problems.append(
                Problem(
                    loaded.file,
                    loaded.line(("rules", i, "id" if rule.id else "tag")),
                    f"rule {rule.name!r} is written twice (also rule {seen[rule.name] + 1})",
                    "give each rule its own id: ... (two rules may add the same tag)",
                    "E-duplicate-id",
                )
            )
        seen.setdefault(rule.name, i)
    if problems:
        return None, problems
    return model.model_dump(mode="json", exclude_none=True), []


def _rule_code(problem: Problem) -> Problem:
    if problem.message.startswith("pattern ") and "regular expression" in problem.message:
        return Problem(problem.file, problem.line, problem.message, problem.fix, "E-regex")
    return problem
