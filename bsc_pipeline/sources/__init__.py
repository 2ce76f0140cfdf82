"""Source extracts: contracts, mappings as configuration, the landing zone and the readers."""

from bsc_pipeline.sources.contracts import (
    ColumnContract,
    ComputedColumn,
    ContractError,
    DatasetContract,
    load_contracts,
)
from bsc_pipeline.sources.dataset import read_dataset
from bsc_pipeline.sources.landing import landing_files
from bsc_pipeline.sources.mappings import Mapping, MappingError, load_mapping, load_sources_config
from bsc_pipeline.sources.problems import (
    DatasetRead,
    FileIdentity,
    SourceError,
    SourceProblem,
    UnreadableFile,
)

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
