"""Tencent Cloud SMS (API 3.0, version 2021-01-11) simulator: ``SendSms`` and status pushes.

Verifies the TC3-HMAC-SHA256 signature with the configured secret key, answers HTTP 200
with Content-Type exactly ``application/json`` for successes and errors alike (the SDK
reads errors only then), reports per-number results in ``SendStatusSet`` and pushes
status reports (``[{"sid", "report_status", ...}]``) to the callback URL, with the
callback token in its query as an operator registers it in Tencent's console (Tencent
itself signs no callback).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from simulators.answers import Answer, MessageRecord
from simulators.common import ProviderSimulator, Request, Response, Route, json_response, post

VERSION = "2021-01-11"
SERVICE = "sms"

MESSAGES: dict[str, str] = {
    "Ok": "send success",
    "AuthFailure.InvalidAuthorization": "Authorization header is invalid.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found, please check your SecretId.",
    "AuthFailure.SignatureExpire": "Signature expired. Timestamp and server time cannot "
    "differ by more than 5 minutes.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. "
    "Please check your signature is correct.",
    "FailedOperation.InsufficientBalanceInSmsPackage": "套餐包余量不足，请购买套餐包。",
    "FailedOperation.MarketingSendTimeConstraint": "营销短信发送时间限制，为避免骚扰用户，"
    "营销短信只允许在8点到22点发送。",
    "FailedOperation.PhoneNumberInBlacklist": "手机号在免打扰名单库中，通常是用户退订或者命中"
    "运营商免打扰名单导致的。",
    "FailedOperation.SignatureIncorrectOrUnapproved": "签名未审批或格式错误。",
    "FailedOperation.TemplateIncorrectOrUnapproved": "模板未审批或请求的内容与审核通过的模板"
    "内容不匹配。",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": "请求内容与审核通过的模板内容"
    "不匹配。",
    "InternalError.SendAndRecvFail": "接口超时或短信收发包超时。",
    "InternalError.Timeout": "请求下发短信超时。",
    "InvalidAction": "The requested action is not supported.",
    "InvalidParameterValue.IncorrectPhoneNumber": "手机号格式错误。",
    "InvalidParameterValue.SdkAppIdNotExist": "SdkAppId 不存在。",
    "InvalidParameterValue.TemplateParameterFormatError": "验证码模板参数格式错误。",
    "LimitExceeded.PhoneNumberCountLimit": "调用接口单次提交的手机号个数超过200个。",
    "LimitExceeded.PhoneNumberDailyLimit": "单个手机号日下发短信条数超过设定的上限。",
    "LimitExceeded.PhoneNumberOneHourLimit": "单个手机号1小时内下发短信条数超过设定的上限。",
    "LimitExceeded.PhoneNumberSameContentDailyLimit": "单个手机号下发相同内容超过设定的上限。",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "单个手机号30秒内下发短信条数超过设定的上限。",
    "NoSuchVersion": "The requested version does not exist.",
    "RequestLimitExceeded": "请求的次数超过了频率限制。",
}

# Codes the platform reports per number inside a successful answer; every other code
# refuses the whole request.
PER_NUMBER_PREFIXES = (
    "LimitExceeded.Phone",
    "FailedOperation.PhoneNumber",
    "InvalidParameterValue.IncorrectPhoneNumber",
)

PLACEHOLDER = re.compile(r"\{(\d+)\}")
E164 = re.compile(r"^\+(?:861\d{10}|(?!86)\d{6,15})$")


def tc3_signature(secret_key: str, date: str, string_to_sign: str) -> str:
    """The TC3-HMAC-SHA256 signature, as the platform (and the SDK) computes it."""

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    k_signing = _hmac(
        _hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), SERVICE), "tc3_request"
    )
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def error(code: str, message: str | None = None) -> Response:
    text = message or MESSAGES.get(code, code)
    body = {"Response": {"Error": {"Code": code, "Message": text}, "RequestId": str(uuid.uuid4())}}
    return json_response(body)


class TencentSmsSimulator(ProviderSimulator):
    """``POST /`` with ``X-TC-Action: SendSms``."""

    name: ClassVar[str] = "sms"
    default_receipt: ClassVar[str | None] = "SUCCESS"

    def __init__(
        self, secret_id: str, secret_key: str, sdk_app_id: str, callback_token: str | None = None
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.callback_token = callback_token
        super().__init__()

    def _reset_state(self) -> None:
        self.templates: dict[str, str] = {}
        self._serials = itertools.count(1)

    def coerce(self, answer: Answer) -> Answer:
        if isinstance(answer.code, int):
            raise ValueError(f"sms refuses with a Code string, not {answer.code!r}")
        return answer

    def register_template(self, template_id: str, text: str) -> None:
        """Check TemplateParamSet against ``text``'s ``{n}`` placeholders for this template."""
        with self._lock:
            self.templates[str(template_id)] = text

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("POST", "/"): self._api}

    # --- authentication --------------------------------------------------------------

    def verify(self, request: Request) -> str | None:
        """The AuthFailure code for a request that fails TC3 verification, else None."""
        auth = request.headers.get("authorization", "")
        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([^/]+)/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            auth,
        )
        if not match:
            return "AuthFailure.InvalidAuthorization"
        secret_id, date, service, signed_headers, signature = match.groups()
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        try:
            timestamp = int(request.headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidAuthorization"
        if abs(time.time() - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        if date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return "AuthFailure.SignatureFailure"
        names = signed_headers.split(";")
        canonical_headers = "".join(
            f"{n}:{request.headers.get(n, '').strip().lower()}\n" for n in names
        )
        canonical_request = "\n".join(
            [
                request.method,
                "/",
                "",
                canonical_headers,
                signed_headers,
                hashlib.sha256(request.body).hexdigest(),
            ]
        )
        scope = f"{date}/{service}/tc3_request"
        digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
        string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{digest}"
        expected = tc3_signature(self.secret_key, date, string_to_sign)
        if service != SERVICE or not hmac.compare_digest(expected, signature):
            return "AuthFailure.SignatureFailure"
        return None

    # --- SendSms ---------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        failure = self.verify(request)
        if failure:
            return error(failure)
        if request.headers.get("x-tc-action") != "SendSms":
            return error("InvalidAction")
        if request.headers.get("x-tc-version") != VERSION:
            return error("NoSuchVersion")
        try:
            body = request.json()
        except ValueError:
            return error("InvalidParameter", "request body is not JSON")
        return self._send_sms(body)

    def _send_sms(self, body: dict[str, Any]) -> Response:
        phones = [str(p) for p in body.get("PhoneNumberSet") or []]
        if not phones:
            return error("MissingParameter", "PhoneNumberSet is required")
        if len(phones) > 200:
            return error("LimitExceeded.PhoneNumberCountLimit")
        if str(body.get("SmsSdkAppId")) != self.sdk_app_id:
            return error("InvalidParameterValue.SdkAppIdNotExist")
        template_id = str(body.get("TemplateId") or "")
        params = [str(p) for p in body.get("TemplateParamSet") or []]
        with self._lock:
            template = self.templates.get(template_id)
        if template is not None:
            wanted = len(set(PLACEHOLDER.findall(template)))
            if len(params) != wanted:
                return error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate")
        answers = self._answers_for(phones)
        for answer in answers:
            code = answer.code
            if code is not None and not str(code).startswith(PER_NUMBER_PREFIXES):
                return error(str(code))
        session = str(body.get("SessionContext") or "")
        statuses = [
            self._one(phone, answer, body, params, template, session)
            for phone, answer in zip(phones, answers, strict=True)
        ]
        response = json_response(
            {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}
        )
        slowest = max(answers, key=lambda a: a.delay(self.timeout_hold))
        self._shape(response, slowest)
        response.reset = any(a.result == "reset" for a in answers)
        return response

    def _one(
        self,
        phone: str,
        answer: Answer,
        body: dict[str, Any],
        params: list[str],
        template: str | None,
        session: str,
    ) -> dict[str, Any]:
        status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": session}
        code = "InvalidParameterValue.IncorrectPhoneNumber" if not E164.match(phone) else None
        code = code or (str(answer.code) if answer.code is not None else None)
        if code is not None:
            return status | {"Code": code, "Message": MESSAGES.get(code, code), "IsoCode": ""}
        # SerialNo looks like the platform's "2640:104656844916740578611"
        serial = f"{2000 + secrets.randbelow(1000)}:{next(self._serials):08d}"
        serial += f"{secrets.randbelow(10**12):012d}"
        text = None
        if template is not None:
            text = PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], template)
        record = MessageRecord(
            endpoint="SendSms",
            recipient=phone,
            content={
                "sign_name": body.get("SignName"),
                "template_id": body.get("TemplateId"),
                "params": params,
                "text": text,
            },
            provider_ref=serial,
            at=time.time(),
            idempotency=session or None,
        )
        self._record(record, answer)
        iso = "CN" if phone.startswith("+86") else "XX"
        return status | {
            "SerialNo": serial,
            "Fee": 1,
            "Code": "Ok",
            "Message": MESSAGES["Ok"],
            "IsoCode": iso,
        }

    # --- status reports --------------------------------------------------------------

    def status_report(self, record: MessageRecord) -> dict[str, str]:
        """One element of the status callback's JSON array."""
        status = record.receipt or ""
        ok = status.upper() == "SUCCESS"
        nationcode, mobile = (
            ("86", record.recipient[3:])
            if record.recipient.startswith("+86")
            else ("", record.recipient.lstrip("+"))
        )
        errmsg = "DELIVRD" if ok else (status.split(":", 1)[1] if ":" in status else "MK:0001")
        return {
            "user_receive_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "nationcode": nationcode,
            "mobile": mobile,
            "report_status": "SUCCESS" if ok else "FAIL",
            "errmsg": errmsg,
            "description": "用户短信送达成功" if ok else "用户短信未送达",
            "sid": record.provider_ref,
        }

    def registered(self, url: str) -> str:
        """``url`` as the operator registers it with Tencent: with the callback token in
        its query (unless it has one already)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        if not self.callback_token or "token" in query:
            return url
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}token={urllib.parse.quote(self.callback_token, safe='')}"

    def push(self, url: str, record: MessageRecord) -> int:
        body = json.dumps([self.status_report(record)], ensure_ascii=False).encode("utf-8")
        return post(self.registered(url), body, "application/json")
