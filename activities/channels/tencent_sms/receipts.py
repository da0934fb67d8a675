"""Tencent Cloud SMS status reports (短信下发状态回调), read into receipts.

Tencent posts a JSON array of status reports keyed by ``sid`` (the SerialNo that
``SendSms`` returned); each becomes a ``Receipt`` matched to its delivery, and acted
on only when its ``mobile`` is the number the delivery went to
(``engine.intake.callbacks.deliver``). A body that is not such an array is refused
whole (422, naming the field) and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from engine.intake.callbacks import Receipt

#: More reports than Tencent puts in one push (it batches a few hundred at most).
MAX_ITEMS = 1000

#: Digits only, as Tencent writes numbers in callbacks (the country code apart).
DIGITS = r"^[0-9]{5,15}$"

_JSON: TypeAdapter[Any] = TypeAdapter(Any)


class StatusReport(BaseModel):
    """One element of the status callback's array (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    sid: str = Field(min_length=1, max_length=128, description="the SerialNo SendSms returned")
    mobile: str = Field(pattern=DIGITS, description="the number, without the country code")
    nationcode: str = Field(
        "86", pattern=r"^[0-9]{0,4}$", description="country code; empty when in ``mobile``"
    )
    report_status: str = Field(max_length=16, description="SUCCESS or FAIL")
    errmsg: str = Field("", max_length=256, description="the carrier's code, e.g. DELIVRD")
    description: str = Field("", max_length=512, description="the status in words")
    user_receive_time: str | None = Field(None, max_length=32, description="when received")

    @property
    def phone(self) -> str:
        """The number in E.164."""
        return f"+{self.nationcode}{self.mobile}"


_REPORTS: TypeAdapter[list[StatusReport]] = TypeAdapter(
    Annotated[list[StatusReport], Field(max_length=MAX_ITEMS)]
)


def json_items(body: bytes) -> Any:
    """The body's JSON, a lone object as a list of one; a pydantic ValidationError
    (answered 422) naming what is wrong when it is not UTF-8 or not JSON."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = f"not UTF-8: byte {body[exc.start]:#04x} at offset {exc.start}"
        raise ValidationError.from_exception_data(
            "body", [{"type": "json_invalid", "loc": (), "input": "", "ctx": {"error": error}}]
        ) from None
    # Empty, malformed and too deeply nested bodies are json_invalid errors too.
    data = _JSON.validate_json(body)
    return [data] if isinstance(data, dict) else data


def sms_receipts(body: bytes) -> list[Receipt]:
    """Receipts in one Tencent Cloud SMS status callback (a JSON array)."""
    out = []
    for report in _REPORTS.validate_python(json_items(body)):
        status = report.report_status.upper()
        ok = status == "SUCCESS"
        detail = "" if ok else f"{report.errmsg} {report.description}".strip()
        # Tencent retries a report it thinks was not taken: one per message and status.
        key = f"sms:{report.sid}:{status}"
        out.append(
            Receipt(
                report.sid, "sms", ok, detail or ("" if ok else "FAIL"), key, phone=report.phone
            )
        )
    return out
