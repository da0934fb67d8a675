"""``carepath segment count RULE_OR_FILE``: how many customers a segment or rule names now.

RULE_OR_FILE is a segment file (``segments/x.yaml``), the id of a segment of the
workspace, or a rule written inline in YAML or JSON. Segment atoms resolve to the
workspace's segment files (compiled inline), else to deployed membership. The count
runs in SQL against the service's database, as the API's does.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import CarepathError

if TYPE_CHECKING:
    from engine.models.journey import Segment
    from rules.models import Rule

__all__ = ["add_parser", "main"]


class _Invalid(CarepathError):
    """Raised when RULE_OR_FILE cannot be read; each line names the file/line or field."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``segment`` and its subcommands with the ``carepath`` parser."""
    segment = commands.add_parser(
        "segment",
        help="count the customers of a segment or rule",
        description="Work with segments (named rules in segments/) against the database.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    segment.set_defaults(segment_parser=segment)
    actions = segment.add_subparsers(dest="segment_command", metavar="ACTION")
    count = actions.add_parser(
        "count",
        help="print how many customers a segment or rule names now",
        description=(
            "Count the live customers RULE_OR_FILE names now, in SQL against the database.\n"
            "RULE_OR_FILE is one of:\n"
            "  a segment file          segments/high_intent_parents.yaml\n"
            "  a segment id            high_intent_parents  (segments/ of --workspace)\n"
            '  an inline rule          \'{tag: VIP}\'  or  \'{"attribute": "age_group", '
            '"eq": "child"}\'\n'
            "Segment atoms in the rule use the workspace's segment files, else the deployed\n"
            "segments' membership. Exit code 0 with the count, 2 when the input is invalid\n"
            "(the message names the file and line, or the field)."
        ),
        epilog=(
            "examples:\n"
            "  carepath segment count segments/high_intent_parents.yaml\n"
            "  carepath segment count high_intent_parents --workspace examples/eye-clinic\n"
            "  carepath segment count '{all: [{tag: 高意向}, {attribute: age_group, eq: child}]}'\n"
            "  carepath segment count '{tag: VIP}' --sample 5 --database-url postgresql+psycopg://..\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    count.add_argument("target", metavar="RULE_OR_FILE", help="segment file, segment id or rule")
    count.add_argument(
        "--workspace", default=".", metavar="DIR", help="workspace with segments/ (default: .)"
    )
    count.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)",
    )
    count.add_argument(
        "--sample", type=int, default=0, metavar="N", help="also print the first N customer ids"
    )


def main(args: argparse.Namespace) -> int:
    """Run ``carepath segment ...``; return the exit code."""
    if args.segment_command != "count":
        args.segment_parser.print_help()
        return 2
    if args.sample < 0:
        print("error: --sample must be 0 or more", file=sys.stderr)
        return 2
    try:
        definitions = _workspace_segments(Path(args.workspace))
        label, rule = _target(args.target, Path(args.workspace), definitions)
    except _Invalid as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    url = args.database_url or _default_url()
    total, sample = _count(url, rule, definitions, args.sample)
    print(f"{total} customer{'s' if total != 1 else ''} in {label}")
    for customer_id in sample:
        print(f"  {customer_id}")
    return 0


def _default_url() -> str:
    from engine.settings import get_settings

    return get_settings().database.url


def _workspace_segments(root: Path) -> dict[str, Segment]:
    """The segments/ files of the workspace (none when it has no segments/)."""
    from engine.models.journey import Segment
    from engine.models.reading import load_model

    out: dict[str, Segment] = {}
    folder = root / "segments"
    if not folder.is_dir():
        return out
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        segment, problems = load_model(path, Segment)
        if segment is not None and not problems:
            out[segment.id] = segment
    return out


def _target(target: str, root: Path, definitions: dict[str, Segment]) -> tuple[str, Rule]:
    """(what is counted, its rule) for RULE_OR_FILE."""
    from engine.models.journey import Segment
    from engine.models.reading import load_model

    path = Path(target)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise _Invalid([f"{target}: no such file (give a segments/*.yaml file)"])
        segment, problems = load_model(path, Segment)
        if problems or segment is None:
            raise _Invalid([str(p) for p in problems])
        return f"segment {segment.id} ({target})", segment.rule
    if target in definitions:
        return f"segment {target} ({root / 'segments'})", definitions[target].rule
    return "the rule", _inline(target, definitions)


def _inline(text: str, definitions: dict[str, Segment]) -> Rule:
    from io import StringIO

    from pydantic import ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from engine.models.explain import explain_error
    from engine.models.journey import Segment
    from engine.store.sql.audience import rule_field_path

    try:
        data: Any = YAML(typ="safe").load(StringIO(text))
    except YAMLError as exc:
        raise _Invalid([f"RULE: not valid YAML or JSON ({str(exc).splitlines()[0]})"]) from None
    if not isinstance(data, dict):
        known = ", ".join(sorted(definitions)) or "none in this workspace"
        raise _Invalid(
            [
                f"RULE_OR_FILE {text!r} is not a segments/*.yaml file, a segment id of the "
                f"workspace ({known}) or a rule mapping such as '{{tag: VIP}}'"
            ]
        )
    wrapped = {"id": "inline", "rule": data}
    try:
        return Segment.model_validate(wrapped).rule
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            message, fix, code = explain_error(error, wrapped, Segment)
            field = ".".join(str(p) for p in rule_field_path(tuple(error["loc"])[1:])) or "rule"
            lines.append(f"RULE {field}: {message} ({fix}) [{code}]")
        raise _Invalid(lines) from None


def _count(
    url: str, rule: Rule, definitions: dict[str, Segment], sample: int
) -> tuple[int, list[str]]:
    from engine.store.sql import SqlStore, upgrade
    from engine.store.sql.audience import Audience

    upgrade(url)
    store = SqlStore(url)
    try:
        audience = Audience(store)
        inline = {sid: seg.rule for sid, seg in definitions.items()}
        now = datetime.now(UTC)
        total = audience.count(rule=rule, now=now, definitions=inline)
        ids = (
            [
                m.customer_id
                for m in audience.page(rule=rule, now=now, limit=sample, definitions=inline)
            ]
            if sample
            else []
        )
    finally:
        store.close()
    return total, ids
