"""Source extracts: contracts, mappings as configuration, the landing zone and the readers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bsc_pipeline.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from bsc_pipeline.sources.contracts import (
        ColumnContract,
        ComputedColumn,
        ContractError,
        DatasetContract,
        load_contracts,
    )
    from bsc_pipeline.sources.dataset import read_dataset
    from bsc_pipeline.sources.landing import landing_files
    from bsc_pipeline.sources.mappings import (
        Mapping,
        MappingError,
        load_mapping,
        load_sources_config,
    )
    from bsc_pipeline.sources.problems import (
        DatasetRead,
        FileIdentity,
        SourceError,
        SourceProblem,
        UnreadableFile,
    )

# Importing the package costs nothing: each name loads its module on first use, so the
# `bsc` command line mounts this package's commands without pandas, SQLAlchemy or GX.
_EXPORTS = {
    "ColumnContract": "contracts",
    "ComputedColumn": "contracts",
    "ContractError": "contracts",
    "DatasetContract": "contracts",
    "load_contracts": "contracts",
    "read_dataset": "dataset",
    "landing_files": "landing",
    "Mapping": "mappings",
    "MappingError": "mappings",
    "load_mapping": "mappings",
    "load_sources_config": "mappings",
    "DatasetRead": "problems",
    "FileIdentity": "problems",
    "SourceError": "problems",
    "SourceProblem": "problems",
    "UnreadableFile": "problems",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "ColumnContract",
    "ComputedColumn",
    "ContractError",
    "DatasetContract",
    "DatasetRead",
    "FileIdentity",
    "Mapping",
    "MappingError",
    "SourceError",
    "SourceProblem",
    "UnreadableFile",
    "landing_files",
    "load_contracts",
    "load_mapping",
    "load_sources_config",
    "read_dataset",
]
