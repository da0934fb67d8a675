"""Reports as CSV (``format=csv``): the same rows as the JSON, one line each, nested
figures flattened to dotted columns (``skipped.consent``), UTF-8 with a byte-order mark
so that Excel opens Chinese text correctly."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel

Format = Annotated[
    Literal["json", "csv"],
    Query(description="json (default) or csv: the same rows, one line each"),
]

#: What the OpenAPI document says a report may also answer.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the report (JSON, or CSV with format=csv)"}
}


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A row with nested mappings spread into dotted keys; lists joined by ``;``."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = "" if value is None else value
    return out


def csv_response(rows: Sequence[BaseModel], name: str) -> Response:
    """``rows`` as a CSV attachment named ``name``.csv; the header is every column any
    row has, in the order first seen."""
    flat = [flatten(r.model_dump(mode="json")) for r in rows]
    columns = list(dict.fromkeys(k for row in flat for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
