"""WeCom external-contact callbacks: contacts added (first touch, owner) and removed.

WeCom encrypts every callback with the app's EncodingAESKey and signs it as
``msg_signature`` with its Token; the bodies here are sealed the same way.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from wechatpy.enterprise import WeChatCrypto

from api.app import create_app
from engine.errors import NotFound
from engine.settings import Settings
from engine.store.records import Identities
from tests.api.helpers import Api

pytestmark = pytest.mark.db

TOKEN = "wecom-callback-token"
AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"  # 43 characters
SETTINGS = Settings(channels={"wecom": {"token": TOKEN, "aes_key": AES_KEY}})
CORP_ID = SETTINGS.channels.wecom.corp_id


@pytest.fixture
async def wecom(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with WeCom's callback Token and EncodingAESKey set."""
    app = create_app(api.store, api.dispatcher, SETTINGS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://carepath.test") as client:
        yield client


def change(kind: str, external: str, staff: str, created: int, **fields: str) -> str:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        "<FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event>"
        f"<ChangeType><![CDATA[{kind}]]></ChangeType><UserID><![CDATA[{staff}]]></UserID>"
        f"<ExternalUserID><![CDATA[{external}]]></ExternalUserID>{extra}</xml>"
    )


def seal(body: str, token: str = TOKEN) -> tuple[bytes, dict[str, str]]:
    """The encrypted body and the query WeCom posts it with."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    sealed = WeChatCrypto(token, AES_KEY, CORP_ID).encrypt_message(body, nonce, timestamp)
    signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    return sealed.encode(), {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


async def post(client: httpx.AsyncClient, body: str, token: str = TOKEN) -> httpx.Response:
    content, params = seal(body, token)
    return await client.post("/callbacks/wecom", params=params, content=content)


def customer_of(api: Api, external: str) -> str:
    identities = Identities(wecom_external_userid=external)
    return api.store.resolve(identities, create=False, at=datetime.now(UTC)).customer_id


async def events(api: Api, external: str) -> list[tuple[str, dict[str, Any]]]:
    response = await api.admin.get(f"/v1/customers/{customer_of(api, external)}/events")
    return [(e["name"], e["properties"]) for e in reversed(response.json())]


async def test_the_callback_url_check_answers_the_decrypted_echo(
    api: Api, wecom: httpx.AsyncClient
) -> None:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    sealed = WeChatCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message("echo-1234", nonce, timestamp)
    echostr = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
    answer = await wecom.get("/callbacks/wecom", params=query | {"echostr": echostr})
    assert (answer.status_code, answer.text) == (200, "echo-1234")
    forged = await wecom.get(
        "/callbacks/wecom", params=query | {"echostr": echostr, "msg_signature": "0" * 40}
    )
    assert forged.status_code == 403


async def test_a_contact_added_by_a_contact_me_code_is_its_first_touch(
    api: Api, wecom: httpx.AsyncClient
) -> None:
    external, created = "wmEXT-0001", int(time.time())
    added = change(
        "add_external_contact", external, "zhangsan", created, State="sz-01-booth", WelcomeCode="w"
    )
    first = await post(wecom, added)
    assert (first.status_code, first.text) == (200, "success")
    assert (await post(wecom, added)).text == "success"  # WeCom retried it
    customer_id = customer_of(api, external)
    profile = (await api.admin.get(f"/v1/customers/{customer_id}")).json()
    assert profile["source"] == {
        "channel": "wecom_contact_way",
        "state": "sz-01-booth",
        "staff": "zhangsan",
        "at": datetime.fromtimestamp(created, UTC).isoformat(),
    }
    assert api.store.get_customer(customer_id).identities["wecom_owner_userid"] == "zhangsan"
    assert await events(api, external) == [
        ("wecom.contact_added", {"staff": "zhangsan", "state": "sz-01-booth"})
    ]

    # Another clinic's code later: a touch (an event), not the first one; the newest
    # staff member owns the contact.
    again = change("add_external_contact", external, "lisi", created + 60, State="bj-02-desk")
    assert (await post(wecom, again)).text == "success"
    profile = (await api.admin.get(f"/v1/customers/{customer_id}")).json()
    assert profile["source"]["state"] == "sz-01-booth"
    assert api.store.get_customer(customer_id).identities["wecom_owner_userid"] == "lisi"

    removed = change("del_follow_user", external, "zhangsan", created + 120)
    assert (await post(wecom, removed)).text == "success"
    assert (await events(api, external))[1:] == [
        ("wecom.contact_added", {"staff": "lisi", "state": "bj-02-desk"}),
        ("wecom.contact_removed", {"staff": "zhangsan", "by": "customer"}),
    ]


async def test_forged_or_unconfigured_callbacks_are_refused(
    api: Api, wecom: httpx.AsyncClient
) -> None:
    added = change("add_external_contact", "wmEXT-0002", "zhangsan", int(time.time()), State="x")
    forged = await post(wecom, added, token="not-our-token")
    assert forged.status_code == 403
    # The default settings have no WeCom Token / EncodingAESKey: nothing can be read.
    unconfigured = await post(api.anonymous, added)
    assert unconfigured.status_code == 503
    assert "CAREPATH_CHANNELS__WECOM__TOKEN" in unconfigured.text
    with pytest.raises(NotFound):
        customer_of(api, "wmEXT-0002")


async def test_stale_or_replayed_callbacks_are_refused(api: Api, wecom: httpx.AsyncClient) -> None:
    added = change("add_external_contact", "wmEXT-0003", "zhangsan", int(time.time()))
    timestamp, nonce = str(int(time.time()) - 400), secrets.token_hex(5)
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    stale = crypto.encrypt_message(added, nonce, timestamp)
    signature = stale.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
    refused = await wecom.post("/callbacks/wecom", params=query, content=stale.encode())
    assert refused.status_code == 403
    assert "CAREPATH_CHANNELS__CALLBACK_WINDOW_SECONDS" in refused.text
    with pytest.raises(NotFound):
        customer_of(api, "wmEXT-0003")

    # A nonce is used once: the same timestamp and nonce on another signed body is not
    # the platform's retry.
    content, query = seal(added)
    assert (await wecom.post("/callbacks/wecom", params=query, content=content)).text == "success"
    again = change("del_external_contact", "wmEXT-0003", "zhangsan", int(time.time()))
    resealed = crypto.encrypt_message(again, query["nonce"], query["timestamp"])
    resigned = resealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    replayed = await wecom.post(
        "/callbacks/wecom", params=query | {"msg_signature": resigned}, content=resealed.encode()
    )
    assert replayed.status_code == 403 and "nonce" in replayed.text
    assert await events(api, "wmEXT-0003") == [("wecom.contact_added", {"staff": "zhangsan"})]
