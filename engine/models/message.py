"""Messages: content for every channel that may carry it (journey language section 2)."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from engine.models.common import ChannelName, Purpose, Strict

_SMS_PLACEHOLDER = re.compile(r"\{(\d+)\}")


class MiniProgram(Strict):
    appid: str
    pagepath: str | None = None


class WeChatTemplateContent(Strict):
    """Official Account template message: service notices only."""

    template_id: str = Field(description="template id from the Official Account console")
    url: str | None = Field(None, description="page opened when the notice is tapped (template)")
    miniprogram: MiniProgram | None = None
    data: dict[str, str] = Field(description="template keywords -> text (Jinja2)")


class WeChatSubscribeContent(Strict):
    """Subscribe message; spends one unit of the customer's consent balance."""

    template_id: str
    page: str | None = Field(None, description="mini-program page to open")
    data: dict[str, str]


class TextContent(Strict):
    """Free text: WeChat customer-service message or WeCom external-contact message."""

    text: str


class SmsContent(Strict):
    """Tencent Cloud SMS: a pre-approved template with positional parameters."""

    template_id: str = Field(description="approved template id (TemplateId)")
    sign_name: str = Field(description="approved signature (SignName)")
    text: str = Field(description="the approved template text; {n} is the n-th parameter")
    params: list[str] = Field(default_factory=list, description="parameters (Jinja2), in order")

    @model_validator(mode="after")
    def _params_match_template(self) -> SmsContent:
        wanted = {int(n) for n in _SMS_PLACEHOLDER.findall(self.text)}
        if wanted and wanted != set(range(1, len(wanted) + 1)):
            raise ValueError(
                f"template text placeholders must be numbered {{1}}..{{{len(wanted)}}} "
                f"without gaps; found {sorted(wanted)}"
            )
        if len(wanted) != len(self.params):
            raise ValueError(
                f"the template text has {len(wanted)} placeholder(s) but params lists "
                f"{len(self.params)}: give one param per {{n}}"
            )
        return self

    def preview(self, rendered: list[str] | None = None) -> str:
        """The SMS as the customer would read it: signature plus filled template."""
        params = rendered if rendered is not None else self.params
        body = _SMS_PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], self.text)
        return f"【{self.sign_name}】{body}"


class CustomerServiceContent(Strict):
    """WeChat customer-service message: a text, or a picture (permanent material)."""

    text: str | None = Field(None, description="the text (Jinja2)")
    image_media_id: str | None = Field(
        None, description="media_id of an uploaded picture, e.g. a group-join QR code"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> CustomerServiceContent:
        if (self.text is None) == (self.image_media_id is None):
            raise ValueError("a wechat_text message has exactly one of text or image_media_id")
        return self


class PhoneContent(Strict):
    """The call script a human reads when the channel is a phone call."""

    script: str


class Message(Strict):
    """Content for each channel that may carry it, with the message's purpose."""

    id: str = Field(description="unique id; journeys refer to it")
    name: str | None = None
    description: str | None = None
    purpose: Purpose = Field(
        description="service or marketing; marketing gets consent, quiet hours, caps, opt-out"
    )
    wechat_template: WeChatTemplateContent | None = None
    wechat_subscribe: WeChatSubscribeContent | None = None
    wechat_text: CustomerServiceContent | None = None
    wecom: TextContent | None = None
    sms: SmsContent | None = None
    phone: PhoneContent | None = None

    def channels(self) -> list[ChannelName]:
        """The channels this message has content for."""
        found: list[ChannelName] = []
        for name in ("wechat_template", "wechat_subscribe", "wechat_text", "wecom", "sms", "phone"):
            if getattr(self, name) is not None:
                found.append(name)
        return found

    @model_validator(mode="after")
    def _has_content(self) -> Message:
        if not self.channels():
            raise ValueError(
                "a message needs content for at least one channel: wechat_template, "
                "wechat_subscribe, wechat_text, wecom, sms or phone"
            )
        return self
