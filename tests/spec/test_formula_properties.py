"""Property tests: parsing keeps the names, and vectorized evaluation equals scalar evaluation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bsc_pipeline.spec.formula import evaluate, parse_formula

NAMES = ["revenue", "cogs", "headcount", "x_1"]

leaf = st.one_of(
    st.sampled_from(NAMES),
    st.integers(min_value=0, max_value=1000).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(repr),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    call = st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=3))
    return st.one_of(
        binary,
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"abs({c})"),
        call.map(lambda t: f"{t[0]}({', '.join(t[1])})"),
    )


formulas = st.recursive(leaf, _extend, max_leaves=12)
values = st.one_of(st.floats(min_value=-1e6, max_value=1e6), st.just(0.0), st.just(math.nan))


@settings(max_examples=100, deadline=None)
@given(formulas)
def test_names_are_exactly_the_ids_written(text: str) -> None:
    formula = parse_formula(text)
    assert formula.names == {name for name in NAMES if name in text}
    assert parse_formula(formula.text).names == formula.names


@settings(max_examples=100, deadline=None)
@given(
    formulas, st.lists(st.fixed_dictionaries({n: values for n in NAMES}), min_size=1, max_size=5)
)
def test_series_evaluation_equals_row_by_row_scalars(
    text: str, rows: list[dict[str, float]]
) -> None:
    formula = parse_formula(text)
    frame = pd.DataFrame(rows)
    vector = evaluate(formula, {name: frame[name] for name in NAMES})
    scalars = [evaluate(formula, row) for row in rows]
    got = vector.to_numpy() if isinstance(vector, pd.Series) else np.full(len(rows), vector)
    assert not np.isinf(got).any()
    np.testing.assert_allclose(got, np.array(scalars, dtype="float64"), rtol=1e-9, equal_nan=True)
