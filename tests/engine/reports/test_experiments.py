"""The experiment statistics reproduce the reports contract's test vectors."""

from __future__ import annotations

import math

import pytest

from engine.reports.experiments import chi_squared_upper, compare, gamma_upper, sample_ratio


def test_the_contracts_vectors_to_four_decimals() -> None:
    result = compare(100, 1000, 130, 1000, provisional=False)
    assert result.z == pytest.approx(2.1027, abs=5e-5)
    assert result.p_value == pytest.approx(0.0355, abs=5e-5)
    assert result.confidence == pytest.approx(0.9645, abs=5e-5)
    assert result.difference == pytest.approx(0.0300, abs=5e-5)
    assert result.difference_interval is not None
    assert result.difference_interval.low == pytest.approx(0.00207, abs=5e-6)
    assert result.difference_interval.high == pytest.approx(0.05793, abs=5e-6)
    assert result.relative_lift == pytest.approx(0.300, abs=5e-5)
    assert result.relative_lift_interval is not None
    assert result.relative_lift_interval.low == pytest.approx(-0.0192, abs=5e-5)
    assert result.relative_lift_interval.high == pytest.approx(0.6192, abs=5e-5)
    assert result.incremental_conversions == pytest.approx(30.0, abs=5e-5)
    assert result.significant


def test_sample_ratio_vector_is_not_flagged() -> None:
    check = sample_ratio([1000, 1060], [50, 50])
    assert check.chi_squared == pytest.approx(1.7476, abs=5e-5)
    assert check.p_value == pytest.approx(0.1862, abs=5e-5)
    assert check.degrees_of_freedom == 1
    assert not check.mismatch


def test_a_provisional_result_is_never_significant() -> None:
    assert not compare(100, 1000, 130, 1000, provisional=True).significant


def test_undefined_figures_are_none() -> None:
    empty = compare(0, 0, 5, 10, provisional=False)
    assert empty.z is None and empty.difference is None and not empty.significant
    no_base = compare(0, 100, 5, 100, provisional=False)
    assert no_base.relative_lift is None and no_base.z is not None
    none_converted = compare(0, 100, 0, 100, provisional=False)
    assert none_converted.z is None and none_converted.difference == 0


def test_three_arms_use_two_degrees_of_freedom() -> None:
    check = sample_ratio([500, 500, 1000], [1, 1, 2])
    assert check.chi_squared == 0 and check.p_value == 1.0 and check.degrees_of_freedom == 2
    skewed = sample_ratio([400, 600, 1000], [1, 1, 2])
    # chi-squared 40 with 2 degrees of freedom: the survival function is exp(-x/2).
    assert skewed.p_value == pytest.approx(math.exp(-20), rel=1e-9)
    assert skewed.mismatch


@pytest.mark.parametrize(
    ("x", "df", "expected"),
    [
        (3.841458820694124, 1, 0.05),
        (5.991464547107979, 2, 0.05),
        (7.814727903251178, 3, 0.05),
        (0.3518463, 3, 0.95),
        (23.20925, 10, 0.01),
    ],
)
def test_chi_squared_tail_matches_tabulated_quantiles(x: float, df: int, expected: float) -> None:
    assert chi_squared_upper(x, df) == pytest.approx(expected, rel=1e-5)


def test_gamma_series_and_fraction_meet() -> None:
    # Q(1, x) = exp(-x): both sides of the a + 1 switch.
    for x in (0.5, 1.99, 2.01, 8.0):
        assert gamma_upper(1.0, x) == pytest.approx(math.exp(-x), rel=1e-12)
