"""工作区, the workspace at ``/workspace``: is the server's workspace folder valid, deploy
it or an uploaded archive of one, and the deploys so far.

- ``/workspace``: the validation of the server's workspace folder (``workspace_folder``
  in the settings; ``carepath up`` sets it to the folder it deployed), each problem with
  its file and line as ``carepath validate`` prints them, else the journeys and
  segments found; the last ``HISTORY_LIMIT`` deploys, newest first: who, when, from
  where, each journey's version before and after, the segments changed;
- ``POST /workspace/deploy``: deploy the server's folder;
- ``POST /workspace/upload``: deploy an uploaded .zip or .tar.gz of a workspace folder
  (multipart field ``archive``), unpacked by ``api.workspace_archive`` into a temporary
  folder that is removed afterwards.

Both deploys are ``api.deploys.deploy_workspace``, what ``POST /v1/journeys/deploy``
does, logged as ``workspace.deployed`` by ``console:<username>``: nothing is deployed
unless the workspace is valid, and a refusal (an archive refused, a workspace with
problems) answers 422 with the page saying why. Admins and operators see the page;
only admins deploy (operators get no buttons and 403); staff get the 403 page.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.console.session import Checked, Console, SignedIn, settings_of, store_of
from api.console.templating import render
from api.console.workspace_view import history_rows, problems_of, validate_folder
from api.deploys import HISTORY_LIMIT, SourceKind, deploy_history, deploy_workspace
from api.workspace_archive import ArchiveLimits, ArchiveRefused, extract_workspace
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import ValidationFailed

router = APIRouter(include_in_schema=False)

#: The upload's limits: the archive, and everything it unpacks to.
LIMITS = ArchiveLimits()
ARCHIVE_FIELD = "archive"


def limits_of(request: Request) -> ArchiveLimits:
    """``LIMITS``: the request limit of ``/workspace/upload`` is the archive's plus the
    form's (``api.limits``), or ``api.max_body_bytes`` when that is larger."""
    return LIMITS


def may_see(role: str) -> bool:
    """Admins and operators see the workspace; staff do not."""
    return role in ("admin", "operator")


def may_deploy(role: str) -> bool:
    """Only admins deploy."""
    return role == "admin"


def _dispatcher(request: Request) -> Dispatcher:
    return cast(Dispatcher, request.app.state.dispatcher)


def _folder(request: Request) -> Path:
    return Path(settings_of(request).workspace_folder)


async def _page(
    request: Request, console: Console, *, status_code: int = 200, **outcome: Any
) -> HTMLResponse:
    """The page, with what a deploy just did (``outcome``) when there is something."""
    settings = settings_of(request)
    validation = await asyncio.to_thread(validate_folder, _folder(request))
    lines = await asyncio.to_thread(deploy_history, store_of(request), HISTORY_LIMIT)
    context: dict[str, Any] = {
        "console": console,
        "validation": validation,
        "history": history_rows(lines, settings.compliance.timezone),
        "may_deploy": may_deploy(console.user.role),
        "limits": limits_of(request),
        "deployed": request.query_params.get("deployed") == "1",
        "refused": None,
        "refused_member": None,
        "upload_problems": None,
        "upload_name": None,
        **outcome,
    }
    return render(request, "workspace.html", context, status_code=status_code)


def _forbidden(request: Request, console: Console) -> HTMLResponse:
    return render(request, "workspace_forbidden.html", {"console": console}, status_code=403)


@router.get("/workspace", response_class=HTMLResponse)
async def workspace_page(request: Request, console: SignedIn) -> Response:
    """The server folder's validation and the deploy history."""
    if not may_see(console.user.role):
        return _forbidden(request, console)
    return await _page(request, console)


async def _deploy(
    request: Request, console: Console, root: Path, *, source: SourceKind, name: str
) -> Response:
    """Deploy ``root``; back to the page (303), or the page with the problems (422)."""
    try:
        await deploy_workspace(
            _dispatcher(request),
            store_of(request),
            root,
            actor=f"console:{console.user.username}",
            source=source,
            name=name,
        )
    except ValidationFailed as exc:
        problems = problems_of(exc.problems, root)
        return await _page(
            request, console, status_code=422, upload_problems=problems, upload_name=name
        )
    except OSError:
        return await _page(request, console, status_code=422, refused="unreadable")
    return RedirectResponse("/workspace?deployed=1#history", 303)


@router.post("/workspace/deploy", response_class=HTMLResponse)
async def deploy_folder(request: Request, console: Checked) -> Response:
    """Deploy the server's workspace folder."""
    if not may_deploy(console.user.role):
        return _forbidden(request, console)
    folder = _folder(request)
    return await _deploy(request, console, folder, source="folder", name=str(folder))


@router.post("/workspace/upload", response_class=HTMLResponse)
async def deploy_upload(request: Request, console: Checked) -> Response:
    """Deploy an uploaded archive of a workspace folder."""
    if not may_deploy(console.user.role):
        return _forbidden(request, console)
    form = await request.form()
    try:
        upload = form.get(ARCHIVE_FIELD)
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _page(request, console, status_code=422, refused="no_file")
        name = Path(upload.filename.replace("\\", "/")).name
        limits = limits_of(request)
        data = await upload.read(limits.archive_bytes + 1)
    finally:
        await form.close()  # the upload's spooled file
    with tempfile.TemporaryDirectory(prefix="carepath-upload-") as temp:
        try:
            root = await asyncio.to_thread(extract_workspace, data, name, Path(temp), limits)
        except ArchiveRefused as exc:
            context = {"refused": exc.reason, "refused_member": exc.member, "upload_name": name}
            return await _page(request, console, status_code=422, **context)
        return await _deploy(request, console, root, source="upload", name=name)


__all__ = ["router"]
