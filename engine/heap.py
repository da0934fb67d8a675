"""The garbage collector of long-running processes (the API, the worker).

After start-up a process holds a couple of hundred thousand objects that live as long
as it does: modules, classes, pydantic and SQLAlchemy metadata, the journeys it
parsed. CPython's cyclic collector walks all of them in every full collection, and
with its default thresholds (700, 10, 10) it runs one every few seconds under load,
holding the GIL: measured in ``bench.enroll`` on two cores, full collections of the
API and of the worker took 0.3-0.8 s each, every request and workflow task of the
process waiting meanwhile, and the collector took about a tenth of the worker's CPU
and more of the API's. (Reference counting frees most objects; the collector only
finds cycles, which these processes make few of.)

``settle()`` moves what start-up built out of the collector's view (``gc.freeze``)
and lets more allocations pass between young collections, so a full collection walks
only what was made since and comes far less often.
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700). Young objects
#: of a request or a workflow task mostly die before this many more are made.
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Collect once, freeze what survives start-up, and space collections out; call it
    when the process has finished starting (imports done, app or worker built)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
