"""Read a spec YAML file into `Spec`, keeping the line of every key for error messages.

Shape errors from pydantic are mapped back to `file:line`, the YAML path and a fix; every problem
is reported at once in one `SpecError`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bsc_pipeline.spec.models import Spec
from bsc_pipeline.spec.problems import PathKey, SpecError, SpecProblem, format_path, line_of

MAX_NODES = 100_000
"""Values in a spec once aliases are expanded; the demo scorecard has under a thousand."""

_KINDS = {
    "measures": "base, ratio, snapshot, derived or change",
    "target": "constant, range, prior_year_factor or budget",
}

MAX_SPEC_BYTES = 5_000_000
"""A scorecard is a few hundred lines; a bigger file is a mistake, not a spec."""


@dataclass(frozen=True)
class LoadedSpec:
    """A spec with where it came from and the line of every YAML path in it."""

    spec: Spec
    path: Path
    lines: Mapping[PathKey, int]


def load_spec(path: Path) -> Spec:
    """The spec at `path`; raises `SpecError` listing every shape problem with its line."""
    return read_spec(path).spec


def read_spec(path: Path) -> LoadedSpec:
    """Like `load_spec`, also returning the line map that `validate` uses for its messages."""
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(source, [_problem(None, (), "file too large", "split or trim it")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fix = "pass an existing file or set BSC_SPEC"
        raise SpecError(source, [_problem(None, (), "spec file not found", fix, source)]) from None
    except UnicodeDecodeError as exc:
        problem = _problem(None, (), f"not UTF-8 text ({exc.reason})", "save it as UTF-8", source)
        raise SpecError(source, [problem]) from None
    data, lines, problems = parse_yaml(text, source)
    if problems and data is None:
        raise SpecError(source, problems)
    spec, shape_problems = _to_spec(data, lines, source)
    problems += shape_problems
    if problems or spec is None:
        raise SpecError(source, problems)
    return LoadedSpec(spec=spec, path=path, lines=lines)


def resolve_targets_file(spec_path: Path, spec: Spec) -> Path | None:
    """The targets CSV named by the spec; a relative path is read from the spec's folder."""
    name = spec.scorecard.targets_file
    if name is None:
        return None
    target = Path(name).expanduser()
    return target if target.is_absolute() else Path(spec_path).parent / target


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no Python tags, nothing constructed but plain data)."""


def parse_yaml(
    text: str, source: str = "<spec>"
) -> tuple[Any, dict[PathKey, int], list[SpecProblem]]:
    """Plain data, the 1-based line of every path, and duplicate-key problems (YAML hides them)."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        message = f"not valid YAML: {exc.problem or exc.context}"
        fix = "check indentation, colons and quotes on this line or the one before"
        return None, {}, [_problem(line, (), message, fix, source)]
    except yaml.YAMLError as exc:
        return None, {}, [_problem(None, (), f"not valid YAML: {exc}", "fix the YAML", source)]
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {}
    problems: list[SpecProblem] = []
    if node is not None:
        lines[()] = node.start_mark.line + 1
        try:
            _record_lines(node, (), lines, problems, source)
        except _TooLarge:
            message = f"more than {MAX_NODES} values once aliases are expanded"
            fix = "write the blocks out instead of nesting YAML aliases (*name)"
            return None, {}, [_problem(None, (), message, fix, source)]
    return data, lines, problems


class _TooLarge(Exception):
    """Aliases can make a small file expand to billions of values ("billion laughs")."""


def _record_lines(
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, int],
    problems: list[SpecProblem],
    source: str,
) -> None:
    """Walk the composed node tree: a key's line for mappings, an item's first line for lists."""
    if len(lines) > MAX_NODES:
        raise _TooLarge
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                message = f"key '{key}' appears twice (lines {seen[key]} and {line})"
                fix = "keep one: YAML silently keeps only the last"
                problems.append(_problem(line, (*path, key), message, fix, source))
            seen[key] = line
            lines[(*path, key)] = line
            _record_lines(value_node, (*path, key), lines, problems, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines, problems, source)


def _to_spec(
    data: Any, lines: Mapping[PathKey, int], source: str
) -> tuple[Spec | None, list[SpecProblem]]:
    if not isinstance(data, dict):
        fix = "start the file with `scorecard:`, `owners:`, `perspectives:`, ... blocks"
        return None, [_problem(line_of((), lines), (), "the spec must be a mapping", fix, source)]
    try:
        return Spec.model_validate(data), []
    except ValidationError as exc:
        return None, [_from_pydantic(error, data, lines, source) for error in exc.errors()]


def _from_pydantic(error: Any, data: Any, lines: Mapping[PathKey, int], source: str) -> SpecProblem:
    """One pydantic error as a problem at the YAML path it concerns (union tags dropped)."""
    path = _yaml_path(tuple(error["loc"]), data)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    message = error["msg"]
    name = path[-1] if path else ""
    if kind == "missing":
        message = f"'{name}' is required"
        fix = f"add `{name}:` here"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1], data)
        message = f"unknown key '{name}'"
        close = difflib.get_close_matches(str(name), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        fix = f"{hint}allowed here: {', '.join(allowed)}" if allowed else "remove it"
    elif kind == "string_pattern_mismatch":
        message = f"{given!r} is not a valid value"
        if "YYYY" in str(ctx.get("pattern", "")) or r"\d{4}" in str(ctx.get("pattern", "")):
            fix = "write a month as YYYY-MM, e.g. 2025-04"
        else:
            fix = "use lower snake_case: a letter, then letters, digits or _ (max 63 characters)"
    elif kind in {"literal_error", "enum"}:
        message = f"{given!r} is not one of the allowed values"
        fix = f"use one of {ctx.get('expected', 'the listed values')}"
    elif kind == "union_tag_invalid":
        path = (*path, "kind")
        message = f"unknown kind {ctx.get('tag')!r}"
        fix = f"use one of {ctx.get('expected_tags')}"
    elif kind == "union_tag_not_found":
        block = next((part for part in reversed(path) if isinstance(part, str)), "")
        tags = _KINDS.get(block, "")
        message = "'kind' is required to tell which block this is"
        fix = f"add `kind:` ({tags})" if tags else "add `kind:`"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{given!r}: {message}"
        fix = "write a value of the expected type (quote text, leave numbers bare)"
    elif kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        message = f"{given!r}: {message}"
        fix = "change the value to fit the bound"
    else:
        fix = "see the spec reference in docs/spec.md"
    return _problem(line_of(path, lines), path, message, fix, source)


def _yaml_path(loc: tuple[Any, ...], data: Any) -> PathKey:
    """Drop the union tags pydantic puts in `loc` (e.g. 'ratio') by following the real data."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if _holds(current, part):
            current = current[part]
            path.append(part)
        elif isinstance(current, dict) and current.get("kind") == part:
            continue
        else:
            path.append(part if isinstance(part, int) else str(part))
            current = None
    return tuple(path)


def _holds(container: Any, part: Any) -> bool:
    if isinstance(container, list):
        return isinstance(part, int) and 0 <= part < len(container)
    return isinstance(container, dict) and part in container


def _allowed_keys(path: PathKey, data: Any) -> list[str]:
    """Field names of the model at `path`, found by following the model types along the data."""
    model: Any = Spec
    current = data
    for part in path:
        current = current[part] if _holds(current, part) else None
        model = _inner_model(_field_type(model, part), current)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _field_type(model: Any, part: str | int) -> Any:
    if isinstance(part, int):
        args = get_args(model)
        return args[0] if args else None
    if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
        return model.model_fields[part].annotation
    origin = get_origin(model)
    if origin is dict:
        return get_args(model)[1]
    return None


def _inner_model(annotation: Any, value: Any) -> Any:
    """Unwrap Optional/Annotated; pick the union member whose `kind` matches the data."""
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin in {typing.Union, types.UnionType}:
        members = [a for a in get_args(annotation) if a is not type(None)]
        kind = value.get("kind") if isinstance(value, dict) else None
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                field = member.model_fields.get("kind")
                if kind is None or (field is not None and field.default == kind):
                    return member
        return members[0] if len(members) == 1 else None
    return annotation


def _problem(
    line: int | None, path: PathKey, message: str, fix: str, source: str | None = None
) -> SpecProblem:
    return SpecProblem("error", line, format_path(path), message, fix, source)
