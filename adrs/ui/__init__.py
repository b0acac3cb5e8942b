"""``adrs ui``: a read-only web page over run databases (runs, run curves, lineage, programs, diffs)."""
