"""A journey's versions at ``/journeys/{id}/versions``: every deployed version (its
number, when, its checksum) with its definition as YAML, and a line diff between any
two (``?old=&new=``; by default the current version against the one before it).

Versions are read as ``GET /v1/journeys/{id}`` reads them (``store.list_journeys``,
``store.get_bundle``); ``journey_diff`` writes them out and compares them. Every role
may read them, as every role reads the journey's page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.console.customer_page import clock
from api.console.journey_diff import Hunk, line_diff, version_yaml
from api.console.journey_view import info_of
from api.console.session import Console, SignedIn, store_of
from api.console.templating import render
from engine.errors import NotFound
from engine.store.records import JourneyInfo, JourneyVersionInfo
from engine.store.service_store import ServiceStore

router = APIRouter(include_in_schema=False)

VersionText = Annotated[str | None, Query(max_length=8)]


@dataclass(frozen=True)
class Version:
    """A deployed version with its definition written out."""

    info: JourneyVersionInfo
    yaml: str


@dataclass(frozen=True)
class Versions:
    """What the page shows: every version (newest first), the two compared, their diff."""

    journey: JourneyInfo
    versions: list[Version]
    old: Version | None
    new: Version
    hunks: list[Hunk]


def chosen(text: str | None, known: list[int], default: int | None) -> int | None:
    """The version asked for when it is one of ``known``, else ``default``."""
    if text is not None and text.isdigit() and int(text) in known:
        return int(text)
    return default


def versions_of(
    store: ServiceStore, journey_id: str, old_text: str | None, new_text: str | None
) -> Versions:
    """The journey's versions and the diff asked for (NotFound: never deployed)."""
    info = info_of(store, journey_id)
    versions = {
        v.version: Version(v, version_yaml(store.get_bundle(journey_id, v.version)))
        for v in info.versions
    }
    known = sorted(versions)
    new = chosen(new_text, known, info.current_version)
    assert new is not None
    earlier = [v for v in known if v < new]
    old = chosen(old_text, known, earlier[-1] if earlier else None)
    if old == new:
        old = None
    hunks = [] if old is None else line_diff(versions[old].yaml, versions[new].yaml)
    return Versions(
        journey=info,
        versions=[versions[v] for v in reversed(known)],
        old=None if old is None else versions[old],
        new=versions[new],
        hunks=hunks,
    )


@router.get("/journeys/{journey_id}/versions", response_class=HTMLResponse)
async def versions_page(
    request: Request,
    console: SignedIn,
    journey_id: str,
    old: VersionText = None,
    new: VersionText = None,
) -> Response:
    """Every deployed version with its YAML, and the diff between two of them."""
    try:
        shown = await asyncio.to_thread(versions_of, store_of(request), journey_id, old, new)
    except NotFound:
        return _missing(request, console)
    context = {"console": console, "shown": shown, "when": clock(request)}
    return render(request, "journey_versions.html", context)


def _missing(request: Request, console: Console) -> HTMLResponse:
    """404: no journey at this address."""
    return render(request, "journey_missing.html", {"console": console}, status_code=404)


__all__ = ["Version", "Versions", "chosen", "router", "versions_of"]
