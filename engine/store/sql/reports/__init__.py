"""The reports as SQL: a shared query layer (:mod:`.query`) and one module per report,
each one statement (or a few) that aggregates in the database and returns rows of
figures, never a population."""
