"""Personal data kept out of the side tables: masks for the columns a contract marks `pii: true`.

Quarantined rows, gate samples, parse rejects and source problems are read by more people than
the landing zone, so the values of personal columns are replaced there by a keyed hash
`pii:<first 12 hex of HMAC-SHA256>` (key from `BSC_PII_KEY`: equal values give equal masks, so an
engineer can still tell "the same person twice") or, without a key, by the placeholder `<pii>`.
The row stays traceable by file and line; the landing file keeps the real value.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from bsc_pipeline.sources.contracts import DatasetContract
    from bsc_pipeline.sources.mappings import Mapping

PII_KEY_ENV = "BSC_PII_KEY"
PLACEHOLDER = "<pii>"
_HEX_SHOWN = 12


def mask_value(value: Any, key: bytes | None = None) -> str | None:
    """The mask of one value; a missing value stays missing (emptiness is not personal)."""
    import pandas as pd  # here, not at the top: the quality suites read pii_columns without it

    if value is None or (not isinstance(value, str | bytes | list | tuple) and pd.isna(value)):
        return None
    secret = key if key is not None else _key()
    if not secret:
        return PLACEHOLDER
    digest = hmac.new(secret, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"pii:{digest[:_HEX_SHOWN]}"


def mask_series(values: pd.Series) -> pd.Series:
    """Every value masked, hashing each distinct value once."""
    import pandas as pd

    key = _key()
    distinct = {v: mask_value(v, key) for v in values.dropna().unique().tolist()}
    return pd.Series(
        [None if pd.isna(v) else distinct[v] for v in values.tolist()],
        index=values.index,
        dtype=object,
    )


def mask_columns(frame: pd.DataFrame, columns: Collection[str]) -> pd.DataFrame:
    """A copy of `frame` with the personal columns it has masked (the frame itself is untouched)."""
    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame
    masked = frame.copy()
    for column in present:
        masked[column] = mask_series(frame[column])
    return masked


def mask_line(
    text: str, names: Sequence[str], personal: Collection[str], delimiter: str, quote: str
) -> str:
    """A raw source line with the fields of personal source columns masked.

    A line whose field count does not match the header cannot be aligned with column names, so
    every field is masked: the reason (field counts) and file/line still say what went wrong.
    """
    if not personal:
        return text
    fields = next(csv.reader([text], delimiter=delimiter, quotechar=quote), [])
    key = _key()
    if len(fields) == len(names):
        shown = [
            (mask_value(f, key) or "") if name in personal and f != "" else f
            for name, f in zip(names, fields, strict=True)
        ]
    else:
        shown = [(mask_value(f, key) or "") if f != "" else f for f in fields]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quotechar=quote, lineterminator="").writerow(shown)
    return out.getvalue()


def pii_columns(contract: DatasetContract) -> frozenset[str]:
    """Canonical columns the contract marks as personal data."""
    return frozenset(name for name, column in contract.columns.items() if column.pii)


def pii_source_columns(contract: DatasetContract, mapping: Mapping) -> frozenset[str]:
    """Source columns holding personal data: those feeding a `pii` column, plus `mapping.pii`.

    A raw line is written in source column names (before mapping), so these are the names whose
    fields a rejected line must not show.
    """
    personal = pii_columns(contract)
    names = set(mapping.pii)
    column_map = mapping.column_map
    if column_map is None:
        return frozenset(names | personal)
    for canon in personal:
        spec = column_map.get(canon)
        if spec is not None:
            names.update(spec.from_ or [])
            names.update(spec.sources)
    return frozenset(names)


def _key() -> bytes | None:
    key = os.environ.get(PII_KEY_ENV)
    return key.encode("utf-8") if key else None
