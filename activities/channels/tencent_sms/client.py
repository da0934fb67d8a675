"""Tencent Cloud's ``SmsClient`` (tencentcloud-sdk-python, unmodified) from the settings.

The client has no retryer: SendSms has no idempotency, and the SDK's StandardRetryer
would resend an SMS after a timeout.
"""

from __future__ import annotations

from typing import Any

from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.retry import NoopRetryer
from tencentcloud.sms.v20210111.sms_client import SmsClient

from engine.settings import SmsSettings


def build_sms_client(settings: SmsSettings, timeout: float) -> Any:
    """Tencent's ``SmsClient`` on ``settings.endpoint``, never retrying a call."""
    http = HttpProfile(endpoint=settings.endpoint, protocol=settings.protocol, reqTimeout=timeout)
    # NoopRetryer: SendSms must reach the provider at most once per call.
    profile = ClientProfile(httpProfile=http, retryer=NoopRetryer())
    credential = Credential(settings.secret_id, settings.secret_key)
    return SmsClient(credential, settings.region, profile)
