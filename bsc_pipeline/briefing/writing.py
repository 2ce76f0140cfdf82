"""Where briefing books go and how one is written: HTML, or PDF printed from it."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bsc_pipeline.briefing.assemble import assemble_briefing
from bsc_pipeline.briefing.model import ReportFormat
from bsc_pipeline.briefing.pdf import print_pdf
from bsc_pipeline.briefing.render import render_html
from bsc_pipeline.settings import Settings
from bsc_pipeline.spec.models import Spec

REPORTS_FOLDER = "reports"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def report_path(settings: Settings, month: str, owner: str | None = None) -> Path:
    """`<lake>/reports/<month>.html`, or `<month>-<owner>.html` for an owner's view."""
    name = month if owner is None else f"{month}-{_SAFE.sub('_', owner)}"
    return settings.lake_dir / REPORTS_FOLDER / f"{name}.html"


def load_spec_if_present(settings: Settings) -> Spec | None:
    """The spec names the scorecard and its currency; a warehouse read without it still works."""
    if not settings.spec_path.exists():
        return None
    from bsc_pipeline.spec.loader import load_spec

    return load_spec(settings.spec_path)


@dataclass(frozen=True)
class WrittenReport:
    path: Path
    month: str
    measures: int
    links: int
    statuses: dict[str, int]


def write_report(
    engine: Engine,
    month: str,
    out: Path,
    *,
    owner: str | None = None,
    spec: Spec | None = None,
    fmt: ReportFormat = "html",
) -> WrittenReport:
    """Assemble the month from the warehouse and write it to `out` (renamed into place)."""
    briefing = assemble_briefing(engine, month, spec=spec, owner=owner)
    html = render_html(briefing)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "pdf":
        with tempfile.TemporaryDirectory(prefix="bsc-report-") as folder:
            page = Path(folder) / f"{briefing.month}.html"
            page.write_text(html, encoding="utf-8")
            printed = Path(folder) / "report.pdf"
            print_pdf(page, printed)
            _replace(out, printed.read_bytes())
    else:
        _replace(out, html.encode("utf-8"))
    return WrittenReport(
        path=out,
        month=briefing.month,
        measures=len(briefing.measures),
        links=len(briefing.links),
        statuses=briefing.headline.counts,
    )


def _replace(target: Path, data: bytes) -> None:
    """Write under a temporary name and rename, so a mail or browser never gets half a page."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
