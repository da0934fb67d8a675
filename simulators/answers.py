"""What a simulator is told to answer and what it records of the traffic it sees.

Tests and scenarios write answers as plain values (``"ok"``, ``43004``, ``"timeout"``)
or mappings; :meth:`Answer.of` reads them, and each simulator's ``coerce`` checks that
the answer is one its platform can give.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = ["Answer", "AnswerLike", "CallRecord", "MessageRecord", "errcode_answer"]


@dataclass(frozen=True)
class Answer:
    """What a simulator answers to one send.

    ``result``: ``"ok"``/``"Ok"``/``0`` to accept; a WeChat errcode (int) or a Tencent
    SMS Code (str) to refuse; ``"timeout"`` to accept, then hold the connection past
    the client's timeout; ``"slow:SECONDS"`` to accept and answer late; ``"reset"`` to
    accept, then drop the connection without an answer; for WeCom, ``"fail_list"`` to
    answer errcode 0 with the customer in ``fail_list``.
    ``receipt``: the delivery report that follows an accepted message (``success``,
    ``failed:user block``, ``SUCCESS``, ``FAIL``, ``sent``, ``not_friend``, ...), ``none``
    for no receipt, or None for the simulator's default. ``after``: its delay in seconds.
    """

    result: str | int = "ok"
    receipt: str | None = None
    after: float = 5.0

    @classmethod
    def of(cls, value: AnswerLike) -> Answer:
        """Accept an Answer, a bare result, or a mapping with result/receipt/after."""
        if isinstance(value, Answer):
            return value
        if isinstance(value, str | int):
            return cls(result=value)
        unknown = set(value) - {"result", "receipt", "after"}
        if unknown:
            raise ValueError(f"unknown answer fields {sorted(unknown)}")
        return cls(
            result=value.get("result", "ok"),
            receipt=value.get("receipt"),
            after=float(value.get("after", 5.0)),
        )

    @property
    def accepted(self) -> bool:
        """True when the provider takes the message (even if the answer is late or lost)."""
        if self.result == 0:
            return True
        if not isinstance(self.result, str):
            return False
        return self.result.lower() in ("ok", "timeout", "reset") or self.result.startswith("slow:")

    @property
    def code(self) -> str | int | None:
        """The refusal code, or None when the message is accepted."""
        return None if self.accepted else self.result

    def delay(self, hold: float) -> float:
        """Seconds to wait before answering: ``hold`` for a timeout, S for ``slow:S``."""
        if self.result == "timeout":
            return hold
        if isinstance(self.result, str) and self.result.startswith("slow:"):
            return float(self.result.split(":", 1)[1])
        return 0.0


AnswerLike: TypeAlias = Answer | str | int | Mapping[str, Any]


def errcode_answer(answer: Answer, provider: str, special: tuple[str, ...] = ()) -> Answer:
    """WeChat and WeCom refuse with an int errcode: accept "43004" from YAML, reject "Foo"."""
    code = answer.code
    if code is None or isinstance(code, int) or code in special:
        return answer
    if re.fullmatch(r"-?\d+", code):
        return dataclasses.replace(answer, result=int(code))
    raise ValueError(f"{provider} refuses with an errcode (int), not {code!r}")


@dataclass
class MessageRecord:
    """One message a simulator accepted."""

    endpoint: str
    recipient: str
    content: dict[str, Any]
    provider_ref: str
    at: float
    idempotency: str | None = None
    receipt: str | None = None  # the planned delivery status; None: no receipt follows
    receipt_after: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP request a simulator received, whatever it answered."""

    method: str
    path: str
    at: float
