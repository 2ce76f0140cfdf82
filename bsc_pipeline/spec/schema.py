"""The JSON Schema of the spec, for editor completion and checks while typing.

Point an editor at it with a first line `# yaml-language-server: $schema=scorecard.schema.json`
in the spec file (VS Code YAML extension, JetBrains, Neovim yaml-ls).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.spec.models import Spec

SCHEMA_PATH = PROJECT_ROOT / "specs" / "scorecard.schema.json"
"""Where the committed schema lives; a test keeps it equal to a fresh export."""


def spec_json_schema() -> dict[str, Any]:
    """The spec models as a JSON Schema (draft 2020-12), with titles and descriptions."""
    schema = Spec.model_json_schema(mode="validation")
    for definition in schema.get("$defs", {}).values():
        kind = definition.get("properties", {}).get("kind", {})
        # Pydantic needs the tag to pick a union member even where the field has a default.
        if "const" in kind:
            definition["required"] = ["kind", *definition.get("required", [])]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "Balanced scorecard spec",
        "description": (
            "Perspectives, objectives, measures, owners, targets, thresholds, links and "
            "initiatives of one scorecard. Reference: docs/spec.md."
        ),
    }


def schema_text() -> str:
    """The schema as committed: two-space indent, a final newline, non-ASCII kept readable."""
    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the schema to `path` (through a temporary file, so readers never see half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(schema_text(), encoding="utf-8")
    temporary.replace(path)
    return path
