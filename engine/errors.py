"""One error tree for carepath.

    CarepathError
    ├── WorkspaceError            a workspace file cannot be used as written
    │   └── ValidationFailed      one or more problems found (carries them all)
    ├── TemplateError             a message template failed to render for a customer
    ├── ScenarioError             a simulation scenario cannot be run
    ├── NotFound                  an id names nothing we hold
    ├── ChannelError              a provider call could not be made as configured
    ├── ProviderError             a provider refused or failed an operator's request
    └── Conflict                  a change contradicts what is stored

Activities turn permanent failures into ``ApplicationError(non_retryable=True)``;
the API maps these classes to HTTP problems in one place. The rule language has
its own small branch in ``rules/errors.py`` (RulesError, DurationError), since
``rules`` imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass


class CarepathError(Exception):
    """Raised for every failure that carepath itself recognises."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a workspace file: where, what, and what would be right."""

    file: str
    line: int | None
    message: str
    fix: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" ({self.fix})"
        return text


class WorkspaceError(CarepathError):
    """Raised when a workspace file cannot be read or parsed."""


class ValidationFailed(WorkspaceError):
    """Raised when validation finds problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TemplateError(CarepathError):
    """Raised when a template refers to a missing variable or breaks the sandbox."""


class ScenarioError(CarepathError):
    """Raised when a simulation scenario is invalid or cannot run."""


class NotFound(CarepathError):
    """Raised when an id (customer, journey, task, message) names nothing we hold."""


class ChannelError(CarepathError):
    """Raised when a channel adapter is misconfigured before any provider call."""


class ProviderError(CarepathError):
    """Raised when a provider refuses or cannot answer a call made at an operator's
    request (creating a QR code or a contact-me code); the message names its answer."""

    def __init__(self, message: str, *, errcode: int | None = None) -> None:
        self.errcode = errcode
        super().__init__(message)


class Conflict(CarepathError):
    """Raised when a change contradicts what is stored (a task claimed by someone else)."""


class ForgedCallback(CarepathError):
    """Raised when a callback's signature does not match the configured token."""


class CallbackNotConfigured(CarepathError):
    """Raised when a callback cannot be read with the settings given (an encrypted
    WeChat callback without ``aes_key``, a WeCom callback without ``token`` and
    ``aes_key``); the message names the settings to set."""
