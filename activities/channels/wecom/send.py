"""WeCom external-contact messages, sent in the name of the customer's staff owner.

``add_msg_template`` only queues the message: the staff member confirms it in the
WeCom app, and ``get_groupmsg_send_result`` tells later whether it went out. So
errcode 0 is ACCEPTED with the task's msgid as provider_ref.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from activities.channels.base import ChannelName, ChannelRequest, ChannelResult, Outcome
from activities.channels.calls import parse_content, skipped
from activities.channels.wechat.calls import call_wechat
from activities.channels.wecom.client import WeComClient


class WeComContent(BaseModel):
    """The rendered ``wecom`` block."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)


class WeComAdapter:
    """Queues one text for one external contact via ``externalcontact/add_msg_template``."""

    name: ChannelName = "wecom"

    def __init__(self, client: WeComClient) -> None:
        self._client = client

    def send(self, request: ChannelRequest) -> ChannelResult:
        recipient = request.recipient
        if not recipient.wecom_external_userid:
            return skipped("no wecom_external_userid")
        if not recipient.wecom_owner_userid:
            return skipped("no wecom_owner_userid")
        content = parse_content(WeComContent, request.content)
        if isinstance(content, ChannelResult):
            return content
        external_userid = recipient.wecom_external_userid
        template = {
            "chat_type": "single",
            "external_userid": [external_userid],
            "sender": recipient.wecom_owner_userid,
            "text": {"content": content.text},
        }
        answers: list[dict[str, object]] = []

        def send() -> object:
            answer = self._client.external_contact.add_msg_template(template)
            if isinstance(answer, dict):
                answers.append(answer)
            return answer

        result = call_wechat(self._client, self.name, send)
        fail_list = answers[-1].get("fail_list") if answers else None
        if result.outcome is Outcome.ACCEPTED and isinstance(fail_list, list):
            if external_userid in fail_list:
                # Queued for nobody: the customer is not (or no longer) this staff's contact.
                return ChannelResult(
                    outcome=Outcome.RECIPIENT,
                    detail="0 ok, but the customer is in fail_list",
                    provider_ref=result.provider_ref,
                )
        return result


#: ``get_groupmsg_send_result`` statuses: 0 not sent yet (the staff member has not
#: confirmed), 1 sent, 2 not a friend any more, 3 the customer's receive limit reached.
SEND_STATUS: dict[int, tuple[bool, str]] = {
    1: (True, "sent by the staff member"),
    2: (False, "not a friend of the staff member"),
    3: (False, "the customer's receive limit is reached"),
}


def send_result(client: WeComClient, msgid: str, sender: str, external_userid: str) -> int:
    """The status of one queued message for one customer (0 while unconfirmed)."""
    answer = client.post(
        "externalcontact/get_groupmsg_send_result",
        data={"msgid": msgid, "userid": sender, "limit": 1000},
    )
    for row in answer.get("send_list") or []:
        if row.get("external_userid") == external_userid:
            return int(row.get("status") or 0)
    return 0
