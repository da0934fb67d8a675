"""工作区 over real parts (SqlStore, a Dispatcher on the time-skipping server): who sees
and who deploys, uploads refused or deployed, problems with file and line, and the
history of deploys made here and through the API."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.console.session import CSRF_HEADER, SESSION_COOKIE, SESSION_TTL
from api.console.workspace import may_deploy, may_see
from engine.dispatch.dispatcher import Dispatcher
from engine.models.users import Role
from engine.settings import Settings
from engine.store.sql import SqlStore
from tests.api.helpers import EYE_CLINIC
from tests.factories import workspace

pytestmark = pytest.mark.db

PASSWORD = "sesame-street-42"
HELLO = {
    "id": "hello",
    "name": "你好",
    "trigger": {"api": True},
    "steps": [{"id": "done", "exit": "called"}],
}
SEGMENT = {"id": "sz_patients", "rule": {"attribute": "clinic_id", "eq": "sz-01"}}


@dataclass
class Rig:
    app: FastAPI
    store: SqlStore
    clients: dict[str, httpx.AsyncClient]
    api_key: str
    api_key_id: str

    def deploys(self) -> list[dict[str, Any]]:
        lines = self.store.list_changes(subject_kind="workspace", actions=["workspace.deployed"])
        return [{"actor": c.actor, **c.detail} for c in lines]


@pytest.fixture
async def rig(time_env: WorkflowEnvironment, sql_url: str) -> AsyncIterator[Rig]:
    store = SqlStore(sql_url)
    dispatcher = Dispatcher(time_env.client, store, f"ws-{uuid.uuid4().hex[:8]}")
    app = create_app(store, dispatcher, Settings(workspace_folder=str(EYE_CLINIC)))
    transport = httpx.ASGITransport(app=app)
    base = "http://carepath.test"
    users: dict[str, Role] = {"chen.admin": "admin", "li.ops": "operator", "wang.desk": "staff"}
    clients = {}
    for username, role in users.items():
        user = store.create_user(username, PASSWORD, role, ["c01"] if role == "staff" else [])
        secret, session = store.open_session(user.id, SESSION_TTL)
        clients[role] = httpx.AsyncClient(
            transport=transport,
            base_url=base,
            cookies={SESSION_COOKIE: secret},
            headers={CSRF_HEADER: session.csrf_token, "Accept-Language": "en"},
        )
    key, secret = store.create_api_key("admin-test", ["admin"], [], at=datetime.now(UTC))
    clients["api"] = httpx.AsyncClient(
        transport=transport, base_url=base, headers={"Authorization": f"Bearer {secret}"}
    )
    yield Rig(app, store, clients, secret, key.id)
    for client in clients.values():
        await client.aclose()
    store.close()


def _tar_gz(root: Path, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(root, arcname=root.name)
        for name, content in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


async def _upload(client: httpx.AsyncClient, name: str, data: bytes) -> httpx.Response:
    return await client.post(
        "/workspace/upload", files={"archive": (name, data, "application/gzip")}
    )


@pytest.mark.parametrize(
    ("role", "sees", "deploys"),
    [("admin", True, True), ("operator", True, False), ("staff", False, False)],
)
def test_admins_deploy_operators_look_staff_neither(role: str, sees: bool, deploys: bool) -> None:
    assert (may_see(role), may_deploy(role)) == (sees, deploys)


async def test_roles_on_the_page_and_the_deploys(rig: Rig) -> None:
    admin = await rig.clients["admin"].get("/workspace")
    assert admin.status_code == 200
    assert "Valid: 9 journeys" in admin.text
    assert "payment_recovery" in admin.text and "high_intent_parents" in admin.text
    assert 'action="/workspace/deploy"' in admin.text
    assert 'action="/workspace/upload"' in admin.text

    operator = await rig.clients["operator"].get("/workspace")
    assert operator.status_code == 200 and "Valid: 9 journeys" in operator.text
    assert "/workspace/deploy" not in operator.text and "/workspace/upload" not in operator.text
    refused = await rig.clients["operator"].post("/workspace/deploy")
    assert refused.status_code == 403
    assert "Only administrators may deploy the workspace." in refused.text
    upload = await _upload(rig.clients["operator"], "ws.tar.gz", _tar_gz(EYE_CLINIC))
    assert upload.status_code == 403

    staff = await rig.clients["staff"].get("/workspace")
    assert staff.status_code == 403
    assert "The workspace is for administrators and operators." in staff.text
    assert (await rig.clients["staff"].post("/workspace/deploy")).status_code == 403
    assert rig.store.list_journeys() == [] and rig.deploys() == []


async def test_a_deploy_without_the_csrf_token_is_refused(rig: Rig) -> None:
    admin = rig.clients["admin"]
    response = await admin.post("/workspace/deploy", headers={CSRF_HEADER: "forged"})
    assert response.status_code == 403
    assert rig.store.list_journeys() == []


async def test_an_upload_with_a_traversal_member_is_refused_whole(rig: Rig, tmp_path: Path) -> None:
    root = workspace(tmp_path / "clinic", [HELLO])
    data = _tar_gz(root, extra={"clinic/../../evil.yaml": b"id: evil\n"})
    response = await _upload(rig.clients["admin"], "clinic.tar.gz", data)
    assert response.status_code == 422
    assert "Nothing was deployed" in response.text
    assert "clinic/../../evil.yaml" in response.text
    assert "outside the workspace folder" in response.text
    assert rig.store.list_journeys() == [] and rig.deploys() == []

    not_archive = await _upload(rig.clients["admin"], "notes.txt", b"hello")
    assert not_archive.status_code == 422
    assert "notes.txt is not a .zip or .tar.gz file." in not_archive.text


async def test_an_invalid_upload_shows_each_problem_with_file_and_line(
    rig: Rig, tmp_path: Path
) -> None:
    broken = {**HELLO, "steps": [{"id": "done", "exit": "called"}, {"id": "x", "goto": "nowhere"}]}
    root = workspace(tmp_path / "clinic", [broken])
    response = await _upload(rig.clients["admin"], "clinic.tar.gz", _tar_gz(root))
    assert response.status_code == 422
    assert "Problems in clinic.tar.gz" in response.text
    row = response.text.split('<td class="file">journeys/hello.yaml</td>')[1].split("</tr>")[0]
    assert '<td class="number">12</td>' in row  # the step's line in the file
    assert "step &#39;x&#39; has no step kind" in row
    assert str(tmp_path) not in response.text  # files named within the workspace
    assert rig.store.list_journeys() == [] and rig.deploys() == []


async def test_an_invalid_server_folder_shows_file_and_line_and_deploys_nothing(
    rig: Rig, tmp_path: Path
) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "bad.yaml").write_text(
        "id: bad\ntrigger: {api: true}\nsteps:\n  - id: s\n    sned: {}\n", "utf-8"
    )
    rig.app.state.settings = Settings(workspace_folder=str(tmp_path))
    page = await rig.clients["operator"].get("/workspace")
    assert page.status_code == 200
    assert "Not valid: " in page.text
    row = page.text.split('<td class="file">journeys/bad.yaml</td>')[1]
    cells = row.split("</tr>")[0]
    assert '<td class="number">4</td>' in cells  # the step with the unknown kind
    assert "unknown step kind" in cells and "did you mean &#39;send&#39;?" in cells
    deploy = await rig.clients["admin"].post("/workspace/deploy")
    assert deploy.status_code == 422
    assert rig.store.list_journeys() == [] and rig.deploys() == []


async def test_a_valid_upload_deploys_and_the_history_says_who_and_what_changed(
    rig: Rig, tmp_path: Path
) -> None:
    admin = rig.clients["admin"]
    first = workspace(tmp_path / "one" / "clinic", [HELLO], segments=[SEGMENT])
    response = await _upload(admin, "clinic.tar.gz", _tar_gz(first))
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/workspace?deployed=1#history",
    )
    assert [(j.journey_id, j.current_version) for j in rig.store.list_journeys()] == [("hello", 1)]
    [line] = rig.deploys()
    assert line["actor"] == "console:chen.admin"
    assert (line["source"], line["name"]) == ("upload", "clinic.tar.gz")
    assert line["journeys"] == [{"journey_id": "hello", "before": None, "after": 1}]
    assert line["segments"]["added"] == ["sz_patients"]

    changed = {**HELLO, "name": "你好呀"}
    second = workspace(tmp_path / "two" / "clinic", [changed], segments=[SEGMENT])
    response = await _upload(admin, "clinic-v2.tar.gz", _tar_gz(second))
    assert response.status_code == 303
    page = await admin.get("/workspace?deployed=1")
    history = page.text.split('id="history"')[1]
    assert "Deployed. The first line of the history" in page.text
    newest, older = history.split("<tr>")[2:4]
    assert "chen.admin" in newest and "Uploaded file clinic-v2.tar.gz" in newest
    assert "hello: version 1 → 2" in newest and "No change" in newest
    assert "hello: new, version 1" in older and "Added: sz_patients" in older


async def test_the_server_folder_and_the_api_route_are_logged_alike(rig: Rig) -> None:
    response = await rig.clients["admin"].post("/workspace/deploy")
    assert response.status_code == 303
    assert len(rig.store.list_journeys()) == 9
    api = await rig.clients["api"].post("/v1/journeys/deploy", json={"path": str(EYE_CLINIC)})
    assert api.status_code == 200
    newest, first = rig.deploys()
    assert newest["actor"] == f"key:{rig.api_key_id}"
    assert (newest["source"], newest["name"]) == ("folder", str(EYE_CLINIC))
    assert {j["before"] for j in newest["journeys"]} == {1}
    assert {j["after"] for j in newest["journeys"]} == {1}
    assert first["actor"] == "console:chen.admin"
    assert all(j["before"] is None for j in first["journeys"])
    page = await rig.clients["operator"].get("/workspace")
    assert f"API key {rig.api_key_id}" in page.text
    assert "9 unchanged" in page.text and "Server folder" in page.text
