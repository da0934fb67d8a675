"""``carepath simulate SCENARIO.yaml [--json]``: print a scenario's trace."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import CarepathError, ValidationFailed
from rules.errors import RulesError

_COLUMNS = ("channel", "outcome", "event", "goto", "variant", "reason", "detail")


def format_trace(result: dict[str, Any]) -> str:
    """The human-readable trace: one line per entry, then the outcome."""
    lines = [f"journey {result['journey']} v{result['version']}"]
    for entry in result["trace"]:
        at = entry["at"].replace("T", " ")[:19]
        rest = "  ".join(str(entry[c]) for c in _COLUMNS if c in entry)
        if "to" in entry:  # a re-planned wait: its old and new end
            rest = f"{entry.get('from')} -> {entry['to']}"
        lines.append(f"  {at}  {entry.get('step') or '-':<16} {entry['kind']:<9} {rest}".rstrip())
    outcome = result["status"]
    if result.get("exit_reason"):
        outcome += f" ({result['exit_reason']})"
    if result.get("variant"):
        outcome += f", variant {result['variant']}"
    lines.append(f"status: {outcome}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run the scenario; 0 when the journey ran, 2 when scenario or journey is invalid."""
    from cli.simulation import simulate

    path = Path(args.scenario)
    if not path.is_file():
        print(f"carepath simulate: no scenario file {path}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(simulate(path)).as_json()
    except ValidationFailed as exc:
        for problem in exc.problems:
            print(str(problem) + (f" [{problem.rule}]" if problem.rule else ""), file=sys.stderr)
        return 2
    except (CarepathError, RulesError) as exc:
        print(f"carepath simulate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_trace(result))
    return 0
