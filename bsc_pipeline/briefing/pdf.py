"""Printing the page to PDF with Debian's headless Chromium, which honours the print CSS."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "chromium"
PRINT_TIMEOUT_SECONDS = 120
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
"""No sandbox (CI runs as root); no update, sync or background traffic from the browser itself."""


class ChromiumMissingError(RuntimeError):
    """PDF output needs Chromium on the PATH."""


def chromium_path() -> str:
    found = shutil.which(CHROMIUM)
    if found is None:
        raise ChromiumMissingError(
            "PDF output needs Debian's chromium, which is not installed: run "
            "`apt-get install -y chromium` (or `make chromium`), or write HTML with --format html"
        )
    return found


def chromium_command(*flags: str) -> list[str]:
    """Chromium with the quiet flags and `flags`; the caller adds a fresh --user-data-dir."""
    return [chromium_path(), *QUIET_FLAGS, *flags]


def print_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print `html_path` to `pdf_path` in a throwaway browser profile."""
    pdf_path = pdf_path.resolve()
    with tempfile.TemporaryDirectory(prefix="bsc-chromium-") as profile:
        command = chromium_command(
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        )
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_SECONDS, check=False
        )
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise RuntimeError(
            f"chromium could not print {html_path} (exit {done.returncode}): {done.stderr[-500:]}"
        )
    return pdf_path
