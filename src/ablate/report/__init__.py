"""The report: one module per notes section turns the run table into figures, tables and
verdicts; `render` assembles them into reports/<profile>/ (`layout`: which file holds what)."""
