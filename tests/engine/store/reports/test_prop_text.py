"""``prop_text`` on SQLite: a property is read from the stored JSON exactly as
``json_extract`` reads it, whether or not its key is looked for in the text first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Text, cast, create_engine, func, literal, select

from engine.store.sql.reports.query import prop_text

DOCUMENTS: list[dict[str, Any]] = [
    {},
    {"doctor_id": "d07"},
    {"doctor_id": 12},
    {"doctor_id": None},
    {"page": "doctor_id"},  # the key's text as a value only
    {"nested": {"doctor_id": "d01"}},  # not a top-level property
    {"医生": "d02", "doctor_id": "d03"},
    {"utm.source": "baidu", "x-y": "1"},
    {"名字": "张"},
]
KEYS = ["doctor_id", "page", "utm.source", "x-y", "名字", "missing"]


def expected(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None or isinstance(value, dict):
        return None if value is None else json.dumps(value, separators=(",", ":"))
    return str(value)


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("key", KEYS)
def test_a_property_is_json_extracts_reading(key: str, ensure_ascii: bool) -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        for document in DOCUMENTS:
            text = json.dumps(document, ensure_ascii=ensure_ascii)
            doc = literal(text)
            whole = cast(func.json_extract(doc, f'$."{key}"'), Text)
            got, parsed = conn.execute(select(prop_text(doc, key, "sqlite"), whole)).one()
            assert got == parsed, (text, key)
            if ensure_ascii is False or key.isascii():
                assert got == expected(document, key), (text, key)
