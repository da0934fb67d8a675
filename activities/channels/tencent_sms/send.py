"""Tencent Cloud SMS (``SendSms``, 2021-01-11) with a pre-approved template.

One number per call. SessionContext carries the idempotency key (the platform
echoes it but does not deduplicate on it); the status report carries ``sid`` =
SerialNo, which is the provider_ref.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.sms.v20210111 import models

from activities.channels.base import ChannelName, ChannelRequest, ChannelResult, Outcome
from activities.channels.calls import parse_content, skipped
from activities.channels.outcomes import network_result
from activities.channels.tencent_sms.outcomes import sms_result
from engine.settings import SmsSettings

_DOMESTIC = re.compile(r"^1\d{10}$")


class SmsContent(BaseModel):
    """The rendered ``sms`` block; ``text`` is the approved template text (not sent)."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1)
    sign_name: str = Field(min_length=1)
    text: str | None = None
    params: list[str] = Field(default_factory=list)


def e164(phone: str) -> str:
    """A mainland number without country code gets +86; anything else is sent as given."""
    digits = phone.strip().replace(" ", "").replace("-", "")
    return f"+86{digits}" if _DOMESTIC.match(digits) else digits


class SmsAdapter:
    """Sends one templated SMS; the status report settles it."""

    name: ChannelName = "sms"

    def __init__(self, client: Any, settings: SmsSettings) -> None:
        self._client = client
        self._settings = settings

    def send(self, request: ChannelRequest) -> ChannelResult:
        phone = request.recipient.phone
        if not phone:
            return skipped("no phone")
        content = parse_content(SmsContent, request.content)
        if isinstance(content, ChannelResult):
            return content
        req = models.SendSmsRequest()
        req.PhoneNumberSet = [e164(phone)]
        req.SmsSdkAppId = self._settings.sdk_app_id
        req.SignName = content.sign_name
        req.TemplateId = content.template_id
        req.TemplateParamSet = content.params
        req.SessionContext = request.idempotency_key
        try:
            response = self._client.SendSms(req)
        except TencentCloudSDKException as exc:
            if exc.get_code() == "ClientNetworkError":
                # The SDK wraps every requests error in this one code; the original
                # exception (its __context__) tells whether the request left.
                return network_result(exc)
            return sms_result(str(exc.get_code()), exc.get_message(), per_number=False)
        statuses = response.SendStatusSet or []
        if not statuses:
            return ChannelResult(outcome=Outcome.UNKNOWN, detail="answer without SendStatusSet")
        status = statuses[0]
        return sms_result(
            str(status.Code),
            status.Message,
            per_number=True,
            provider_ref=status.SerialNo or None,
        )
