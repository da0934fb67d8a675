"""Record the example scenarios' workflow histories for the replay test.

Run ``make histories`` after a deliberate, compatible change to the interpreter
(and only then): the committed histories are what running enrollments look like.
Names of scenarios (``python -m tests.workflows.record_histories visit_reminder``)
record only those: a new scenario's history, without touching the others.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cli.simulation import simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "eye-clinic" / "scenarios"
HISTORIES = Path(__file__).parent / "histories"


async def record(names: list[str]) -> None:
    HISTORIES.mkdir(exist_ok=True)
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if names and path.stem not in names:
            continue
        result = await simulate(path, record_history=True)
        if result.history_json is None:
            print(f"{path.name}: no enrollment, nothing recorded")
            continue
        target = HISTORIES / f"{path.stem}.json"
        target.write_text(result.history_json, encoding="utf-8")
        print(f"{path.name}: {result.status}, history -> {target.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
