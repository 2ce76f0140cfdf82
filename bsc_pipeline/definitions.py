"""The Dagster code location, the way `dg` finds it (`[tool.dg.project]` in pyproject.toml).

`@dg.definitions` builds the definitions when Dagster loads the location, not at import: the
`BSC_*` settings are read then, and importing the package stays cheap.
"""

import dagster as dg

from bsc_pipeline.defs import build_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
