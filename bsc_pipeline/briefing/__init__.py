"""The monthly briefing book: the published scorecard as one self-contained HTML page."""

from bsc_pipeline.briefing.assemble import BriefingError, assemble_briefing
from bsc_pipeline.briefing.model import Briefing
from bsc_pipeline.briefing.render import render_html
from bsc_pipeline.briefing.writing import report_path, write_report

__all__ = [
    "Briefing",
    "BriefingError",
    "assemble_briefing",
    "render_html",
    "report_path",
    "write_report",
]
