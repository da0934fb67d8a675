"""What the channels page shows, read through the API's own routes with the user's
``Caller``: the circuits and quota windows as ``GET /v1/channels`` answers them, the
skips by reason of the last ``SKIP_DAYS`` days as ``GET /v1/reports/channels`` counts
them (``make_scope`` and the report route), the last resets from the change log
(``channel.reset``) and the latest opt-outs (``store.recent_opt_outs``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import get_args

from fastapi.concurrency import run_in_threadpool

from api.console.report_cache import ReportCache
from api.deps import Caller
from api.routes.channels import list_channels
from api.routes.reports.channels import channels as channels_report
from api.routes.reports.scope import make_scope
from api.schemas.channels import ChannelPublic, ProviderChannel
from engine.models.changes import ChangeRecord
from engine.models.reports.channels import SKIP_REASON_NAMES, ChannelsReport
from engine.settings import Settings
from engine.store.opt_outs import OptOut

#: The channels a reset names (a phone step has no circuit).
CHANNELS: tuple[str, ...] = get_args(ProviderChannel)
#: The days (today included) whose skips the page counts.
SKIP_DAYS = 7
#: Resets and opt-outs shown.
RESETS_SHOWN = 20
OPT_OUTS_SHOWN = 50


def may_view(role: str) -> bool:
    """Admins and operators see the channels and reset them; staff do not."""
    return role in ("admin", "operator")


def has_open(channel: ChannelPublic) -> bool:
    """Whether anything of the channel stops sends now: its own circuit, a template's,
    or its quota window (what a reset ends)."""
    return (
        channel.state == "open"
        or any(c.state == "open" for c in channel.circuits)
        or (channel.quota is not None and channel.quota.state == "open")
    )


@dataclass(frozen=True)
class SkipLine:
    """One reason: the tries not made for it in the range, in all and per channel."""

    reason: str
    total: int
    by_channel: list[tuple[str, int]] = field(default_factory=list)


def skip_lines(report: ChannelsReport) -> list[SkipLine]:
    """Every skip reason of the report (the known ones in their order, then any other),
    with its total and its channels that had any, most first."""
    reasons = list(SKIP_REASON_NAMES)
    for row in report.rows:
        reasons += [r for r in row.skipped if r not in reasons]
    lines = []
    for reason in reasons:
        counts = [(row.channel, row.skipped.get(reason, 0)) for row in report.rows]
        found = sorted(((c, n) for c, n in counts if n), key=lambda item: (-item[1], item[0]))
        lines.append(SkipLine(reason, sum(n for _, n in found), found))
    return lines


@dataclass(frozen=True)
class ChannelsBoard:
    """Everything the channels page shows."""

    channels: list[ChannelPublic]
    resets: list[ChangeRecord]
    opt_outs: list[OptOut]
    skips: list[SkipLine]
    first_day: dt.date
    last_day: dt.date
    #: when the skips were counted (the channels report's answer is kept a while)
    skips_at: dt.datetime


async def board(
    caller: Caller, settings: Settings, today: dt.date, cache: ReportCache
) -> ChannelsBoard:
    """The page's data for ``today`` (a local day of the chain); the skips are the
    channels report's, kept a while like the report pages' (``report_cache``)."""
    store = caller.store
    page = await list_channels(caller, store)
    first = today - dt.timedelta(days=SKIP_DAYS - 1)
    scope = await make_scope(
        caller, store, settings, first, today + dt.timedelta(days=1), None, None
    )
    kept = await cache.answer(
        f"channels|{scope.model_dump_json()}",
        lambda: channels_report(scope, store, format="json"),
    )
    report = kept.value
    assert isinstance(report, ChannelsReport)
    resets = await run_in_threadpool(
        lambda: store.list_changes(actions=["channel.reset"], limit=RESETS_SHOWN)
    )
    opt_outs = await run_in_threadpool(store.recent_opt_outs, OPT_OUTS_SHOWN)
    skips = skip_lines(report)
    return ChannelsBoard(page.channels, resets, opt_outs, skips, first, today, kept.at)
