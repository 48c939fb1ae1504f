"""Analysis: collect run folders into one table; statistics; verdict rules."""
