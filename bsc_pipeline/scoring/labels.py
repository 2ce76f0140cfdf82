"""First-match labelling of rows, where a label may be null."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

Label = str | None | np.ndarray | pd.Series


def first_match(
    conditions: Sequence[np.ndarray | pd.Series], labels: Sequence[Label], default: Label
) -> np.ndarray:
    """Object array holding, per row, the label of the first true condition, else `default`."""
    size = len(conditions[0])
    chosen = np.asarray(np.broadcast_to(np.asarray(default, dtype=object), (size,))).copy()
    for condition, label in reversed(list(zip(conditions, labels, strict=True))):
        chosen = np.where(
            np.asarray(condition, dtype=bool), np.asarray(label, dtype=object), chosen
        )
    return chosen.astype(object)
