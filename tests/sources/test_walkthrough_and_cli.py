"""The docs' Salesforce walkthrough, step by step, and `bsc sources check`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import load_contracts, read_dataset
from bsc_pipeline.sources.cli import app

DOCS = PROJECT_ROOT / "docs" / "sources.md"
EXPORT = PROJECT_ROOT / "sources" / "fixtures" / "salesforce_opportunities.csv"


def _doc_block(first_line: str) -> str:
    """The fenced YAML block of docs/sources.md that starts with `first_line`."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    (block,) = [b for b in blocks if b.startswith(first_line + "\n")]
    return block


def _env(landing: Path, config: Path) -> dict[str, str]:
    return {
        "BSC_LANDING_DIR": str(landing),
        "BSC_SOURCES_CONFIG": str(config),
        "BSC_CONTRACTS": str(PROJECT_ROOT / "sources" / "contracts.yaml"),
        "COLUMNS": "200",
    }


def test_salesforce_walkthrough_from_the_docs(tmp_path):
    # Step 1 + 2: the Data Loader export, named for its month, in the dataset's landing folder.
    landing = tmp_path / "landing"
    (landing / "opportunities").mkdir(parents=True)
    shutil.copy(EXPORT, landing / "opportunities" / "opportunities_2025-03.csv")
    # Step 3: the mapping exactly as the docs show it.
    mappings = tmp_path / "sources" / "mappings"
    mappings.mkdir(parents=True)
    (mappings / "my_salesforce.yaml").write_text(
        _doc_block("# sources/mappings/my_salesforce.yaml"), encoding="utf-8"
    )
    # Step 4: the sources file entry exactly as the docs show it.
    config = tmp_path / "sources" / "sources.yaml"
    config.write_text(_doc_block("# sources/sources.yaml"), encoding="utf-8")
    # Step 5: the check passes and lists the file with its rows and months.
    result = CliRunner().invoke(
        app, ["check", "--dataset", "opportunities"], env=_env(landing, config)
    )
    assert result.exit_code == 0, result.output
    assert "opportunities/opportunities_2025-03.csv" in result.output
    assert "2025-03..2025-04" in result.output
    assert "error" not in result.output and "warning" not in result.output
    # Step 6: the month's frame.
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    read = read_dataset(
        "opportunities", "2025-03", landing_dir=landing, contracts=contracts, sources_config=config
    )
    assert read.usable
    assert read.frame["stage"].tolist() == ["won", "lost"]
    assert read.frame["amount"].tolist() == [12500.0, 4800.0]
    assert read.frame["close_date"].tolist() == [
        pd.Timestamp("2025-03-14"),
        pd.Timestamp("2025-03-20"),
    ]


@pytest.fixture
def demo_landing(tmp_path) -> tuple[Path, Path]:
    landing = tmp_path / "landing"
    (landing / "gl_lines").mkdir(parents=True)
    config = tmp_path / "sources.yaml"
    config.write_text("settle_seconds: 0\ndatasets: {}\n", encoding="utf-8")
    return landing, config


def test_check_prints_rows_months_and_problems(demo_landing):
    landing, config = demo_landing
    (landing / "gl_lines" / "gl_lines_2025-03.csv").write_text(
        "entry_id,line_no,posting_date,account,amount\n"
        "E1,1,2025-03-01,4000,1\nE1,2,2025-03-01,1100,bad\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check", "--dataset", "gl_lines"], env=_env(landing, config))
    assert result.exit_code == 0, result.output
    assert "gl_lines/gl_lines_2025-03.csv" in result.output
    assert "line 3, column 'amount'" in result.output and "seen 'bad'" in result.output


def test_check_exits_non_zero_when_a_dataset_cannot_be_used(demo_landing):
    landing, config = demo_landing
    (landing / "gl_lines" / "gl_lines_2025-03.csv").write_text(
        "entry_id,line_no,posting_date,amount\nE1,1,2025-03-01,1\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["check", "--dataset", "gl_lines"], env=_env(landing, config))
    assert result.exit_code == 1
    assert "missing required column 'account'" in result.output


def test_check_unknown_dataset_is_a_usage_error(demo_landing):
    landing, config = demo_landing
    result = CliRunner().invoke(app, ["check", "--dataset", "nope"], env=_env(landing, config))
    assert result.exit_code == 2 and "unknown dataset 'nope'" in result.output


def test_check_json_and_pipe_lines(demo_landing):
    import json

    landing, config = demo_landing
    (landing / "gl_lines" / "gl_lines_2025-03.csv").write_text(
        "entry_id,line_no,posting_date,account,amount\n"
        "E1,1,2025-03-01,4000,1\nE1,2,2025-03-01,1100,bad\n",
        encoding="utf-8",
    )
    env = _env(landing, config)
    result = CliRunner().invoke(
        app, ["check", "--dataset", "gl_lines", "--format", "json"], env=env
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (dataset,) = payload["datasets"]
    assert dataset["dataset"] == "gl_lines" and dataset["usable"] is True
    (file,) = dataset["files"]
    assert (file["rows_read"], file["rows_rejected"], file["months"]) == (1, 1, ["2025-03"])
    problem = next(p for p in dataset["problems"] if p["column"] == "amount")
    assert (problem["line"], problem["seen"]) == (3, "'bad'")

    piped = CliRunner().invoke(app, ["check", "--dataset", "gl_lines"], env=env)
    lines = piped.stdout.splitlines()
    assert lines[0].startswith(
        "gl_lines: gl_lines/gl_lines_2025-03.csv: ok: 1 rows read, 1 rejected"
    )
    assert any("line 3, column 'amount'" in line for line in lines[1:])
