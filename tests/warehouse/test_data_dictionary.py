"""Every column of every view and table is described in docs/data-dictionary.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
from bsc_pipeline.warehouse.readings import VIEWS
from bsc_pipeline.warehouse.schema import metadata

HEADER = "| column | type | meaning |"
RULE = "| --- | --- | --- |"
DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"


def _sections() -> dict[str, set[str]]:
    """`### heading` → names in the first column of the table below it."""
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            current = set()
            for name in line[4:].split(","):
                sections[name.strip()] = current
        elif current is not None and line.startswith("| ") and line not in (HEADER, RULE):
            cell = line.split("|")[1].strip()
            current.update(part.strip() for part in cell.split("/"))
    return sections


@pytest.fixture(scope="module")
def inspector(tmp_path_factory: pytest.TempPathFactory) -> sa.Inspector:
    url = f"sqlite:///{tmp_path_factory.mktemp('dictionary') / 'warehouse.db'}"
    upgrade_warehouse(url)
    return sa.inspect(make_engine(url))


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_column_is_documented(inspector, view):
    sections = _sections()
    columns = [c["name"] for c in inspector.get_columns(view)]
    # an `_as_of` view is documented as "the same columns as" its latest-reading sibling
    documented = sections[view] or sections[view.removesuffix("_as_of")]
    assert set(columns) == documented


@pytest.mark.parametrize("table", sorted(metadata.tables))
def test_every_table_column_is_documented(table):
    documented = _sections()[table]
    columns = {c.name for c in metadata.tables[table].columns}
    assert columns <= documented, f"undocumented: {sorted(columns - documented)}"


def test_the_dictionary_names_no_column_that_does_not_exist():
    real = {c.name for t in metadata.tables.values() for c in t.columns}
    for name, documented in _sections().items():
        if name in metadata.tables:
            assert documented <= real, f"{name}: {sorted(documented - real)}"
    assert re.search(r"^### v_scorecard_monthly$", DICTIONARY.read_text(), re.MULTILINE)
