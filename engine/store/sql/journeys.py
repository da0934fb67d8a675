"""Deployed journey versions: immutable bundles, the current version, pausing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.expressions.clock import utcnow
from engine.models.workspace import JourneyBundle
from engine.store.records import EnrollmentRecord, JourneyInfo, JourneyVersionInfo
from engine.store.sql.attributes import customer_clinic
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import (
    CustomerRow,
    EnrollmentRow,
    JourneyRow,
    JourneyVersionRow,
    TraceRow,
)


def bundle_checksum(bundle: JourneyBundle) -> str:
    """sha256 of the bundle's canonical JSON, its version left out."""
    canonical = json.dumps(
        _dump(bundle, exclude_version=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class JourneysPart(SqlPart):
    _bundles: dict[tuple[str, int], JourneyBundle]

    def put_bundle(self, bundle: JourneyBundle) -> None:
        """Store a bundle under its own version (a stored version is never rewritten)."""

        def work(s: Session) -> None:
            journey = s.get(JourneyRow, bundle.journey.id, with_for_update=True)
            if journey is None:
                s.add(
                    JourneyRow(
                        id=bundle.journey.id,
                        name=bundle.journey.name,
                        current_version=bundle.version,
                        paused=False,
                    )
                )
                s.flush()
            elif bundle.version > journey.current_version:
                journey.current_version = bundle.version
                journey.name = bundle.journey.name
            row = {
                "journey_id": bundle.journey.id,
                "version": bundle.version,
                "bundle": _dump(bundle),
                "checksum": bundle_checksum(bundle),
                "deployed_at": utcnow(),
            }
            self._db.insert_ignore(s, JourneyVersionRow, [row])

        self._write_retrying(work)

    def get_bundle(self, journey_id: str, version: int) -> JourneyBundle:
        """One deployed version. Versions never change once stored, so each is read and
        parsed once per process (every activity of an enrollment asks for it)."""
        cached = self._bundles.get((journey_id, version))
        if cached is not None:
            return cached
        with self._db.read() as s, s.begin():
            row = s.get(JourneyVersionRow, (journey_id, version))
            if row is None:
                raise NotFound(f"no journey {journey_id!r} version {version}")
            bundle = JourneyBundle.model_validate(row.bundle)
        self._bundles[(journey_id, version)] = bundle
        return bundle

    def deployment(self) -> list[tuple[str, int, bool]]:
        """(journey id, current version, paused) of every journey: a cheap read that
        changes whenever a deploy, pause or resume does."""
        with self._db.read() as s, s.begin():
            rows = s.execute(
                select(JourneyRow.id, JourneyRow.current_version, JourneyRow.paused).order_by(
                    JourneyRow.id
                )
            )
            return [(jid, version, bool(paused)) for jid, version, paused in rows]

    def deploy(self, bundle: JourneyBundle, *, at: datetime) -> JourneyVersionInfo:
        """Store a new version unless the content equals the current version's."""
        checksum = bundle_checksum(bundle)

        def work(s: Session) -> JourneyVersionInfo:
            journey = s.get(JourneyRow, bundle.journey.id, with_for_update=True)
            if journey is None:
                version = 1
                s.add(JourneyRow(id=bundle.journey.id, name=bundle.journey.name, current_version=1))
                s.flush()
            else:
                current = s.get(JourneyVersionRow, (journey.id, journey.current_version))
                if current is not None and current.checksum == checksum:
                    return _info(current)
                latest = s.scalar(
                    select(func.max(JourneyVersionRow.version)).where(
                        JourneyVersionRow.journey_id == journey.id
                    )
                )
                version = (latest or 0) + 1
                journey.current_version = version
                journey.name = bundle.journey.name
            # Two deploys racing for the same version number: the loser's insert hits
            # the primary key and it retries, then sees the winner's version.
            row = JourneyVersionRow(
                journey_id=bundle.journey.id,
                version=version,
                bundle=_dump(bundle.model_copy(update={"version": version})),
                checksum=checksum,
                deployed_at=at,
            )
            s.add(row)
            s.flush()
            return _info(row)

        return self._write_retrying(work)

    def current_bundle(self, journey_id: str) -> JourneyBundle:
        with self._db.read() as s, s.begin():
            journey = s.get(JourneyRow, journey_id)
            if journey is None:
                raise NotFound(f"no journey {journey_id!r} deployed")
        return self.get_bundle(journey_id, journey.current_version)

    def deployed_bundles(self) -> list[JourneyBundle]:
        """The current version of every journey (paused ones included), by journey id."""
        with self._db.read() as s, s.begin():
            rows = s.scalars(
                select(JourneyVersionRow)
                .join(
                    JourneyRow,
                    (JourneyRow.id == JourneyVersionRow.journey_id)
                    & (JourneyRow.current_version == JourneyVersionRow.version),
                )
                .order_by(JourneyRow.id)
            )
            return [JourneyBundle.model_validate(r.bundle) for r in rows]

    def list_journeys(self) -> list[JourneyInfo]:
        with self._db.read() as s, s.begin():
            versions: dict[str, list[JourneyVersionInfo]] = {}
            for v in s.scalars(
                select(JourneyVersionRow).order_by(
                    JourneyVersionRow.journey_id, JourneyVersionRow.version
                )
            ):
                versions.setdefault(v.journey_id, []).append(_info(v))
            return [
                JourneyInfo(
                    journey_id=j.id,
                    name=j.name,
                    current_version=j.current_version,
                    paused=j.paused,
                    versions=versions.get(j.id, []),
                )
                for j in s.scalars(select(JourneyRow).order_by(JourneyRow.id))
            ]

    def set_paused(self, journey_id: str, paused: bool) -> None:
        with self._db.write() as s, s.begin():
            journey = s.get(JourneyRow, journey_id)
            if journey is None:
                raise NotFound(f"no journey {journey_id!r} deployed")
            journey.paused = paused

    def journey_enrollments(
        self,
        journey_id: str,
        *,
        status: str | None = None,
        step: str | None = None,
        variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        clinics: Sequence[str] | None = None,
        running_at: Mapping[str, str] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[tuple[EnrollmentRecord, str | None]]:
        """The journey's enrollments matching every filter given, most recently started
        first, each with its current step: where Temporal's visibility says a running
        one is (``running_at``: enrollment id -> step), else the step of its last stored
        trace entry (where a finished one ended). ``since``/``until``: started in
        [since, until); ``clinics``: only customers of those clinics (None: all)."""
        running = dict(running_at or {})
        last_seq = (
            select(func.max(TraceRow.seq))
            .where(TraceRow.enrollment_id == EnrollmentRow.id, TraceRow.step.is_not(None))
            .correlate(EnrollmentRow)
            .scalar_subquery()
        )
        last_step = (
            select(TraceRow.step)
            .where(TraceRow.enrollment_id == EnrollmentRow.id, TraceRow.seq == last_seq)
            .correlate(EnrollmentRow)
            .scalar_subquery()
        )
        stmt = select(EnrollmentRow, last_step).where(EnrollmentRow.journey_id == journey_id)
        if status is not None:
            stmt = stmt.where(EnrollmentRow.status == status)
        if variant is not None:
            stmt = stmt.where(EnrollmentRow.variant == variant)
        if since is not None:
            stmt = stmt.where(EnrollmentRow.started_at >= since)
        if until is not None:
            stmt = stmt.where(EnrollmentRow.started_at < until)
        if clinics is not None:
            # A customer's clinic is its clinic_id attribute (engine.store.access).
            allowed = select(CustomerRow.id).where(customer_clinic().in_(list(clinics)))
            stmt = stmt.where(EnrollmentRow.customer_id.in_(allowed))
        if step is not None:
            here = [e for e, at in running.items() if at == step]
            stored = and_(last_step == step, EnrollmentRow.id.not_in(list(running)))
            stmt = stmt.where(or_(EnrollmentRow.id.in_(here), stored))
        stmt = (
            stmt.order_by(EnrollmentRow.started_at.desc(), EnrollmentRow.id)
            .offset(max(offset, 0))
            .limit(limit)
        )
        with self._db.read() as s, s.begin():
            return [
                (
                    EnrollmentRecord.model_validate(row, from_attributes=True),
                    running.get(row.id, stored_step),
                )
                for row, stored_step in s.execute(stmt)
            ]


def _dump(bundle: JourneyBundle, *, exclude_version: bool = False) -> dict[str, Any]:
    # by_alias: step fields such as ``else`` validate by their alias on the way back.
    return bundle.model_dump(
        mode="json", by_alias=True, exclude={"version"} if exclude_version else None
    )


def _info(row: JourneyVersionRow) -> JourneyVersionInfo:
    return JourneyVersionInfo(
        journey_id=row.journey_id,
        version=row.version,
        deployed_at=row.deployed_at,
        checksum=row.checksum,
    )
