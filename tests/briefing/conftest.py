"""The tiny company published through the real nightly job, a real headless Chromium, and a
small element tree (`Node`) of the DOM Chromium serialises, enough to ask what a reader sees.

The spec is the tiny company's with two hostile texts: Headcount is renamed to a script tag and
an initiative's name carries markup, so every test also reads how the page treats spec text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bsc_pipeline.settings import PROJECT_ROOT, Settings

TINY_COMPANY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
MONTHS = ("2025-01", "2025-02", "2025-03")
"""The tiny company's two months, and March, for which no extract arrived (every gate fails)."""
SCRIPT_NAME = "<script>alert(1)</script>"
INITIATIVE_NAME = 'Coaching <b>"fast"</b> & friendly'
INITIATIVES = f"""
initiatives:
  - id: coaching
    name: '{INITIATIVE_NAME}'
    owner: ops
    objective: fast_service
    budget: 12500
    start: 2025-01-01
    end: 2025-06-30
    status: active
"""


def hostile_spec(folder: Path) -> Path:
    text = (TINY_COMPANY / "spec.yaml").read_text(encoding="utf-8")
    text = text.replace("name: Headcount", f'name: "{SCRIPT_NAME}"', 1)
    path = folder / "spec.yaml"
    path.write_text(text + INITIATIVES, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, tiny_settings_at) -> Settings:
    """The tiny months run through the nightly job, which also writes each month's report."""
    from bsc_pipeline.defs import build_definitions
    from bsc_pipeline.defs.jobs import NIGHTLY_JOB

    work = tmp_path_factory.mktemp("briefing")
    settings = replace(tiny_settings_at(work), spec_path=hostile_spec(work))
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    for month in MONTHS:
        assert job.execute_in_process(partition_key=month).success, month
    return settings


@pytest.fixture(scope="session")
def chromium() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run Debian's chromium headless with a fresh profile; required in CI, skipped elsewhere."""
    if shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: `make chromium` installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from bsc_pipeline.briefing.pdf import chromium_command

    def run(*flags: str, profile: Path) -> subprocess.CompletedProcess[str]:
        command = chromium_command(f"--user-data-dir={profile}", *flags)
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    return run


@pytest.fixture(scope="session")
def rendered_dom(chromium, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Node]:
    """The DOM Chromium builds from a report file, as a reader's browser sees it."""

    def load(page: Path) -> Node:
        profile = tmp_path_factory.mktemp("profile")
        done = chromium("--dump-dom", page.resolve().as_uri(), profile=profile)
        assert done.returncode == 0, done.stderr[-2000:]
        return parse_dom(done.stdout)

    return load


VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text a reader sees, entities decoded, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements by tag and attributes: `data_measure="x"` matches `data-measure`, `""` any
        value, and `class_="x"` any element that has the class x among others."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.iter() if (tag is None or n.tag == tag) and n._matches(wanted)]

    def _matches(self, wanted: dict[str, str]) -> bool:
        for key, value in wanted.items():
            if key == "class":
                if not self.has_class(value):
                    return False
            elif key not in self.attrs or (value != "" and self.attrs[key] != value):
                return False
        return True

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag}> {attrs}, found {len(found)}"
        return found[0]

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_dom(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


@pytest.fixture(scope="session")
def hostile() -> dict[str, str]:
    """The texts planted in the spec: a measure name and an initiative name."""
    return {"measure": SCRIPT_NAME, "initiative": INITIATIVE_NAME}
