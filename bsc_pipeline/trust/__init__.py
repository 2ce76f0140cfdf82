"""Trust in published numbers: definition versions, why a value changed, and `bsc explain`.

`definitions` and `reasons` are pure (publishing calls them inside its transaction); `explain`
and `spec_diff` read the warehouse's history and lineage tables.
"""
