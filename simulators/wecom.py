"""WeCom simulator: ``gettoken`` and the external-contact group-message task.

``add_msg_template`` only queues a message that the staff member must confirm in the
WeCom app; the platform pushes no delivery event, so results are polled with
``get_groupmsg_send_result`` (or the older ``get_group_msg_result``). Here the status of
each external user is 0 (not sent yet) until the answer's ``after`` seconds have passed,
then the planned one: ``sent`` (1), ``not_friend`` (2), ``limit`` (3) or ``none`` (stays 0).
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any, ClassVar

from simulators.answers import Answer, MessageRecord, errcode_answer
from simulators.common import ProviderSimulator, Request, Response, Route, json_response
from simulators.tokens import TOKEN_TTL, TokenBook

ERRMSG: dict[int, str] = {
    -1: "system busy",
    0: "ok",
    40001: "invalid credential",
    40003: "invalid userid",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40058: "invalid Request Parameter",
    40096: "invalid external userid",
    41001: "access_token missing",
    42001: "access_token expired",
    45009: "api forbidden",
    48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent",
    84061: "not exist contact",
}

STATUS = {"none": 0, "unsent": 0, "sent": 1, "success": 1, "not_friend": 2, "limit": 3}


def error(code: int) -> Response:
    text = f"{ERRMSG.get(code, 'unknown error')}, hint: [{secrets.token_hex(6)}]"
    return json_response({"errcode": code, "errmsg": text})


class WeComSimulator(ProviderSimulator):
    """The WeCom API under ``/cgi-bin/``."""

    name: ClassVar[str] = "wecom"
    default_receipt: ClassVar[str | None] = "sent"
    pushes_receipts: ClassVar[bool] = False

    def __init__(self, corp_id: str, corp_secret: str) -> None:
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        super().__init__()

    def _reset_state(self) -> None:
        self.tokens = TokenBook("wwsim_")
        self._ids = itertools.count(1)
        self.contact_ways: dict[str, dict[str, Any]] = {}  # config_id -> the request
        self.contact_way_answer: int | None = None  # an errcode to refuse with

    def coerce(self, answer: Answer) -> Answer:
        # "fail_list": errcode 0, but the customer is listed as not reachable.
        return errcode_answer(answer, self.name, special=("fail_list",))

    def expire_tokens(self) -> None:
        """Make every issued token expired (the API answers 42001)."""
        with self._lock:
            self.tokens.expire_all()

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            ("GET", "/cgi-bin/gettoken"): self._gettoken,
            ("POST", "/cgi-bin/externalcontact/add_msg_template"): self._add_msg_template,
            ("POST", "/cgi-bin/externalcontact/get_groupmsg_send_result"): self._send_result,
            ("POST", "/cgi-bin/externalcontact/get_group_msg_result"): self._group_msg_result,
            ("POST", "/cgi-bin/externalcontact/add_contact_way"): self._add_contact_way,
        }

    def _gettoken(self, request: Request) -> Response:
        if request.query.get("corpid") != self.corp_id:
            return error(40013)
        if request.query.get("corpsecret") != self.corp_secret:
            return error(40001)
        with self._lock:
            token = self.tokens.issue()
        return json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_TTL}
        )

    def _open(self, request: Request) -> dict[str, Any] | Response:
        with self._lock:
            code = self.tokens.check(request.query.get("access_token"))
        if code:
            return error(40014 if code == 40001 else code)
        try:
            body = request.json()
        except ValueError:
            return error(40058)
        return body if isinstance(body, dict) else error(40058)

    def _add_msg_template(self, request: Request) -> Response:
        body = self._open(request)
        if isinstance(body, Response):
            return body
        external = [str(e) for e in body.get("external_userid") or []]
        sender = str(body.get("sender") or "")
        if not external and not sender:
            return error(40058)
        answer = self._answer_for(external[0] if external else sender)
        if answer.code is not None and answer.code != "fail_list":
            return error(int(answer.code))
        msgid = f"msg{secrets.token_hex(4)}{next(self._ids):06d}"
        if answer.code == "fail_list":
            # The platform names the customers it will not queue (e.g. not a friend).
            return json_response(
                {"errcode": 0, "errmsg": "ok", "fail_list": external, "msgid": msgid}
            )
        for external_userid in external or [""]:
            record = MessageRecord(
                endpoint="externalcontact/add_msg_template",
                recipient=external_userid,
                content={k: v for k, v in body.items() if k != "external_userid"},
                provider_ref=msgid,
                at=time.time(),
                extra={"sender": sender},
            )
            self._record(record, answer)
        answer_body = {"errcode": 0, "errmsg": "ok", "fail_list": [], "msgid": msgid}
        return self._shape(json_response(answer_body), answer)

    def _add_contact_way(self, request: Request) -> Response:
        """``add_contact_way``: a contact-me code's ``config_id`` and ``qr_code`` picture;
        a type 1 code has exactly one user, ``state`` and ``remark`` at most 30 characters."""
        body = self._open(request)
        if isinstance(body, Response):
            return body
        if self.contact_way_answer is not None:
            return error(self.contact_way_answer)
        kind, scene = body.get("type"), body.get("scene")
        users = body.get("user") or []
        state, remark = body.get("state") or "", body.get("remark") or ""
        if kind not in (1, 2) or scene not in (1, 2) or not isinstance(users, list):
            return error(40058)
        if (kind == 1 and len(users) != 1) or (kind == 2 and not users and not body.get("party")):
            return error(40058)
        if len(str(state)) > 30 or len(str(remark)) > 30:
            return error(40058)
        config_id = secrets.token_hex(16)
        with self._lock:
            self.contact_ways[config_id] = dict(body)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "config_id": config_id}
        if scene == 2:
            answer["qr_code"] = f"https://wwcdn.weixin.qq.com/wwpic/{config_id}/0"
        return json_response(answer)

    def contact_added_xml(self, config_id: str, external_userid: str) -> str:
        """The ``change_external_contact`` event of a customer adding the code's first
        staff member, with the code's ``State`` (still to be encrypted, as WeCom does)."""
        way = self.contact_ways[config_id]
        staff = (way.get("user") or [""])[0]
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            "<FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[change_external_contact]]></Event>"
            "<ChangeType><![CDATA[add_external_contact]]></ChangeType>"
            f"<UserID><![CDATA[{staff}]]></UserID>"
            f"<ExternalUserID><![CDATA[{external_userid}]]></ExternalUserID>"
            f"<State><![CDATA[{way.get('state') or ''}]]></State>"
            "<WelcomeCode><![CDATA[WELCOME]]></WelcomeCode></xml>"
        )

    def status_of(self, record: MessageRecord, now: float | None = None) -> int:
        """0 not sent, 1 sent, 2 not a friend, 3 receive limit reached."""
        if record.receipt is None:
            return 0
        if (now or time.time()) < record.at + record.receipt_after:
            return 0  # the staff member has not confirmed yet
        return STATUS.get(record.receipt, 0)

    def _results(self, request: Request) -> list[dict[str, Any]] | Response:
        body = self._open(request)
        if isinstance(body, Response):
            return body
        msgid = str(body.get("msgid") or "")
        records = [m for m in self.messages if m.provider_ref == msgid]
        if not records:
            return error(40058)
        rows = []
        for record in records:
            status = self.status_of(record)
            rows.append(
                {
                    "external_userid": record.recipient,
                    "chat_id": "",
                    "userid": record.extra.get("sender", ""),
                    "status": status,
                    "send_time": int(record.at + record.receipt_after) if status else 0,
                }
            )
        return rows

    def _send_result(self, request: Request) -> Response:
        rows = self._results(request)
        if isinstance(rows, Response):
            return rows
        return json_response({"errcode": 0, "errmsg": "ok", "next_cursor": "", "send_list": rows})

    def _group_msg_result(self, request: Request) -> Response:
        rows = self._results(request)
        if isinstance(rows, Response):
            return rows
        return json_response({"errcode": 0, "errmsg": "ok", "check_status": 1, "detail_list": rows})
