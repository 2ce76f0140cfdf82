"""A measure's definition as data, and its version: a hash of everything that sets its value.

The resolved definition holds the measure's own computing fields, its target and thresholds
(they set the published target and status), the same computing fields of every measure it reads
(numerator, denominator, formula names, `of`), the fiscal calendar, and the targets-file rows
for it. Names, owners, descriptions and display settings are left out: changing them moves no
number, so it must not look like a definition change.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsc_pipeline.measures.dependencies import MeasureGraph
from bsc_pipeline.spec.models import Measure, Spec

VERSION_LENGTH = 16
"""Hex digits of the SHA-256 kept as the version: short enough to read, never colliding here."""

_NOT_COMPUTING = frozenset(
    {
        "id",
        "name",
        "description",
        "objective",
        "owner",
        "unit",
        "lead_lag",
        "weight",
        "decimals",
        "valid_range",
    }
)
"""Fields that describe or place a measure without changing any number it publishes
(`valid_range` only refuses reported values at the gate)."""
_SCORING = frozenset({"direction", "review", "target", "thresholds"})
"""Fields that change a measure's own target and status, but not the value of what reads it."""


@dataclass(frozen=True)
class MeasureDefinition:
    """One measure's resolved definition, its version and the datasets it reads."""

    measure_id: str
    version: str
    definition: dict[str, Any]
    datasets: tuple[str, ...]
    spec_commit: str | None = None

    def text(self) -> str:
        """The definition as canonical JSON (sorted keys): what the version hashes."""
        return canonical_json(self.definition)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def measure_definitions(
    spec: Spec,
    *,
    spec_path: Path | None = None,
    targets_file: Path | None = None,
) -> dict[str, MeasureDefinition]:
    """Every measure of `spec` with its resolved definition and version.

    `spec_path` adds the spec file's git commit (none outside a repository); `targets_file`
    adds the finance targets rows of each measure to its definition.
    """
    graph = MeasureGraph.from_spec(spec)
    file_rows = _targets_rows(spec, targets_file)
    commit = spec_commit(spec_path) if spec_path is not None else None
    calendar = {"fiscal_year_start_month": spec.scorecard.fiscal_year_start_month}
    result = {}
    for measure in spec.measures:
        parts = _dependencies(graph, measure.id)
        definition = {
            "measure": _fields(measure, scoring=True),
            "depends_on": {d: _fields(graph.measures[d], scoring=False) for d in parts},
            "calendar": calendar,
            "targets_file": file_rows.get(measure.id, []),
        }
        result[measure.id] = MeasureDefinition(
            measure_id=measure.id,
            version=definition_version(definition),
            definition=definition,
            datasets=tuple(sorted(graph.sources(measure.id))),
            spec_commit=commit,
        )
    return result


def definition_version(definition: Mapping[str, Any]) -> str:
    """The first `VERSION_LENGTH` hex digits of the SHA-256 of the canonical JSON."""
    digest = hashlib.sha256(canonical_json(definition).encode("utf-8")).hexdigest()
    return digest[:VERSION_LENGTH]


def spec_commit(spec_path: Path) -> str | None:
    """The last git commit that touched the spec file; None outside a repository or without git.

    Never fails: the commit is a pointer for people, the hash is what decides a change.
    """
    path = Path(spec_path).resolve()
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def formula_text(definition: Mapping[str, Any]) -> str:
    """A one-line reading of how the measure is computed, from its resolved definition."""
    m = definition.get("measure", {})
    kind = m.get("kind")
    scale = m.get("scale", 1.0)
    times = "" if scale in (None, 1, 1.0) else f" × {_number(scale)}"
    if kind in ("base", "snapshot"):
        column = f"{m['source']}.{m['column']}" if m.get("column") else m["source"]
        where = " and ".join(_filter_text(f) for f in m.get("filters", []))
        text = f"{m['agg']}({column}{' where ' + where if where else ''})"
        if kind == "snapshot":
            text += f" active from {m['active_from']}" + (
                f" to {m['active_to']}" if m.get("active_to") else ""
            )
        return text + times
    if kind == "retention":
        where = " and ".join(_filter_text(f) for f in m.get("filters", []))
        rows = f"{m['source']}{' where ' + where if where else ''}"
        return (
            f"distinct {m['key']} of {rows} active in the period and the previous one"
            f" / those active in the previous one{times}"
        )
    if kind == "ratio":
        annual = " annualised" if m.get("annualise") else ""
        return f"sum({m['numerator']}) / sum({m['denominator']}){times}{annual}"
    if kind == "derived":
        return str(m["formula"])
    if kind == "change":
        return f"{m['change_as']} change of {m['of']} versus {m['versus'].replace('_', ' ')}"
    if kind == "manual":
        return f"reported by its owner each month ({m['aggregation']} over a longer period)"
    return canonical_json(m)


def _fields(measure: Measure, *, scoring: bool) -> dict[str, Any]:
    left_out = _NOT_COMPUTING if scoring else _NOT_COMPUTING | _SCORING
    return measure.model_dump(mode="json", exclude=set(left_out))


def _dependencies(graph: MeasureGraph, measure_id: str) -> list[str]:
    """Every measure `measure_id` reads, directly or through its parts, sorted."""
    seen: set[str] = set()
    stack = list(graph.inputs[measure_id])
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(graph.inputs[current])
    return sorted(seen)


def _targets_rows(spec: Spec, targets_file: Path | None) -> dict[str, list[dict[str, Any]]]:
    if targets_file is None or not Path(targets_file).exists():
        return {}
    from bsc_pipeline.measures.targets import read_targets_file

    rows: dict[str, list[dict[str, Any]]] = {}
    found = read_targets_file(Path(targets_file), {m.id for m in spec.measures})
    for (measure_id, period), row in sorted(found.items()):
        numbers = {k: (None if math.isnan(v) else v) for k, v in row.__dict__.items()}
        rows.setdefault(measure_id, []).append({"period": period, **numbers})
    return rows


def _filter_text(f: Mapping[str, Any]) -> str:
    if f.get("values") is not None:
        return f"{f['column']} {f['op']} {f['values']}"
    if f.get("op") in ("is_null", "not_null"):
        return f"{f['column']} {f['op']}"
    return f"{f['column']} {f.get('op', 'eq')} {f.get('value')!r}"


def _number(value: float) -> str:
    return f"{value:g}"
