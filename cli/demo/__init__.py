"""Demo data: a deterministic eye-clinic chain written through the store's own paths.

``carepath demo-data`` (``cli/demo_data.py``) and the first start of ``carepath up``
load it, so reports, funnels, KPIs and journey metrics have plausible numbers before
any real data arrives. Same seed, same number of customers and same anchor day give
exactly the same rows; the anchor day (today unless ``--today`` says otherwise) is the
only input besides the seed.

- ``chain``: the clinics, doctors, staff, schools, content, packages and campaigns;
- ``calendar``, ``world``: the 180 days before the anchor, screenings, live streams, codes;
- ``population`` (with ``people``, ``acquisition``, ``browsing``, ``commerce``,
  ``screening``, ``recovery``, ``sends``, ``tracing``): customers and what they did,
  as plain data (``records``), no I/O;
- ``writer``, ``enrolling``, ``deploy``, ``costs``: writing it through the store
  (``ingest_groups`` for events, with triggers that answer False: no enrollment is
  dispatched and no Temporal workflow started; enrollments are history);
- ``load``: the whole run and its summary.
"""

from __future__ import annotations

from cli.demo.load import EXAMPLE_WORKSPACE, DemoOptions, DemoSummary, load_demo

__all__ = ["EXAMPLE_WORKSPACE", "DemoOptions", "DemoSummary", "load_demo"]
