"""The tiny company with manual measures, in a temporary copy its tests may drop files into."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsc_pipeline.settings import Settings

MANUAL_MEASURES: list[dict[str, Any]] = [
    {
        "id": "audit_score",
        "name": "Internal audit score",
        "objective": "sound_controls",
        "owner": "ops",
        "unit": "score",
        "kind": "manual",
        "valid_range": [0, 100],
        "target": {"kind": "constant", "value": 80},
    },
    {
        "id": "partner_revenue",
        "name": "Partner revenue",
        "owner": "cfo",
        "unit": "EUR",
        "kind": "manual",
        "aggregation": "sum",
        "valid_range": [0, 1_000_000],
    },
    {
        "id": "total_revenue",
        "name": "Total revenue",
        "objective": "grow_revenue",
        "owner": "cfo",
        "unit": "EUR",
        "kind": "derived",
        "formula": "revenue + partner_revenue",
        "target": {"kind": "constant", "value": 1200},
    },
    {
        "id": "initiative_progress",
        "name": "CRM initiative progress",
        "owner": "hr",
        "unit": "%",
        "kind": "manual",
        "valid_range": [0, 100],
    },
    {
        "id": "supplier_rating",
        "name": "Supplier rating",
        "owner": "ops",
        "unit": "score",
        "kind": "manual",
        "valid_range": [1, 5],
    },
]


def write_manual_company(tiny_settings: Settings, folder: Path) -> Settings:
    """Copy the tiny company's landing zone and spec under `folder`, adding manual measures."""
    landing = folder / "landing"
    shutil.copytree(tiny_settings.landing_dir, landing)
    spec = yaml.safe_load(tiny_settings.spec_path.read_text(encoding="utf-8"))
    spec["objectives"].append(
        {"id": "sound_controls", "name": "Sound controls", "perspective": "internal"}
    )
    spec["measures"].extend(MANUAL_MEASURES)
    spec_path = folder / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return replace(tiny_settings, landing_dir=landing, spec_path=spec_path)


@pytest.fixture(scope="module")
def manual_company(
    tmp_path_factory: pytest.TempPathFactory, tiny_settings_at: Callable[[Path], Settings]
) -> Settings:
    work = tmp_path_factory.mktemp("manual")
    return write_manual_company(tiny_settings_at(work), work)
