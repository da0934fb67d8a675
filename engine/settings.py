"""The one settings object: ``CAREPATH_`` environment variables, nested with ``__``.

Example: ``CAREPATH_TEMPORAL__ADDRESS=temporal:7233``,
``CAREPATH_CHANNELS__SMS__SECRET_ID=...``. Defaults run everything embedded on one
machine (SQLite file under ``var/``, the local Temporal dev server, development
credentials that only the provider simulators accept).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field, IPvAnyNetwork
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.errors import InsecureSettings
from engine.models.compliance import FrequencyCap

#: Marks a setting whose default only the simulators accept (or that must be the
#: operator's own): production refuses to start while it is left so.
SECRET: dict[str, Any] = {"secret": True}


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
    app_secret: str = Field("dev-app-secret", json_schema_extra=SECRET)
    api_base: str = Field("https://api.weixin.qq.com/cgi-bin/", description="cgi-bin base URL")
    token: str = Field(
        "dev-callback-token", description="callback signature token", json_schema_extra=SECRET
    )
    aes_key: str | None = Field(
        None,
        description="EncodingAESKey for safe-mode callbacks; when set, plaintext callbacks "
        "are refused",
        json_schema_extra=SECRET,
    )


class WeComSettings(BaseModel):
    corp_id: str = "ww0000000000000dev"
    corp_secret: str = Field("dev-corp-secret", json_schema_extra=SECRET)
    api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    token: str | None = Field(
        None, description="callback Token (external-contact events)", json_schema_extra=SECRET
    )
    aes_key: str | None = Field(
        None,
        description="callback EncodingAESKey (WeCom always encrypts)",
        json_schema_extra=SECRET,
    )


class SmsSettings(BaseModel):
    secret_id: str = Field("AKIDdevelopment", json_schema_extra=SECRET)
    secret_key: str = Field("dev-secret-key", json_schema_extra=SECRET)
    sdk_app_id: str = "1400000000"
    region: str = "ap-guangzhou"
    endpoint: str = Field("sms.tencentcloudapi.com", description="host[:port] of the SMS API")
    protocol: str = Field("https", description="https in production; http for the simulator")
    callback_token: str = Field(
        "dev-sms-callback-token",
        pattern=r"^[A-Za-z0-9_.~-]+$",
        description="the secret in the callback URLs registered with Tencent "
        "(``...?token=<this>``); URL-safe, at least 16 characters in production",
        json_schema_extra=SECRET | {"production_min_length": 16},
    )
    callback_sources: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="if set, the only source networks (CIDRs) SMS callbacks are taken from, "
        "as the API server sees the client address",
    )


class ChannelSettings(BaseModel):
    wechat: WeChatSettings = WeChatSettings()
    wecom: WeComSettings = WeComSettings()
    sms: SmsSettings = SmsSettings()
    timeout_seconds: float = Field(10.0, description="HTTP timeout of one provider call")
    callback_window_seconds: int = Field(
        300,
        ge=30,
        le=3600,
        description="WeChat and WeCom callbacks whose timestamp is further than this from "
        "our clock (either side) are refused; nonces are remembered for as long",
    )


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


class ApiSettings(BaseModel):
    """Limits on what one request may carry (answered 413 before the body is read whole)."""

    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="largest request body under /v1 (default 1 MiB)"
    )
    max_callback_body_bytes: int = Field(
        262_144,
        ge=1024,
        description="largest provider callback body under /callbacks (default 256 KiB)",
    )


class Settings(BaseSettings):
    """Everything carepath can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CAREPATH_", env_nested_delimiter="__")

    environment: Literal["development", "production"] = Field(
        "development",
        description="production refuses to start with development secrets "
        "(``refuse_development_secrets``)",
    )
    temporal: TemporalSettings = TemporalSettings()
    database: DatabaseSettings = DatabaseSettings()
    channels: ChannelSettings = ChannelSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    api: ApiSettings = ApiSettings()
    workspace_folder: str = Field(
        "/workspace",
        description="the server's workspace folder (journeys/, messages/, segments/) the "
        "console's 工作区 validates and deploys; ``carepath up`` sets it to its argument",
    )


def development_secrets(settings: Settings) -> list[tuple[str, str]]:
    """Each secret setting left at its development default, empty, or too short, as its
    ``CAREPATH_`` variable and what is wrong with it."""
    found: list[tuple[str, str]] = []

    def walk(model: BaseModel, path: tuple[str, ...]) -> None:
        for name, field in type(model).model_fields.items():
            value, where = getattr(model, name), (*path, name)
            if isinstance(value, BaseModel):
                walk(value, where)
                continue
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if extra.get("secret") and value is not None:
                problem = _weakness(field, str(value), extra)
                if problem:
                    found.append(("CAREPATH_" + "__".join(where).upper(), problem))

    walk(settings, ())
    return found


def _weakness(field: FieldInfo, value: str, extra: dict[str, Any]) -> str | None:
    if not value:
        return "is empty"
    if value == field.default:
        return "is the development default"
    least = extra.get("production_min_length")
    if isinstance(least, int) and len(value) < least:
        return f"is shorter than {least} characters"
    # An unset optional secret (None) is a feature not configured: its callbacks are
    # refused with 503, so it cannot be forged.
    return None


def refuse_development_secrets(settings: Settings) -> None:
    """In production, raise InsecureSettings naming every secret still at a development
    value; elsewhere do nothing (the defaults are what the simulators accept)."""
    if settings.environment != "production":
        return
    found = development_secrets(settings)
    if found:
        raise InsecureSettings(
            [variable for variable, _ in found], [f"{v} ({why})" for v, why in found]
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
