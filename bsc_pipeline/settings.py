"""Runtime settings, read once from `BSC_*` environment variables.

Knobs have defaults that make `make demo` work from a clone; secrets (SMTP password, webhook
URLs) are never settings here: channels read them from the environment when they send.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package was installed from (editable install); holds sources/, warehouse/."""


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def lake_location(value: str | Path) -> Path | str:
    """A lake folder as an absolute path, or a URL (`s3://bucket/prefix`) kept as text.

    A `file://` URL is a local path. Every worker of a distributed run must see the same lake,
    so on several machines it is an object store or a shared filesystem.
    """
    text = str(value)
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    elif "://" in text:
        return text
    return Path(text).expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    """Where things are and how runs behave."""

    warehouse_url: str
    landing_dir: Path
    lake_dir: Path | str
    """A local folder, or a URL such as `s3://bucket/prefix` (see `bsc_pipeline.lake`)."""
    spec_path: Path
    contracts_path: Path
    sources_config: Path
    timezone: str
    partitions_start: str
    nightly_at: str = "04:30"
    close_day: int = 5
    alert_max_age_days: int = 45
    """A month that ended longer ago than this is history to alerts, not news (docs/alerts.md)."""
    commentary_days: int = 3
    """Days after publication a red measure's owner has to comment before one reminder."""

    @classmethod
    def from_env(cls) -> Settings:
        db = PROJECT_ROOT / "warehouse" / "scorecard.db"
        return cls(
            warehouse_url=os.environ.get("BSC_WAREHOUSE_URL", f"sqlite:///{db}"),
            landing_dir=_path("BSC_LANDING_DIR", PROJECT_ROOT / "sources" / "landing"),
            lake_dir=lake_location(os.environ.get("BSC_LAKE_DIR") or PROJECT_ROOT / "lake"),
            spec_path=_path("BSC_SPEC", PROJECT_ROOT / "specs" / "demo.yaml"),
            contracts_path=_path("BSC_CONTRACTS", PROJECT_ROOT / "sources" / "contracts.yaml"),
            sources_config=_path("BSC_SOURCES_CONFIG", PROJECT_ROOT / "sources" / "sources.yaml"),
            timezone=os.environ.get("BSC_TIMEZONE", "UTC"),
            partitions_start=os.environ.get("BSC_PARTITIONS_START", "2023-01"),
            nightly_at=os.environ.get("BSC_NIGHTLY_AT", "04:30"),
            close_day=int(os.environ.get("BSC_CLOSE_DAY", "5")),
            alert_max_age_days=int(os.environ.get("BSC_ALERT_MAX_AGE_DAYS", "45")),
            commentary_days=int(os.environ.get("BSC_COMMENTARY_DAYS", "3")),
        )
