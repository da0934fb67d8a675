"""What the parts of the SQL store share: sessions, the clock, merged-id lookups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.errors import NotFound, StoreRetry
from engine.store.sql.db import Sessions
from engine.store.sql.tables import CustomerRow

if TYPE_CHECKING:
    from engine.models.segment_index import SegmentIndex

T = TypeVar("T")

#: How often a write that lost a race on a unique key is retried from a fresh read.
RETRIES = 5
#: PostgreSQL's deadlock_detected and serialization_failure: the transaction may be redone.
_REDO_SQLSTATES = {"40P01", "40001"}


def follow(session: Session, customer_id: str, *, lock: bool = False) -> CustomerRow:
    """The customer row behind ``customer_id``, following merges to the survivor."""
    row = session.get(CustomerRow, customer_id, with_for_update=lock)
    for _ in range(100):
        if row is None:
            raise NotFound(f"no customer {customer_id!r}")
        if row.merged_into is None:
            return row
        row = session.get(CustomerRow, row.merged_into, with_for_update=lock)
    raise RuntimeError(f"customer {customer_id!r}: merged_into forms a cycle")


_CUSTOMERS = CustomerRow.__table__.c
# Built once: a statement built per call cost more than executing it.
_MERGED_INTO = select(_CUSTOMERS.merged_into).where(_CUSTOMERS.id == bindparam("id"))
_MERGED_INTO_LOCKED = _MERGED_INTO.with_for_update()


def follow_id(session: Session, customer_id: str, *, lock: bool = False) -> str:
    """The id of the survivor behind ``customer_id`` (NotFound when unknown).

    A Core read of two columns: ``follow`` loads whole ORM rows (JSON attributes
    included), which ingest and enrolling, on every request, do not need.
    ``lock`` locks the survivor's row (FOR UPDATE on PostgreSQL) against a merge.
    """
    current = customer_id
    query = _MERGED_INTO_LOCKED if lock else _MERGED_INTO
    for _ in range(100):
        row = session.execute(query, {"id": current}).first()
        if row is None:
            raise NotFound(f"no customer {customer_id!r}")
        if row.merged_into is None:
            return current
        current = row.merged_into
    raise RuntimeError(f"customer {customer_id!r}: merged_into forms a cycle")


class SqlPart:
    """Base of the store's parts; each part is a mixin of ``SqlStore``."""

    _db: Sessions

    def segment_index(self) -> SegmentIndex:
        """The deployed segments' index (``SegmentsPart`` provides it)."""
        raise NotImplementedError

    @contextmanager
    def _analytic_read(self) -> Iterator[Session]:
        """A read transaction for a report. On PostgreSQL without JIT: the reports'
        correlated lookups give cost estimates high enough for JIT compilation, which
        takes seconds for a query that runs in a fraction of one (bench/README.md)."""
        with self._db.read() as s, s.begin():
            if self._db.dialect == "postgresql":
                s.execute(text("SET LOCAL jit = off"))
            yield s

    def _write_retrying(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a write transaction, again from scratch if it lost a race.

        Races on unique keys (two requests creating the same customer, identity or
        version) surface as IntegrityError in the loser, which then re-reads and finds
        the winner's rows.
        """
        for attempt in range(RETRIES):
            try:
                with self._db.write() as session, session.begin():
                    return work(session)
            except (DBAPIError, StoreRetry) as exc:
                if attempt == RETRIES - 1 or not _redoable(exc):
                    raise
        raise AssertionError("unreachable")


def _redoable(exc: Exception) -> bool:
    if isinstance(exc, StoreRetry | IntegrityError):
        return True
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _REDO_SQLSTATES
