"""Real-time segments: which deployed segments a change can alter, and their refresh.

``index`` is pure (segment definitions in, lookups out); the store evaluates the
segments it names for one customer in the transaction of the change
(``engine.store.sql.segments``); ``schedules`` keeps the refresh schedules of
time-based segments in Temporal.
"""
