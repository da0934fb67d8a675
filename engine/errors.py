"""One error tree for carepath: every exception of ours derives from CarepathError.

    CarepathError                 (API answer)
    ├── WorkspaceError            422  a workspace file cannot be used as written
    │   └── ValidationFailed      422  one or more problems found (carries them all)
    ├── TemplateError             422  a message template failed to render for a customer
    ├── ScenarioError             --   a simulation scenario cannot be run (CLI only)
    ├── NotFound                  404  an id names nothing we hold
    ├── ChannelError              --   a provider call could not be made as configured
    ├── ProviderError             502  a provider refused or failed an operator's request
    ├── TokenRefreshFailed        --   a refused access token could not be replaced
    ├── StoreRetry                --   a write saw a concurrent change: redo it (store-internal)
    ├── Conflict                  409  a change contradicts what is stored
    ├── AccountRefused            422  a console user cannot be created or given a password as asked
    ├── JourneyClosed             409  a journey is paused or refuses API enrollments
    ├── ForgedCallback            403  a callback's signature, token or source does not match
    ├── CallbackNotConfigured     503  a callback cannot be read with our settings (plain text)
    └── InsecureSettings          --   production settings keep a development secret (start-up)

Activities turn permanent failures into ``ApplicationError(non_retryable=True)``;
the API maps these classes to HTTP problems in one table (``api/errors.py``); the
callback routes answer the two callback errors in the platforms' plain text
(``api/routes/callbacks.py``). "--": not raised while a request is served, so not mapped.
Three private signals derive from CarepathError where they are used and never leave
their module: ``workflows.interpreter.Ended`` (a signal ended the enrollment),
``cli.segment._Invalid`` (a rule file cannot be read; printed line by line) and
``cli.costs._Refused`` (a cost file refused whole, line by line).

The rule language keeps a root of its own, outside this tree, because ``rules``
imports nothing of ours:

    RulesError                    (rules/errors.py)
    ├── DurationError             also a ValueError: a malformed duration or time of day
    └── SegmentCycleError         segments refer to each other in a circle

A DurationError raised while a request body is read becomes a pydantic
ValidationError (422, field by field); a workspace's rule errors are found by
validation and reported as ValidationFailed problems. The API maps no RulesError
itself: one reaching it is a bug, answered 500.
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


class AccountRefused(CarepathError):
    """Raised when a console user cannot be created or given a password as asked: a
    malformed username, a staff user without clinics, clinics on an admin or operator,
    or a password too short; the message says what to change."""


class JourneyClosed(CarepathError):
    """Raised when a journey is paused or does not accept API enrollments."""


class ForgedCallback(CarepathError):
    """Raised when a callback's signature (or the SMS callback's token or source address)
    does not match our settings, its timestamp is outside the window, or its nonce was
    used before with another body."""


class CallbackNotConfigured(CarepathError):
    """Raised when a callback cannot be read with the settings given (an encrypted
    WeChat callback without ``aes_key``, a WeCom callback without ``token`` and
    ``aes_key``); the message names the settings to set."""


class InsecureSettings(CarepathError):
    """Raised at start-up when ``environment`` is ``production`` and settings keep a
    development default or secret; ``variables`` names each by its ``CAREPATH_``
    environment variable."""

    def __init__(self, variables: list[str], reasons: list[str]) -> None:
        self.variables = variables
        super().__init__(
            "production refuses to start with development secrets; set " + "; ".join(reasons)
        )


class TokenRefreshFailed(CarepathError):
    """Raised when replacing a refused access token failed; ``cause`` is what the
    refresh raised (a refusal of the credential, a network error)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class StoreRetry(CarepathError):
    """Raised inside a write transaction that saw a concurrent change: the store rolls
    back and redoes the write from a fresh read (never seen outside the store)."""
