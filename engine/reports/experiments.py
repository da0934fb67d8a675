"""The statistics of a journey experiment (a ``split`` with variants and a holdout).

Pure functions over per-arm counts, standard library only, as the reports contract
defines them: the pooled two-proportion z test with its two-sided p-value, the
unpooled 95 % interval of the difference, the relative lift with a delta-method
interval, incremental conversions and the sample-ratio chi-squared test against the
configured weights (any number of arms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field

#: The two-sided 95 % quantile of the standard normal distribution.
Z95 = 1.959963984540054
#: Below this p-value the arms' sizes disagree with the weights: the split is suspect.
SAMPLE_RATIO_ALPHA = 0.001
SIGNIFICANCE_ALPHA = 0.05


class Interval(BaseModel):
    """A 95 % confidence interval."""

    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")


class Comparison(BaseModel):
    """One arm against the control; None where a figure is undefined (an empty arm,
    a control rate of 0 for the lift, no variance for the z test)."""

    difference: float | None = Field(description="p1 - p0, absolute")
    difference_interval: Interval | None = Field(description="95 %, unpooled standard error")
    z: float | None = Field(description="pooled two-proportion z statistic")
    p_value: float | None = Field(description="two-sided p-value of the pooled z test")
    confidence: float | None = Field(description="1 - p_value")
    relative_lift: float | None = Field(description="(p1 - p0) / p0")
    relative_lift_interval: Interval | None = Field(
        description="95 %, delta method; for information"
    )
    incremental_conversions: float | None = Field(description="(p1 - p0) x n1")
    significant: bool = Field(description="p_value < 0.05 and the result is not provisional")


class SampleRatio(BaseModel):
    """The arms' sizes against their configured weights."""

    chi_squared: float | None = Field(description="Pearson's chi-squared; None without entrants")
    degrees_of_freedom: int = Field(description="arms - 1")
    p_value: float | None = Field(description="upper tail of the chi-squared distribution")
    mismatch: bool = Field(description="p_value < 0.001: the split is not as configured")


def rate(converted: int, entered: int) -> float | None:
    """``converted / entered``; None for an empty arm."""
    return converted / entered if entered else None


def normal_two_sided(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def compare(c0: int, n0: int, c1: int, n1: int, *, provisional: bool) -> Comparison:
    """Arm 1 (``c1`` of ``n1`` converted) against the control (``c0`` of ``n0``)."""
    if n0 == 0 or n1 == 0:
        return Comparison(
            difference=None,
            difference_interval=None,
            z=None,
            p_value=None,
            confidence=None,
            relative_lift=None,
            relative_lift_interval=None,
            incremental_conversions=None,
            significant=False,
        )
    p0, p1 = c0 / n0, c1 / n1
    diff = p1 - p0
    se = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    pooled = (c0 + c1) / (n0 + n1)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    # Both arms all-converted or none-converted: no variance, no test to run.
    z = diff / pooled_se if pooled_se > 0 else None
    p_value = normal_two_sided(z) if z is not None else None
    lift = lift_interval = None
    if p0 > 0:
        lift = diff / p0
        variance = p0 * (1 - p0) * p1**2 / (p0**4 * n0) + p1 * (1 - p1) / (p0**2 * n1)
        half = Z95 * math.sqrt(variance)
        lift_interval = Interval(low=lift - half, high=lift + half)
    return Comparison(
        difference=diff,
        difference_interval=Interval(low=diff - Z95 * se, high=diff + Z95 * se),
        z=z,
        p_value=p_value,
        confidence=None if p_value is None else 1 - p_value,
        relative_lift=lift,
        relative_lift_interval=lift_interval,
        incremental_conversions=diff * n1,
        significant=p_value is not None and p_value < SIGNIFICANCE_ALPHA and not provisional,
    )


def sample_ratio(sizes: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Pearson's chi-squared of the arms' ``sizes`` against their configured ``weights``."""
    if len(sizes) != len(weights):
        raise ValueError(f"{len(sizes)} arm sizes for {len(weights)} weights")
    df = max(len(sizes) - 1, 0)
    total, weight = sum(sizes), sum(weights)
    if total == 0 or df == 0:
        return SampleRatio(chi_squared=None, degrees_of_freedom=df, p_value=None, mismatch=False)
    expected = [total * w / weight for w in weights]
    chi2 = sum((n - e) ** 2 / e for n, e in zip(sizes, expected, strict=True))
    p_value = chi_squared_upper(chi2, df)
    return SampleRatio(
        chi_squared=chi2,
        degrees_of_freedom=df,
        p_value=p_value,
        mismatch=p_value < SAMPLE_RATIO_ALPHA,
    )


def chi_squared_upper(x: float, df: int) -> float:
    """P(X >= x) for X chi-squared with ``df`` degrees of freedom."""
    if x <= 0:
        return 1.0
    if df == 1:
        return math.erfc(math.sqrt(x / 2.0))
    return gamma_upper(df / 2.0, x / 2.0)


def gamma_upper(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x): the series below
    ``a + 1``, where it converges fast, the continued fraction above it."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        return 1.0 - math.exp(log_front) * _gamma_series(a, x)
    return math.exp(log_front) * _gamma_fraction(a, x)


def _gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(1000):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total


def _gamma_fraction(a: float, x: float) -> float:
    # Lentz's method for the continued fraction of Q(a, x) / (x^a e^-x / Gamma(a)).
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return h
