"""Samples and metadata survive `json.dumps` whatever pandas and numpy hand over."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from bsc_pipeline.quality.json_safe import json_safe


def test_scalars_become_plain_json():
    values = [
        np.int64(3),
        np.float64(2.5),
        np.bool_(True),
        np.nan,
        pd.NA,
        pd.NaT,
        None,
        np.inf,
        -np.inf,
        pd.Timestamp("2025-03-01"),
        np.datetime64("2025-03-02T10:00"),
    ]
    assert json_safe(values) == [
        3,
        2.5,
        True,
        None,
        None,
        None,
        None,
        "inf",
        "-inf",
        "2025-03-01T00:00:00",
        "2025-03-02T10:00:00",
    ]


def test_nested_structures_dump():
    payload = {"a": (np.int32(1), {"b": [math.nan, "x"]}), 5: np.array([1.5, 2.0])}
    safe = json_safe(payload)
    assert json.loads(json.dumps(safe)) == {"a": [1, {"b": [None, "x"]}], "5": [1.5, 2.0]}
