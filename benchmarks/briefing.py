"""`python -m benchmarks.briefing`: how long one month's briefing book takes to write.

Times `bsc report`'s work (read the published views, assemble, render, write the HTML) in
process, `--repeat` times, and prints the quickest and the median against the one-second target
of issue 17. Without `--warehouse-url` it first publishes the tiny company's two months (plain
`Pipeline` steps, no Dagster) into a temporary folder and reports February 2025; with the demo
warehouse (`make demo`) pass its URL to time the demo month.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bsc_pipeline.briefing import assemble_briefing, render_html, write_report
from bsc_pipeline.briefing.writing import load_spec_if_present
from bsc_pipeline.settings import PROJECT_ROOT, Settings
from bsc_pipeline.warehouse.engine import make_engine

TARGET_SECONDS = 1.0
TINY_COMPANY = PROJECT_ROOT / "tests" / "e2e" / "tiny_company"
TINY_MONTHS = ("2025-01", "2025-02")


def publish_tiny_company(work: Path) -> Settings:
    """The tiny company's months run step by step into `work`, as the nightly job would."""
    from bsc_pipeline.pipeline import Pipeline

    settings = replace(
        Settings.from_env(),
        warehouse_url=f"sqlite:///{work / 'warehouse.db'}",
        landing_dir=TINY_COMPANY / "landing",
        lake_dir=work / "lake",
        spec_path=TINY_COMPANY / "spec.yaml",
        timezone="UTC",
        partitions_start="2024-01",
    )
    pipeline = Pipeline(settings)
    for month in TINY_MONTHS:
        for dataset in pipeline.datasets:
            pipeline.extract(dataset, month)
        for dataset in pipeline.datasets:
            pipeline.stage(dataset, month)
        pipeline.compute_measures(month)
        pipeline.score(month)
        pipeline.publish(month, run_id=f"bench-{month}")
    return settings


def time_report(settings: Settings, month: str, repeat: int, out: Path) -> dict[str, float]:
    """Seconds for the whole report and for its two halves, each the best of `repeat` runs."""
    engine = make_engine(settings.warehouse_url)
    spec = load_spec_if_present(settings)
    write_report(engine, month, out, spec=spec)  # warm: imports, template compile, SQLite pages
    totals, assembling, rendering = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        write_report(engine, month, out, spec=spec)
        totals.append(time.perf_counter() - start)
        start = time.perf_counter()
        briefing = assemble_briefing(engine, month, spec=spec)
        assembling.append(time.perf_counter() - start)
        start = time.perf_counter()
        render_html(briefing)
        rendering.append(time.perf_counter() - start)
    return {
        "best": min(totals),
        "median": statistics.median(totals),
        "assemble": min(assembling),
        "render": min(rendering),
        "bytes": float(out.stat().st_size),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.briefing", description=__doc__)
    parser.add_argument("--warehouse-url", help="a published warehouse; default the tiny company")
    parser.add_argument("--period", help="month YYYY-MM; default the latest complete month")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bsc-bench-briefing-") as folder:
        work = Path(folder)
        if args.warehouse_url:
            settings = replace(Settings.from_env(), warehouse_url=args.warehouse_url)
            source = args.warehouse_url
        else:
            settings = publish_tiny_company(work)
            source = "the tiny company (tests/e2e/tiny_company)"
        from bsc_pipeline.report import latest_complete_month

        month = args.period or latest_complete_month(settings)
        if month is None:
            raise SystemExit("nothing is published in that warehouse")
        figures = time_report(settings, month, args.repeat, work / "report.html")
    verdict = "meets" if figures["best"] < TARGET_SECONDS else "MISSES"
    print(f"briefing book for {month} from {source}, best of {args.repeat}:")
    print(
        f"  {figures['best']:.3f} s (median {figures['median']:.3f} s; assemble "
        f"{figures['assemble']:.3f} s, render {figures['render']:.3f} s), "
        f"{figures['bytes'] / 1024:.0f} KiB; {verdict} the {TARGET_SECONDS:.0f} s target"
    )


if __name__ == "__main__":
    main()
