"""Who may post Tencent Cloud SMS callbacks: Tencent signs none of them, so carepath
checks a secret of its own, put in the callback URLs the operator registers in
Tencent's console (``https://.../callbacks/tencent-sms?token=<secret>``), and
optionally the source address.

The secret is compared in constant time, so its characters cannot be found one by
one from response times. The address is the client as the ASGI server sees it: behind
a reverse proxy, run uvicorn with ``--proxy-headers --forwarded-allow-ips=<proxy>`` so
that it is the proxy's ``X-Forwarded-For``, not the proxy itself.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from engine.errors import ForgedCallback
from engine.settings import SmsSettings

TOKEN_VARIABLE = "CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN"


def verify_sms_callback(settings: SmsSettings, token: str | None, client: str | None) -> None:
    """Raise ForgedCallback unless the request came from an allowed address with our token."""
    if settings.callback_sources:
        try:
            address = ip_address(client or "")
        except ValueError:
            address = None
        if address is None or not any(address in net for net in settings.callback_sources):
            raise ForgedCallback(
                f"SMS callback from {client or 'an unknown address'}, which is not in "
                "CAREPATH_CHANNELS__SMS__CALLBACK_SOURCES"
            )
    if not token:
        raise ForgedCallback(
            "SMS callback without a token: register the callback URL with "
            f"?token=<{TOKEN_VARIABLE}>"
        )
    # Bytes: compare_digest refuses str with characters outside ASCII.
    if not hmac.compare_digest(token.encode("utf-8"), settings.callback_token.encode("utf-8")):
        raise ForgedCallback(f"SMS callback token does not match {TOKEN_VARIABLE}")
