"""The monthly briefing book: the published scorecard as one self-contained HTML page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bsc_pipeline.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from bsc_pipeline.briefing.assemble import BriefingError, assemble_briefing
    from bsc_pipeline.briefing.model import Briefing
    from bsc_pipeline.briefing.render import render_html
    from bsc_pipeline.briefing.writing import report_path, write_report

# Importing the package costs nothing: each name loads its module on first use, so the
# `bsc` command line mounts this package's commands without pandas, SQLAlchemy or GX.
_EXPORTS = {
    "BriefingError": "assemble",
    "assemble_briefing": "assemble",
    "Briefing": "model",
    "render_html": "render",
    "report_path": "writing",
    "write_report": "writing",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "Briefing",
    "BriefingError",
    "assemble_briefing",
    "render_html",
    "report_path",
    "write_report",
]
