"""Where briefing books go and how one is written: HTML, or PDF printed from it."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bsc_pipeline.briefing.assemble import assemble_briefing
from bsc_pipeline.briefing.model import ReportFormat
from bsc_pipeline.briefing.pdf import print_pdf
from bsc_pipeline.briefing.render import render_html
from bsc_pipeline.lake import LakePath, lake_root, write_bytes_atomic
from bsc_pipeline.settings import Settings
from bsc_pipeline.spec.models import Spec

REPORTS_FOLDER = "reports"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def report_path(settings: Settings, month: str, owner: str | None = None) -> LakePath:
    """`<lake>/reports/<month>.html`, or `<month>-<owner>.html` for an owner's view (the lake
    may be a URL: the page is then uploaded whole)."""
    name = month if owner is None else f"{month}-{_SAFE.sub('_', owner)}"
    return lake_root(settings.lake_dir) / REPORTS_FOLDER / f"{name}.html"


def load_spec_if_present(settings: Settings) -> Spec | None:
    """The spec names the scorecard and its currency; a warehouse read without it still works."""
    if not settings.spec_path.exists():
        return None
    from bsc_pipeline.spec.loader import load_spec

    return load_spec(settings.spec_path)


@dataclass(frozen=True)
class WrittenReport:
    path: LakePath
    month: str
    measures: int
    links: int
    statuses: dict[str, int]


def write_report(
    engine: Engine,
    month: str,
    out: LakePath,
    *,
    owner: str | None = None,
    spec: Spec | None = None,
    fmt: ReportFormat = "html",
) -> WrittenReport:
    """Assemble the month from the warehouse and write it to `out` (renamed into place)."""
    briefing = assemble_briefing(engine, month, spec=spec, owner=owner)
    html = render_html(briefing)
    if fmt == "pdf":
        with tempfile.TemporaryDirectory(prefix="bsc-report-") as folder:
            page = Path(folder) / f"{briefing.month}.html"
            page.write_text(html, encoding="utf-8")
            printed = Path(folder) / "report.pdf"
            print_pdf(page, printed)
            write_bytes_atomic(out, printed.read_bytes())
    else:
        write_bytes_atomic(out, html.encode("utf-8"))
    return WrittenReport(
        path=out,
        month=briefing.month,
        measures=len(briefing.measures),
        links=len(briefing.links),
        statuses=briefing.headline.counts,
    )
