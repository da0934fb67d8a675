"""The reports' answers in the yardsticks' plain form, and the check that both say the
same: counts and money exactly, ratios to the four decimals the reports round to,
medians and latencies to a microsecond.

Each ``expected_*`` builds what the report must show from a yardstick's figures with
the arithmetic of ``docs/reports.md`` (ratios rounded to four decimals, null when the
denominator is 0; money from integer fen, two decimals, half up); each ``shown_*``
reads the report's model into the same form.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["differences", "per", "ratio", "yuan"]

_CENT = Decimal("0.01")


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(_CENT)


def per(fen: int | None, count: int) -> Decimal | None:
    if fen is None or count == 0:
        return None
    return (Decimal(fen) / count / 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def ratio(part: int, whole: int | None) -> float | None:
    if not whole:
        return None
    return round(part / whole, 4)


def _instant(value: Any) -> Any:
    """SQLite gives instants of hand-written SQL back as text."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


def differences(
    expected: Any, shown: Any, path: str = "", found: list[str] | None = None
) -> list[str]:
    """Where two plain answers differ (at most 10 places); floats to 1e-6 relative."""
    out = [] if found is None else found
    if len(out) >= 10:
        return out
    if isinstance(expected, dict) and isinstance(shown, dict):
        for key in sorted(set(expected) | set(shown), key=str):
            if key not in shown:
                out.append(f"{path}/{key}: only in the yardstick ({expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}/{key}: only in the report ({shown[key]!r})")
            else:
                differences(expected[key], shown[key], f"{path}/{key}", out)
    elif isinstance(expected, list | tuple) and isinstance(shown, list | tuple):
        if len(expected) != len(shown):
            out.append(
                f"{path}: {len(expected)} items in the yardstick, {len(shown)} in the report"
            )
        for i, (a, b) in enumerate(zip(expected, shown, strict=False)):
            differences(a, b, f"{path}[{i}]", out)
    elif isinstance(expected, float) or isinstance(shown, float):
        if (
            expected is None
            or shown is None
            or not math.isclose(expected, shown, rel_tol=1e-6, abs_tol=1e-6)
        ):
            out.append(f"{path}: yardstick {expected!r}, report {shown!r}")
    elif _instant(expected) != _instant(shown):
        out.append(f"{path}: yardstick {expected!r}, report {shown!r}")
    return out
