"""The problem+json body (RFC 9457) every error response of the API has."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProblemItem(BaseModel):
    """One thing wrong: a request field, or a line of a workspace file."""

    field: str | None = Field(
        None, description="dotted path of the bad request field, e.g. batch.2.timestamp"
    )
    file: str | None = Field(None, description="workspace file the problem is in")
    line: int | None = Field(None, description="line of that file, when known")
    message: str = Field(description="what is wrong, in words")
    fix: str | None = Field(None, description="what would be right")
    rule: str | None = Field(None, description="the validation rule that found it")


class Problem(BaseModel):
    """An error response: what kind of problem, and every detail of it."""

    type: str = Field(description="URI reference naming the kind of problem")
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong with this request")
    errors: list[ProblemItem] = Field(
        default_factory=list, description="each bad field or workspace problem"
    )
