"""What stops a console request before its page is rendered, and how it is answered.

    ConsoleRefusal
    ├── SignInRequired   303 to /login?next=<this page> (htmx: HX-Redirect)
    └── CsrfRefused      403 page, in the console's language

These are the console's answers in HTML, not domain errors: the API's problems
(``api/errors.py``) and the engine's error tree (``engine/errors.py``) are untouched.
"""

from __future__ import annotations


class ConsoleRefusal(Exception):
    """Raised when a console request is answered before its handler runs."""


class SignInRequired(ConsoleRefusal):
    """Raised when a page needs a signed-in user and the request has no live session;
    ``next`` is the relative URL to come back to after signing in."""

    def __init__(self, next_url: str) -> None:
        super().__init__(f"sign in to see {next_url}")
        self.next_url = next_url


class CsrfRefused(ConsoleRefusal):
    """Raised when a state-changing console request lacks its CSRF token, or sends one
    that is not the session's (or, for the sign-in form, not the cookie's)."""
