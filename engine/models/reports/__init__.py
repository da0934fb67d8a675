"""What the reports answer (docs contract "What carepath counts", section 3): the scope
every report is asked in, and one module of result rows per report."""
