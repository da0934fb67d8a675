"""Access tokens as the WeChat Official Account and WeCom platforms issue them: valid for
``TOKEN_TTL`` seconds, then refused with 42001; unknown ones with 40001."""

from __future__ import annotations

import secrets
import time

__all__ = ["TOKEN_TTL", "TokenBook"]

TOKEN_TTL = 7200


class TokenBook:
    """Access tokens issued to one account: which are valid, which expired or revoked."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.expiry: dict[str, float] = {}
        self.current: str | None = None

    def issue(self) -> str:
        token = f"{self.prefix}{secrets.token_hex(16)}"
        self.expiry[token] = time.time() + TOKEN_TTL
        self.current = token
        return token

    def stable(self, force: bool) -> str:
        """``stable_token``: the current token while it is valid, else a new one."""
        if not force and self.current and self.expiry.get(self.current, 0) > time.time():
            return self.current
        return self.issue()

    def check(self, token: str | None) -> int:
        """0 when ``token`` may call the API, else the platform's errcode."""
        if not token:
            return 41001
        expiry = self.expiry.get(token)
        if expiry is None:
            return 40001
        return 42001 if expiry <= time.time() else 0

    def expire_all(self) -> None:
        for token in self.expiry:
            self.expiry[token] = 0.0

    def revoke_all(self) -> None:
        self.expiry.clear()
        self.current = None
