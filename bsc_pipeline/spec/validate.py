"""Cross-reference checks of a spec: every problem at once, each with its line and a fix.

`check_spec` reads the spec file and the canonical contracts; `validate_spec` checks a spec
already in memory (lines are then unknown unless a line map is passed).
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bsc_pipeline.spec.formula import FormulaError, parse_formula
from bsc_pipeline.spec.loader import read_spec, resolve_targets_file
from bsc_pipeline.spec.models import (
    BaseMeasure,
    BudgetTarget,
    ChangeMeasure,
    DerivedMeasure,
    Filter,
    ManualMeasure,
    RangeTarget,
    RatioMeasure,
    RetentionMeasure,
    SnapshotMeasure,
    Spec,
    pattern_problem,
)
from bsc_pipeline.spec.problems import (
    PathKey,
    Severity,
    SpecError,
    SpecProblem,
    format_path,
    line_of,
)

MAX_OBJECTIVES = 15
"""Kaplan and Norton's rule of thumb: more objectives than this and nothing is strategic."""

UNITLESS_RATIO_UNITS = frozenset({"%", "ratio"})
TARGET_COLUMNS = ("measure_id", "period", "target")
OPTIONAL_TARGET_COLUMNS = ("target_high", "green", "amber")
PERIOD_LABEL = re.compile(
    r"^(\d{4}-(0[1-9]|1[0-2])|FY\d{4}(-Q[1-4]|-YTD)?|TTM-\d{4}-(0[1-9]|1[0-2]))$"
)


@dataclass(frozen=True)
class Dataset:
    """What a spec may reference of a canonical dataset."""

    columns: frozenset[str]
    month_column: str | None = None


def check_spec(spec_path: Path, contracts_path: Path) -> list[SpecProblem]:
    """Every problem of the spec file (shape, references, sources, targets file), errors first."""
    try:
        loaded = read_spec(spec_path)
    except SpecError as exc:
        return exc.problems
    datasets, contract_problems = read_contracts(contracts_path)
    problems = validate_spec(
        loaded.spec,
        datasets=datasets,
        lines=loaded.lines,
        source=str(spec_path),
        targets_path=resolve_targets_file(spec_path, loaded.spec),
    )
    return _ordered(contract_problems + problems)


def read_contracts(contracts_path: Path) -> tuple[dict[str, Dataset], list[SpecProblem]]:
    """Dataset names with their columns (declared plus computed) from `sources/contracts.yaml`."""
    source = str(contracts_path)
    fix = "set BSC_CONTRACTS to the canonical contracts file"
    try:
        raw = yaml.safe_load(Path(contracts_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, [SpecProblem("error", None, "", "contracts file not found", fix, source)]
    except yaml.YAMLError as exc:
        return {}, [SpecProblem("error", None, "", f"contracts not valid YAML: {exc}", fix, source)]
    blocks = raw.get("datasets") if isinstance(raw, dict) else None
    if not isinstance(blocks, dict):
        return {}, [SpecProblem("error", None, "", "contracts have no `datasets:`", fix, source)]
    datasets: dict[str, Dataset] = {}
    for name, block in blocks.items():
        block = block if isinstance(block, dict) else {}
        columns = set(block.get("columns") or {}) | set(block.get("computed") or {})
        datasets[str(name)] = Dataset(frozenset(map(str, columns)), block.get("month_column"))
    return datasets, []


def validate_spec(
    spec: Spec,
    *,
    datasets: Mapping[str, Dataset] | None = None,
    lines: Mapping[PathKey, int] | None = None,
    source: str | None = None,
    targets_path: Path | None = None,
) -> list[SpecProblem]:
    """Every cross-reference problem of an in-memory spec, errors first then warnings.

    `datasets` (from `read_contracts`) enables source and column checks; `targets_path` the
    targets-file checks.
    """
    checker = _Checker(spec, dict(lines or {}), source)
    checker.duplicates()
    checker.references()
    checker.measures()
    checker.formula_cycles()
    checker.link_cycles()
    checker.shape_warnings()
    if datasets is not None:
        checker.sources(datasets)
    if targets_path is not None:
        checker.targets_file(targets_path)
    checker.scored_measures(targets_path)
    return _ordered(checker.problems)


def _ordered(problems: Iterable[SpecProblem]) -> list[SpecProblem]:
    rank = {"error": 0, "warning": 1}
    indexed = list(enumerate(problems))
    indexed.sort(key=lambda item: (rank[item[1].severity], item[1].line or 0, item[0]))
    return [problem for _, problem in indexed]


@dataclass
class _Checker:
    spec: Spec
    lines: dict[PathKey, int]
    source: str | None
    problems: list[SpecProblem] = field(default_factory=list)
    in_targets_file: set[str] = field(default_factory=set)

    def add(self, severity: Severity, path: PathKey, message: str, fix: str) -> None:
        line = line_of(path, self.lines)
        self.problems.append(
            SpecProblem(severity, line, format_path(path), message, fix, self.source)
        )

    @property
    def measure_ids(self) -> set[str]:
        return {m.id for m in self.spec.measures}

    def unknown(self, path: PathKey, what: str, value: str, known: Iterable[str]) -> None:
        """An id that names nothing: suggest the closest known id."""
        known = sorted(set(known))
        close = difflib.get_close_matches(value, known, n=1)
        if close:
            fix = f"did you mean '{close[0]}'?"
        elif known:
            fix = f"use one of: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}"
        else:
            fix = f"declare the {what} first"
        self.add("error", path, f"unknown {what} '{value}'", fix)

    def duplicates(self) -> None:
        blocks: dict[str, Sequence[object]] = {
            "owners": self.spec.owners,
            "perspectives": self.spec.perspectives,
            "objectives": self.spec.objectives,
            "measures": self.spec.measures,
            "initiatives": self.spec.initiatives,
        }
        for block, items in blocks.items():
            first: dict[str, int] = {}
            for index, item in enumerate(items):
                item_id = str(getattr(item, "id", ""))
                if item_id in first:
                    earlier = line_of((block, first[item_id], "id"), self.lines)
                    where = f" (first at line {earlier})" if earlier else ""
                    message = f"{block[:-1]} id '{item_id}' is used twice{where}"
                    self.add("error", (block, index, "id"), message, "give each one its own id")
                else:
                    first[item_id] = index
        objective_ids = {o.id for o in self.spec.objectives}
        for index, measure in enumerate(self.spec.measures):
            if measure.id in objective_ids and any(
                measure.id in (link.driver, link.outcome) for link in self.spec.links
            ):
                message = f"'{measure.id}' is both an objective and a measure, and a link uses it"
                self.add("error", ("measures", index, "id"), message, "rename one of them")

    def references(self) -> None:
        spec = self.spec
        owners = {o.id for o in spec.owners}
        perspectives = {p.id for p in spec.perspectives}
        objectives = {o.id for o in spec.objectives}
        for i, objective in enumerate(spec.objectives):
            if objective.perspective not in perspectives:
                path = ("objectives", i, "perspective")
                self.unknown(path, "perspective", objective.perspective, perspectives)
        for i, measure in enumerate(spec.measures):
            if measure.objective is not None and measure.objective not in objectives:
                self.unknown(
                    ("measures", i, "objective"), "objective", measure.objective, objectives
                )
            if measure.owner is not None and measure.owner not in owners:
                self.unknown(("measures", i, "owner"), "owner", measure.owner, owners)
        nodes = self.measure_ids | objectives
        for i, link in enumerate(spec.links):
            for end in ("driver", "outcome"):
                value = getattr(link, end)
                if value not in nodes:
                    self.unknown(("links", i, end), "measure or objective", value, nodes)
        for i, initiative in enumerate(spec.initiatives):
            if initiative.owner not in owners:
                self.unknown(("initiatives", i, "owner"), "owner", initiative.owner, owners)
            if initiative.objective not in objectives:
                path = ("initiatives", i, "objective")
                self.unknown(path, "objective", initiative.objective, objectives)
            if initiative.start and initiative.end and initiative.end < initiative.start:
                message = f"ends ({initiative.end}) before it starts ({initiative.start})"
                self.add("error", ("initiatives", i, "end"), message, "swap or correct the dates")
        for name, ownership in spec.datasets.items():
            if ownership.owner not in owners:
                self.unknown(("datasets", name, "owner"), "owner", ownership.owner, owners)
        for key in ("fallback_owner", "engineers"):
            value = getattr(spec.alerts, key)
            if value is not None and value not in owners:
                self.unknown(("alerts", key), "owner", value, owners)

    def measures(self) -> None:
        """Per-measure rules: references to other measures, formulas, units, targets."""
        ids = self.measure_ids
        for i, measure in enumerate(self.spec.measures):
            if isinstance(measure, RatioMeasure):
                for end in ("numerator", "denominator"):
                    if getattr(measure, end) not in ids:
                        self.unknown(("measures", i, end), "measure", getattr(measure, end), ids)
                self.ratio_units(i, measure)
            elif isinstance(measure, ChangeMeasure) and measure.of not in ids:
                self.unknown(("measures", i, "of"), "measure", measure.of, ids)
            elif isinstance(measure, DerivedMeasure):
                self.formula(i, measure, ids)
            elif (
                isinstance(measure, BaseMeasure | SnapshotMeasure)
                and measure.agg != "count"
                and not measure.column
            ):
                message = f"agg '{measure.agg}' needs a column"
                self.add("error", ("measures", i, "agg"), message, "add `column:`")
            elif isinstance(measure, ManualMeasure) and measure.owner is None:
                message = f"manual measure '{measure.id}' has no owner to report it"
                self.add("error", ("measures", i, "kind"), message, "add `owner:`")
            if measure.valid_range is not None and measure.valid_range[0] > measure.valid_range[1]:
                message = f"valid_range {list(measure.valid_range)}: low is above high"
                self.add("error", ("measures", i, "valid_range"), message, "write [low, high]")
            for f_index, flt in enumerate(getattr(measure, "filters", [])):
                self.filter_shape(("measures", i, "filters", f_index), flt)
            self.target_shape(i)

    def ratio_units(self, index: int, measure: RatioMeasure) -> None:
        try:
            num = self.spec.measure(measure.numerator)
            den = self.spec.measure(measure.denominator)
        except KeyError:
            return
        if measure.unit in UNITLESS_RATIO_UNITS and num.unit != den.unit:
            message = (
                f"ratio in '{measure.unit}' of measures in different units: "
                f"'{num.id}' is {num.unit}, '{den.id}' is {den.unit}"
            )
            fix = "divide measures of the same unit, or give the ratio a unit such as EUR_per_head"
            self.add("error", ("measures", index, "unit"), message, fix)

    def formula(self, index: int, measure: DerivedMeasure, ids: set[str]) -> None:
        path: PathKey = ("measures", index, "formula")
        try:
            parsed = parse_formula(measure.formula)
        except FormulaError as exc:
            where = f" at column {exc.column}" if exc.column else ""
            message = f"formula {measure.formula!r}: {exc.reason}{where}"
            fix = "use only numbers, measure ids, + - * /, parentheses, min(), max(), abs()"
            self.add("error", path, message, fix)
            return
        for name in sorted(parsed.names - ids):
            self.unknown(path, "measure in formula", name, ids)

    def filter_shape(self, path: PathKey, flt: Filter) -> None:
        if flt.op in {"matches", "not_matches"}:
            problem = pattern_problem(flt.value)
            if problem:
                self.add("error", path, problem, "write a shorter, valid regular expression")
            return
        if flt.op in {"starts_with", "not_starts_with"}:
            prefixes = [flt.value] if flt.value is not None else (flt.values or [])
            if not prefixes or not all(isinstance(p, str) and p for p in prefixes):
                message = f"op '{flt.op}' needs a text prefix"
                self.add("error", path, message, 'add `value: "C"` (or `values: [...]`)')
            return
        if flt.op in {"in", "not_in"} and not flt.values:
            self.add("error", path, f"op '{flt.op}' needs a list", "add `values: [...]`")
        elif flt.op in {"is_null", "not_null"} and (flt.value is not None or flt.values):
            self.add("warning", path, f"op '{flt.op}' ignores value(s)", "remove value/values")
        elif flt.op not in {"in", "not_in", "is_null", "not_null"} and flt.value is None:
            fix = f"add `value:`, or use op is_null{'' if flt.values is None else ' or in'}"
            self.add("error", path, f"op '{flt.op}' needs a value", fix)

    def target_shape(self, index: int) -> None:
        measure = self.spec.measures[index]
        target = measure.target
        path: PathKey = ("measures", index, "target")
        if isinstance(target, RangeTarget) and target.low > target.high:
            message = f"range low {target.low} is above high {target.high}"
            self.add("error", path, message, "swap low and high")
        if measure.direction == "range" and target is not None:
            if not isinstance(target, RangeTarget):
                message = f"direction 'range' needs a range target, got '{target.kind}'"
                self.add("error", path, message, "use `target: {kind: range, low: .., high: ..}`")
        elif isinstance(target, RangeTarget):
            message = f"a range target on a measure with direction '{measure.direction}'"
            self.add("error", path, message, "set `direction: range`")
        if isinstance(target, BudgetTarget):
            for f_index, flt in enumerate(target.filters):
                self.filter_shape((*path, "filters", f_index), flt)
        starts = Counter(t.from_period for t in measure.thresholds)
        for t_index, bounds in enumerate(measure.thresholds):
            t_path: PathKey = ("measures", index, "thresholds", t_index)
            if starts[bounds.from_period] > 1:
                when = bounds.from_period or "always (no from_period)"
                message = f"two threshold sets start at the same time: {when}"
                self.add("error", t_path, message, "give each set a different from_period")
                starts[bounds.from_period] = 0
            if measure.direction == "higher" and bounds.amber > bounds.green:
                message = f"direction higher: amber {bounds.amber} is above green {bounds.green}"
                self.add("error", t_path, message, "amber must be at or below green")
            if measure.direction == "lower" and bounds.amber < bounds.green:
                message = (
                    f"direction lower: amber {bounds.amber} is below green {bounds.green}, "
                    "so no value can be amber"
                )
                fix = "set amber above green, e.g. `thresholds: [{green: 1.0, amber: 1.1}]`"
                self.add("warning", t_path, message, fix)

    def formula_cycles(self) -> None:
        """A derived, ratio or change measure that depends on itself cannot be computed."""
        graph = {m.id: _measure_inputs(m) for m in self.spec.measures}
        index = {m.id: i for i, m in enumerate(self.spec.measures)}
        for cycle in _cycles(graph):
            chain = " → ".join([*cycle, cycle[0]])
            path: PathKey = ("measures", index[cycle[0]])
            self.add(
                "error",
                path,
                f"measure '{cycle[0]}' depends on itself: {chain}",
                "break the loop: one of these must be a base or snapshot measure",
            )

    def link_cycles(self) -> None:
        graph: dict[str, set[str]] = {}
        first_link: dict[str, int] = {}
        for i, link in enumerate(self.spec.links):
            graph.setdefault(link.driver, set()).add(link.outcome)
            first_link.setdefault(link.driver, i)
        for cycle in _cycles(graph):
            chain = " → ".join([*cycle, cycle[0]])
            self.add(
                "warning",
                ("links", first_link.get(cycle[0], 0)),
                f"cause-and-effect links form a loop: {chain}",
                "a strategy map should flow one way; drop or reverse one link",
            )

    def shape_warnings(self) -> None:
        spec = self.spec
        if len(spec.objectives) > MAX_OBJECTIVES:
            message = f"{len(spec.objectives)} objectives (more than {MAX_OBJECTIVES})"
            fix = "keep the few that are strategic; move the rest to operational reports"
            self.add("warning", ("objectives",), message, fix)
        measured = {m.objective for m in spec.measures if m.objective}
        for i, objective in enumerate(spec.objectives):
            if objective.id not in measured:
                message = f"objective '{objective.id}' has no measure"
                fix = f"add a measure with `objective: {objective.id}`, or drop the objective"
                self.add("warning", ("objectives", i, "id"), message, fix)
        used = {o.perspective for o in spec.objectives}
        for i, perspective in enumerate(spec.perspectives):
            if perspective.id not in used:
                message = f"perspective '{perspective.id}' has no objective"
                self.add("warning", ("perspectives", i, "id"), message, "add an objective to it")

    def sources(self, datasets: Mapping[str, Dataset]) -> None:
        """Base, snapshot and retention measures read canonical datasets: names and columns must
        exist."""
        for name in self.spec.datasets:
            if name not in datasets:
                self.unknown(("datasets", name), "dataset", name, datasets)
        for i, measure in enumerate(self.spec.measures):
            if isinstance(measure, BaseMeasure | SnapshotMeasure | RetentionMeasure):
                self.measure_source(i, measure, datasets)
            if isinstance(measure.target, BudgetTarget) and "budget" in datasets:
                for f_index, flt in enumerate(measure.target.filters):
                    path = ("measures", i, "target", "filters", f_index, "column")
                    self.column(path, "budget", datasets["budget"], flt.column)

    def measure_source(
        self,
        index: int,
        measure: BaseMeasure | SnapshotMeasure | RetentionMeasure,
        datasets: Mapping[str, Dataset],
    ) -> None:
        dataset = datasets.get(measure.source)
        if dataset is None:
            self.unknown(("measures", index, "source"), "dataset", measure.source, datasets)
            return
        columns: list[tuple[str, str | None]] = []
        if isinstance(measure, RetentionMeasure):
            columns.append(("key", measure.key))
        else:
            columns.append(("column", measure.column))
        if isinstance(measure, BaseMeasure | RetentionMeasure):
            columns.append(("date_column", measure.date_column))
            if measure.date_column is None and dataset.month_column is None:
                message = f"dataset '{measure.source}' has no month column to place rows in months"
                fix = "add `date_column:` naming a date column of the dataset"
                self.add("error", ("measures", index, "source"), message, fix)
        else:
            columns += [("active_from", measure.active_from), ("active_to", measure.active_to)]
        for key, column in columns:
            if column is not None:
                self.column(("measures", index, key), measure.source, dataset, column)
        for f_index, flt in enumerate(measure.filters):
            path = ("measures", index, "filters", f_index, "column")
            self.column(path, measure.source, dataset, flt.column)

    def column(self, path: PathKey, name: str, dataset: Dataset, column: str) -> None:
        if column not in dataset.columns:
            self.unknown(path, f"column of {name}", column, dataset.columns)

    def targets_file(self, targets_path: Path) -> None:
        """Rows of the finance targets CSV must name known measures and periods."""
        where: PathKey = ("scorecard", "targets_file")
        try:
            text = targets_path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            fix = "create it, or fix the path (relative paths start at the spec's folder)"
            self.add("error", where, f"targets file {targets_path} not found", fix)
            return
        csv_name = str(targets_path)
        reader = csv.DictReader(text.splitlines())
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in TARGET_COLUMNS if c not in header]
        extra = [c for c in header if c not in TARGET_COLUMNS + OPTIONAL_TARGET_COLUMNS]
        if missing or extra:
            message = f"header missing {missing}" if missing else f"header has unknown {extra}"
            fix = "use the header measure_id,period,target[,target_high,green,amber]"
            self.problems.append(SpecProblem("error", 1, "", message, fix, csv_name))
            if missing:
                return
        seen: dict[tuple[str, str], int] = {}
        for row in reader:
            line = reader.line_num
            self.target_row(row, line, csv_name)
            key = ((row.get("measure_id") or "").strip(), (row.get("period") or "").strip())
            if key in seen:
                message = f"second target for {key[0]} {key[1]} (first at line {seen[key]})"
                fix = "keep one row per measure and period"
                self.problems.append(SpecProblem("error", line, "", message, fix, csv_name))
            seen.setdefault(key, line)

    def target_row(self, row: dict[str, str], line: int, csv_name: str) -> None:
        def problem(message: str, fix: str, column: str) -> None:
            self.problems.append(SpecProblem("error", line, column, message, fix, csv_name))

        ids = self.measure_ids
        measure_id = (row.get("measure_id") or "").strip()
        if measure_id not in ids:
            close = difflib.get_close_matches(measure_id, sorted(ids), n=1)
            fix = f"did you mean '{close[0]}'?" if close else "use a measure id from the spec"
            problem(f"unknown measure '{measure_id}'", fix, "measure_id")
        else:
            self.in_targets_file.add(measure_id)
        period = (row.get("period") or "").strip()
        if not PERIOD_LABEL.match(period):
            fix = "write YYYY-MM, FY2025-Q1, FY2025, FY2025-YTD or TTM-2025-03"
            problem(f"period '{period}' is not a period label", fix, "period")
        for column in ("target", *OPTIONAL_TARGET_COLUMNS):
            text = (row.get(column) or "").strip()
            if not text and column != "target":
                continue
            try:
                float(text)
            except ValueError:
                problem(f"{column} '{text}' is not a number", "write a plain number", column)

    def scored_measures(self, targets_path: Path | None) -> None:
        """A measure on the scorecard needs someone to answer for it and something to aim at."""
        for i, measure in enumerate(self.spec.measures):
            if measure.objective is None:
                continue
            path: PathKey = ("measures", i)
            if measure.owner is None:
                fix = "add `owner:` naming an owner id: someone must answer for a red measure"
                self.add("error", path, f"scored measure '{measure.id}' has no owner", fix)
            # With a targets file that was not read, a missing rule may well be in the file.
            unread = targets_path is None and self.spec.scorecard.targets_file is not None
            if measure.target is None and measure.id not in self.in_targets_file and not unread:
                place = " and is not in the targets file" if targets_path is not None else ""
                fix = "add `target:` or rows in the targets file (scorecard.targets_file)"
                self.add("error", path, f"scored measure '{measure.id}' has no target{place}", fix)
            if not measure.thresholds:
                fix = "remove `thresholds: []` to use the default, or give green and amber bounds"
                self.add("error", (*path, "thresholds"), "scored measure has no thresholds", fix)


def _measure_inputs(measure: object) -> set[str]:
    if isinstance(measure, RatioMeasure):
        return {measure.numerator, measure.denominator}
    if isinstance(measure, ChangeMeasure):
        return {measure.of}
    if isinstance(measure, DerivedMeasure):
        try:
            return set(parse_formula(measure.formula).names)
        except FormulaError:
            return set()
    return set()


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that loops (Tarjan, iterative)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    nodes = list(graph)
    for start in nodes:
        if start in order:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        order[start] = low[start] = len(order)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(iter(children), None)
            if child is not None:
                if child not in order:
                    order[child] = low[child] = len(order)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], order[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(_cycle_path(component, graph, nodes))
    return found


def _cycle_path(component: list[str], graph: Mapping[str, set[str]], order: list[str]) -> list[str]:
    """The shortest loop through the component from its first node in spec order (BFS)."""
    members = set(component)
    start = min(component, key=lambda n: order.index(n) if n in order else len(order))
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start]
