"""The one settings object: ``CAREPATH_`` environment variables, nested with ``__``.

Example: ``CAREPATH_TEMPORAL__ADDRESS=temporal:7233``,
``CAREPATH_CHANNELS__SMS__SECRET_ID=...``. Defaults run everything embedded on one
machine (SQLite file under ``var/``, the local Temporal dev server, development
credentials that only the provider simulators accept).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.models.compliance import FrequencyCap


class TemporalSettings(BaseModel):
    address: str = Field("127.0.0.1:7233", description="host:port of the Temporal frontend")
    namespace: str = "default"
    task_queue: str = Field("carepath", description="task queue of journey workflows")
    sandbox_journeys: bool = Field(
        False,
        description="run the journey interpreter inside Temporal's workflow sandbox in the "
        "worker process too (tests always do; off, it costs a quarter less worker CPU)",
    )


class DatabaseSettings(BaseModel):
    url: str = Field("sqlite:///var/carepath.db", description="SQLAlchemy URL")


class WeChatSettings(BaseModel):
    app_id: str = "wx0000000000000dev"
    app_secret: str = "dev-app-secret"
    api_base: str = Field("https://api.weixin.qq.com/cgi-bin/", description="cgi-bin base URL")
    token: str = Field("dev-callback-token", description="callback signature token")
    aes_key: str | None = Field(None, description="EncodingAESKey for safe-mode callbacks")


class WeComSettings(BaseModel):
    corp_id: str = "ww0000000000000dev"
    corp_secret: str = "dev-corp-secret"
    api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    token: str | None = Field(None, description="callback Token (external-contact events)")
    aes_key: str | None = Field(None, description="callback EncodingAESKey (WeCom always encrypts)")


class SmsSettings(BaseModel):
    secret_id: str = "AKIDdevelopment"
    secret_key: str = "dev-secret-key"
    sdk_app_id: str = "1400000000"
    region: str = "ap-guangzhou"
    endpoint: str = Field("sms.tencentcloudapi.com", description="host[:port] of the SMS API")
    protocol: str = Field("https", description="https in production; http for the simulator")


class ChannelSettings(BaseModel):
    wechat: WeChatSettings = WeChatSettings()
    wecom: WeComSettings = WeComSettings()
    sms: SmsSettings = SmsSettings()
    timeout_seconds: float = Field(10.0, description="HTTP timeout of one provider call")


#: Replies that withdraw marketing consent for the channel they came on (the usual
#: Chinese SMS opt-outs; compared after trimming, case-insensitive).
DEFAULT_OPT_OUT_KEYWORDS = ["T", "TD", "N", "R", "退订"]


#: Marketing SMS: one a day and four a month; marketing on the Official Account's own
#: messages: four a month per channel (the platform's rule for mass messages).
DEFAULT_FREQUENCY_CAPS = [
    FrequencyCap(purpose="marketing", channel="sms", limit=1, per="day"),
    FrequencyCap(purpose="marketing", channel="sms", limit=4, per="month"),
    FrequencyCap(purpose="marketing", channel="wechat_subscribe", limit=4, per="month"),
    FrequencyCap(purpose="marketing", channel="wechat_text", limit=4, per="month"),
]


class ComplianceSettings(BaseModel):
    timezone: str = Field("Asia/Shanghai", description="customers' default timezone")
    frequency_caps: list[FrequencyCap] = Field(
        default_factory=lambda: list(DEFAULT_FREQUENCY_CAPS),
        description="per-customer send caps over every journey; periods in ``timezone``",
    )
    opt_out_keywords: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OPT_OUT_KEYWORDS),
        description="a customer message that is exactly one of these opts out of marketing",
    )

    def is_opt_out(self, text: str) -> bool:
        """Whether a customer's message is an opt-out reply."""
        reply = text.strip().upper()
        return bool(reply) and reply in {k.strip().upper() for k in self.opt_out_keywords}


class Settings(BaseSettings):
    """Everything carepath can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CAREPATH_", env_nested_delimiter="__")

    environment: str = Field("development", description="development | production")
    temporal: TemporalSettings = TemporalSettings()
    database: DatabaseSettings = DatabaseSettings()
    channels: ChannelSettings = ChannelSettings()
    compliance: ComplianceSettings = ComplianceSettings()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
