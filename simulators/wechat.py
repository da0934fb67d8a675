"""WeChat Official Account simulator: tokens, template / subscribe / customer-service sends.

Speaks the platform's wire format (``cgi-bin/...`` JSON, errcode/errmsg with the
platform's texts and a ``hint`` suffix) so the unmodified wechatpy client works, and
pushes ``TEMPLATESENDJOBFINISH`` / ``subscribe_msg_sent_event`` XML events with a valid
``signature/timestamp/nonce`` to the callback URL, as the platform does.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

from simulators.answers import Answer, AnswerLike, MessageRecord, errcode_answer
from simulators.common import ProviderSimulator, Request, Response, Route, json_response, post
from simulators.tokens import TOKEN_TTL, TokenBook

# The platform's errmsg texts (it appends " hint: [...]" or " rid: ..." to each).
ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info, please check document",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43019: "require remove blacklist",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}

DEDUPE_WINDOW = 600.0  # client_msg_id guards against repeats for 10 minutes


def errmsg(code: int) -> str:
    """The platform's text for ``code``, with a request hint like the real answers."""
    return f"{ERRMSG.get(code, 'unknown error')} hint: [{secrets.token_hex(6)}]"


def error(code: int) -> Response:
    return json_response({"errcode": code, "errmsg": errmsg(code)})


def callback_signature(token: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` query parameter of a platform callback."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


class WeChatSimulator(ProviderSimulator):
    """The Official Account API under ``/cgi-bin/``."""

    name: ClassVar[str] = "wechat"
    default_receipt: ClassVar[str | None] = "success"

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        callback_token: str,
        original_id: str = "gh_0123456789ab",
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.callback_token = callback_token
        self.original_id = original_id
        super().__init__()

    def _reset_state(self) -> None:
        self.tokens = TokenBook("wxsim_")
        self._msgids = itertools.count(2_000_000_001)
        self._sent: dict[tuple[str, str], tuple[str, float]] = {}  # (openid, client_msg_id)
        self._endpoint_calls: dict[str, deque[Answer]] = {}
        self._endpoint_default: dict[str, Answer] = {}
        self.qrcodes: dict[str, str] = {}  # ticket -> scene of the codes created

    def configure_endpoint(
        self,
        endpoint: str,
        *,
        default: AnswerLike | None = None,
        per_call: Sequence[AnswerLike] | None = None,
    ) -> None:
        """Answers for one API (``message/template/send``, ``message/subscribe/bizsend``,
        ``message/custom/send``), ahead of the simulator-wide ones."""
        with self._lock:
            if default is not None:
                self._endpoint_default[endpoint] = self.coerce(Answer.of(default))
            if per_call is not None:
                queue = self._endpoint_calls.setdefault(endpoint, deque())
                queue.extend(self.coerce(Answer.of(a)) for a in per_call)

    def _endpoint_answer(self, endpoint: str, openid: str) -> Answer:
        queue = self._endpoint_calls.get(endpoint)
        if queue:
            return queue.popleft()
        if endpoint in self._endpoint_default:
            return self._endpoint_default[endpoint]
        return self._answer_for(openid)

    def coerce(self, answer: Answer) -> Answer:
        return errcode_answer(answer, self.name)

    def expire_tokens(self) -> None:
        """Make every issued token expired (the API answers 42001)."""
        with self._lock:
            self.tokens.expire_all()

    def revoke_tokens(self) -> None:
        """Make every issued token unknown (the API answers 40001)."""
        with self._lock:
            self.tokens.revoke_all()

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            ("GET", "/cgi-bin/token"): self._token,
            ("POST", "/cgi-bin/stable_token"): self._stable_token,
            ("POST", "/cgi-bin/message/template/send"): self._template_send,
            ("POST", "/cgi-bin/message/subscribe/bizsend"): self._bizsend,
            ("POST", "/cgi-bin/message/template/subscribe"): self._template_subscribe,
            ("POST", "/cgi-bin/message/custom/send"): self._custom_send,
            ("POST", "/cgi-bin/qrcode/create"): self._qrcode_create,
        }

    # --- tokens ----------------------------------------------------------------------

    def _credentials_error(self, appid: Any, secret: Any, bad_secret: int) -> Response | None:
        if appid != self.app_id:
            return error(40013)
        if secret != self.app_secret:
            return error(bad_secret)
        return None

    def _token(self, request: Request) -> Response:
        q = request.query
        failure = self._credentials_error(q.get("appid"), q.get("secret"), 40001)
        if failure:
            return failure
        with self._lock:
            token = self.tokens.issue()
        return json_response({"access_token": token, "expires_in": TOKEN_TTL})

    def _stable_token(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return error(47001)
        failure = self._credentials_error(body.get("appid"), body.get("secret"), 40125)
        if failure:
            return failure
        with self._lock:
            token = self.tokens.stable(bool(body.get("force_refresh")))
            expires_in = int(self.tokens.expiry[token] - time.time())
        return json_response({"access_token": token, "expires_in": expires_in})

    # --- sends -----------------------------------------------------------------------

    def _open(self, request: Request) -> dict[str, Any] | Response:
        """Check the access token and parse the body; an error Response if either fails."""
        with self._lock:
            code = self.tokens.check(request.query.get("access_token"))
        if code:
            return error(code)
        try:
            body = request.json()
        except ValueError:
            return error(47001)
        if not isinstance(body, dict):
            return error(47001)
        if not body.get("touser"):
            return error(40003)
        return body

    def _send(self, request: Request, *, receipt: bool, msgid_in_answer: bool = True) -> Response:
        body = self._open(request)
        if isinstance(body, Response):
            return body
        endpoint = request.path.removeprefix("/cgi-bin/")
        openid = str(body["touser"])
        if endpoint != "message/custom/send" and not body.get("template_id"):
            return error(40037)
        client_msg_id = body.get("client_msg_id")
        dedupe_key = (openid, str(client_msg_id))
        with self._lock:
            if client_msg_id:
                seen = self._sent.get(dedupe_key)
                if seen and time.time() - seen[1] < DEDUPE_WINDOW:
                    # A repeat within 10 minutes: the platform keeps the first message.
                    return json_response({"errcode": 0, "errmsg": "ok", "msgid": int(seen[0])})
            answer = self._endpoint_answer(endpoint, openid)
            if answer.code is not None:
                return error(int(answer.code))
            msgid = str(next(self._msgids))
            if client_msg_id:
                self._sent[dedupe_key] = (msgid, time.time())
        record = MessageRecord(
            endpoint=endpoint,
            recipient=openid,
            content={k: v for k, v in body.items() if k not in ("touser", "client_msg_id")},
            provider_ref=msgid,
            at=time.time(),
            idempotency=str(client_msg_id) if client_msg_id else None,
        )
        self._record(record, answer, receipt=receipt)
        answer_body: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if msgid_in_answer:
            answer_body["msgid"] = int(msgid)
        return self._shape(json_response(answer_body), answer)

    def _template_send(self, request: Request) -> Response:
        return self._send(request, receipt=True)

    def _bizsend(self, request: Request) -> Response:
        return self._send(request, receipt=True)

    def _template_subscribe(self, request: Request) -> Response:
        return self._send(request, receipt=True)

    def _custom_send(self, request: Request) -> Response:
        # Customer-service messages are delivered in the answer: no msgid, no receipt.
        return self._send(request, receipt=False, msgid_in_answer=False)

    # --- parameterized QR codes ------------------------------------------------------

    def _qrcode_create(self, request: Request) -> Response:
        """``qrcode/create``: a ticket, its lifetime (temporary codes) and the URL the
        code encodes, as the platform answers; refusals as its errcodes."""
        with self._lock:
            code = self.tokens.check(request.query.get("access_token"))
        if code:
            return error(code)
        try:
            body = request.json()
        except ValueError:
            return error(47001)
        if not isinstance(body, dict):
            return error(47001)
        with self._lock:
            queue = self._endpoint_calls.get("qrcode/create")
            answer = queue.popleft() if queue else self._endpoint_default.get("qrcode/create")
        if answer is not None and answer.code is not None:
            return error(int(answer.code))
        action = body.get("action_name")
        if action not in ("QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"):
            return error(40052)
        info = body.get("action_info")
        scene = info.get("scene") if isinstance(info, dict) else None
        if not isinstance(scene, dict):
            return error(40053)
        if action.endswith("STR_SCENE"):
            value = scene.get("scene_str")
            if not isinstance(value, str) or not 1 <= len(value) <= 64:
                return error(40053)
        else:
            number = scene.get("scene_id")
            limit = 100_000 if action == "QR_LIMIT_SCENE" else 4_294_967_295
            if not isinstance(number, int) or not 1 <= number <= limit:
                return error(40053)
            value = str(number)
        ticket = secrets.token_urlsafe(36)
        short = secrets.token_urlsafe(12)
        with self._lock:
            self.qrcodes[ticket] = value
        answer_body: dict[str, Any] = {
            "ticket": ticket,
            "url": f"http://weixin.qq.com/q/{short}",
        }
        if action in ("QR_SCENE", "QR_STR_SCENE"):
            # Temporary: 60 s when not given, at most 30 days.
            seconds = body.get("expire_seconds", 60)
            answer_body["expire_seconds"] = min(int(seconds), 2_592_000) if seconds else 60
        return json_response(answer_body)

    def scan_xml(self, openid: str, ticket: str, *, follows: bool) -> str:
        """The event the platform posts when ``openid`` scans the code of ``ticket``: a
        ``subscribe`` with ``qrscene_`` for a new follower, else ``SCAN``."""
        scene = self.qrcodes[ticket]
        event, key = ("SCAN", scene) if follows else ("subscribe", f"qrscene_{scene}")
        return (
            f"<xml><ToUserName><![CDATA[{self.original_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<Ticket><![CDATA[{ticket}]]></Ticket></xml>"
        )

    # --- receipts --------------------------------------------------------------------

    def event_xml(self, record: MessageRecord) -> str:
        """The XML event the platform posts when the message's delivery is known."""
        head = (
            f"<ToUserName><![CDATA[{self.original_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{record.recipient}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType>"
        )
        status = record.receipt or ""
        if record.endpoint == "message/subscribe/bizsend":
            code = 0 if status == "success" else 10001
            return (
                f"<xml>{head}<Event><![CDATA[subscribe_msg_sent_event]]></Event>"
                "<SubscribeMsgSentEvent><List>"
                f"<TemplateId><![CDATA[{record.content.get('template_id', '')}]]></TemplateId>"
                f"<MsgID>{record.provider_ref}</MsgID><ErrorCode>{code}</ErrorCode>"
                f"<ErrorStatus><![CDATA[{status}]]></ErrorStatus>"
                "</List></SubscribeMsgSentEvent></xml>"
            )
        return (
            f"<xml>{head}<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
            f"<MsgID>{record.provider_ref}</MsgID><Status><![CDATA[{status}]]></Status></xml>"
        )

    def push(self, url: str, record: MessageRecord) -> int:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(5)
        query = {
            "signature": callback_signature(self.callback_token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": record.recipient,
        }
        sep = "&" if "?" in url else "?"
        target = url + sep + "&".join(f"{k}={v}" for k, v in query.items())
        return post(target, self.event_xml(record).encode("utf-8"), "text/xml")
