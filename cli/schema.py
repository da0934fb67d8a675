"""``carepath schema [--out DIR]``: JSON Schemas of the workspace files for YAML editors."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from pydantic import BaseModel

from engine.compliance.content import ComplianceFile
from engine.models.compliance import HolidaysFile
from engine.models.journey import Journey, Segment
from engine.models.message import Message
from engine.models.tagging import TaggingFile

__all__ = ["main", "schemas"]


def schemas() -> dict[str, type[BaseModel]]:
    """File name -> model, including the simulation scenario when it is available."""
    found: dict[str, type[BaseModel]] = {
        "journey.schema.json": Journey,
        "message.schema.json": Message,
        "segment.schema.json": Segment,
        "tagging.schema.json": TaggingFile,
        "compliance.schema.json": ComplianceFile,
        "holidays.schema.json": HolidaysFile,
    }
    try:
        module = importlib.import_module("engine.models.scenario")
    except ModuleNotFoundError as exc:
        if exc.name != "engine.models.scenario":
            raise
        return found
    scenario = getattr(module, "Scenario", None)
    if isinstance(scenario, type) and issubclass(scenario, BaseModel):
        found["scenario.schema.json"] = scenario
    return found


def main(args: argparse.Namespace) -> int:
    """Write every schema to ``args.out`` and say how to use them."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, model in schemas().items():
        schema = model.model_json_schema()
        (out / name).write_text(
            json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(f"wrote {out / name}")
    ref = out.as_posix() if out.is_absolute() else f"../{out.as_posix()}"
    print(
        "\nPoint the YAML editor extension (VS Code: redhat.vscode-yaml) at them: start a file"
        f"\nwith a comment such as\n  # yaml-language-server: $schema={ref}/"
        "journey.schema.json\nor map them once in .vscode/settings.json:\n"
        f'  "yaml.schemas": {{"{out.as_posix()}/journey.schema.json": "journeys/*.yaml",\n'
        f'                   "{out.as_posix()}/message.schema.json": "messages/*.yaml",\n'
        f'                   "{out.as_posix()}/segment.schema.json": "segments/*.yaml",\n'
        f'                   "{out.as_posix()}/tagging.schema.json": "tagging.yaml",\n'
        f'                   "{out.as_posix()}/compliance.schema.json": "compliance.yaml",\n'
        f'                   "{out.as_posix()}/holidays.schema.json": "holidays.yaml"}}'
    )
    return 0
