"""A definition version moves when, and only when, something that sets the value changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.trust.definitions import formula_text, measure_definitions, spec_commit

SPEC = PROJECT_ROOT / "tests" / "e2e" / "tiny_company" / "spec.yaml"


def _edited(tmp_path: Path, edit) -> Spec:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(SPEC.read_text())
    for measure in data["measures"]:
        edit(measure)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(path)


def _versions(spec: Spec) -> dict[str, str]:
    return {k: d.version for k, d in measure_definitions(spec).items()}


@pytest.fixture(scope="module")
def before() -> dict[str, str]:
    return _versions(load_spec(SPEC))


def test_names_owners_and_display_settings_do_not_change_a_version(tmp_path, before):
    def cosmetic(m):  # type: ignore[no-untyped-def]
        m["name"] = m["name"].upper()
        m["description"] = "renamed"
        m["decimals"] = 3
        if m.get("owner") == "cfo":
            m["owner"] = "ops"

    assert _versions(_edited(tmp_path, cosmetic)) == before


def test_a_formula_change_reaches_every_measure_that_reads_it(tmp_path, before):
    def formula(m):  # type: ignore[no-untyped-def]
        if m["id"] == "gross_profit":
            m["formula"] = "revenue - 2 * cogs"

    after = _versions(_edited(tmp_path, formula))
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"gross_profit", "gross_margin_pct"}


def test_a_target_changes_only_its_own_measure(tmp_path, before):
    def target(m):  # type: ignore[no-untyped-def]
        if m["id"] == "revenue":
            m["target"] = {"kind": "constant", "value": 1200}

    after = _versions(_edited(tmp_path, target))
    assert {k for k in before if before[k] != after[k]} == {"revenue"}


def test_the_definition_names_its_datasets_and_reads_as_a_formula():
    definitions = measure_definitions(load_spec(SPEC))
    margin = definitions["gross_margin_pct"]
    assert margin.datasets == ("gl_lines",)
    assert set(margin.definition["depends_on"]) == {"gross_profit", "revenue", "cogs"}
    assert formula_text(margin.definition) == "sum(gross_profit) / sum(revenue) × 100"
    assert formula_text(definitions["revenue"].definition) == (
        "sum(gl_lines.amount where account eq '4000') × -1"
    )
    nps = definitions["nps"].definition
    assert formula_text(nps) == "100 * (promoters - detractors) / responses"
    assert len(margin.version) == 16


def test_spec_commit_inside_and_outside_a_repository(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.read_text())
    assert spec_commit(spec) is None  # not a repository: no commit, no failure
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    assert spec_commit(spec) is None  # in a repository, never committed
    subprocess.run([*git, "add", "spec.yaml"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "spec"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert spec_commit(spec) == head
    assert measure_definitions(load_spec(spec), spec_path=spec)["revenue"].spec_commit == head


def test_a_retention_reads_as_its_question():
    definition = {
        "measure": {
            "kind": "retention",
            "source": "tickets",
            "key": "account_id",
            "filters": [{"column": "category", "op": "eq", "value": "complaint"}],
            "scale": 100,
        }
    }
    assert formula_text(definition) == (
        "distinct account_id of tickets where category eq 'complaint' active in the period and "
        "the previous one / those active in the previous one × 100"
    )
