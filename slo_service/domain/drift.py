"""Input drift of one feature: a production batch against the reference it was trained on. Pure.

A numeric reference is cut into ``bins`` bins at its own quantiles ``1/bins .. (bins-1)/bins``,
so every bin holds about ``1/bins`` of the reference: PSI then compares like with like, and no
bin is a sliver whose noise dominates the sum, as with equal-width bins over a skewed feature.
Ties (a constant or few-valued feature) make quantiles coincide; duplicates are dropped, so there
may be fewer bins. Bin ``i`` is right-closed: ``(e[i-1], e[i]]``, the outer two open-ended, so a
batch value outside the reference's range still lands somewhere.

The KS test needs values, not bins, so a sample of the reference is kept as well: at most
``SAMPLE_SIZE`` values, which bounds the storage per feature and keeps the KS statistic within
about 0.01 of the full reference's (its sampling error is ~``1/sqrt(n)``).

PSI takes ``ln(q / p)``; an empty bin or a category seen on one side only would make that
infinite, so a proportion under ``EPSILON`` is raised to it. The proportions are not renormalised
after that: each moves by at most ``EPSILON``, and identical inputs still give exactly 0.
Rule of thumb: PSI < 0.1 is stable, 0.1-0.2 a moderate shift, > 0.2 a significant one. With 10
bins, a normal feature whose mean moves by 0.25, 0.5 and 1 standard deviation scores about 0.06,
0.24 and 0.93. The JS distance (base 2) lies in [0, 1] and needs no smoothing. Categorical
features get a chi-squared test of homogeneity instead of KS.

Every statistic returned is a plain Python float, ready to serialise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

from slo_service.domain.series import Floats

DEFAULT_BINS = 10
SAMPLE_SIZE = 10_000  # reference values kept per numeric feature for the KS test
EPSILON = 1e-4  # proportion given to an empty bin/category: PSI never divides by 0 or takes log(0)


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """What is kept of a numeric reference feature.

    ``edges``: interior bin edges, strictly increasing, at most ``bins - 1``; ``counts``: the
    reference count per bin, ``len(edges) + 1`` of them; ``sample``: the reference's values (all
    of them, or a uniform sample of ``SAMPLE_SIZE``), sorted; ``count``: non-null values.
    """

    edges: Floats
    counts: Floats
    sample: Floats
    count: int
    nulls: int


@dataclass(frozen=True)
class CategoricalProfile:
    """What is kept of a categorical reference feature: the frequency of each category."""

    counts: dict[str, int]
    count: int
    nulls: int


@dataclass(frozen=True)
class FeatureDrift:
    """One feature of one production batch against its reference. Statistics that do not apply
    to the feature's type, or cannot be computed (no non-null value in the batch), are None."""

    psi: float | None
    js_distance: float | None
    ks_statistic: float | None  # numeric only
    ks_pvalue: float | None  # numeric only
    chi2_statistic: float | None  # categorical only
    chi2_pvalue: float | None  # categorical only
    null_rate: float  # nulls / (count + nulls); 0.0 for an empty batch
    count: int  # non-null values in the batch
    nulls: int


def numeric_profile(
    values: Floats,
    nulls: int,
    *,
    bins: int = DEFAULT_BINS,
    sample_size: int = SAMPLE_SIZE,
    seed: int = 0,
) -> NumericProfile:
    """The profile of the non-null, finite ``values`` of a reference (callers drop nulls and
    reject NaN/inf). The sample is drawn with ``seed``, so a profile can be rebuilt exactly."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    if values.size <= sample_size:
        sample = np.sort(values)
    else:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(values, size=sample_size, replace=False))
    return NumericProfile(edges, bin_counts(edges, values), sample, int(values.size), nulls)


def categorical_profile(values: Sequence[str], nulls: int) -> CategoricalProfile:
    """The profile of the non-null category strings of a reference."""
    if len(values) == 0:
        raise ValueError("no values")
    # Counter beats np.unique here (~7 ms against ~45 ms for 100,000 strings): np.unique must
    # first copy the strings into a fixed-width array, then sort it.
    return CategoricalProfile(dict(Counter(values)), len(values), nulls)


def bin_counts(edges: Floats, values: Floats) -> Floats:
    """How many ``values`` fall in each bin (-inf, e0], (e0, e1], ..., (e_last, +inf)."""
    slots = np.searchsorted(edges, values, side="left")
    return np.bincount(slots, minlength=len(edges) + 1).astype(np.float64)


def _proportions(expected: Floats, actual: Floats) -> tuple[Floats, Floats]:
    """Both count vectors as proportions; ValueError unless they are comparable."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.shape != actual.shape:
        raise ValueError(f"shapes differ: {expected.shape} and {actual.shape}")
    expected_total, actual_total = float(expected.sum()), float(actual.sum())
    if expected_total <= 0 or actual_total <= 0:
        raise ValueError("counts must sum to more than 0")
    return expected / expected_total, actual / actual_total


def psi(expected: Floats, actual: Floats, *, epsilon: float = EPSILON) -> float:
    """Population stability index of two count vectors over the same bins, each proportion
    raised to at least ``epsilon`` (not renormalised). Always >= 0: each term's two factors
    share a sign."""
    p, q = _proportions(expected, actual)
    p, q = np.maximum(p, epsilon), np.maximum(q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(expected: Floats, actual: Floats) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of two count vectors over the same bins."""
    p, q = _proportions(expected, actual)
    # Rounding can leave the divergence a hair below 0, whose square root scipy returns as NaN
    # (with a warning): that is a distance of 0.
    with np.errstate(invalid="ignore"):
        result = float(distance.jensenshannon(p, q, base=2))
    return 0.0 if np.isnan(result) else min(max(result, 0.0), 1.0)


def _null_rate(count: int, nulls: int) -> float:
    rows = count + nulls
    return nulls / rows if rows > 0 else 0.0


def _no_values(nulls: int) -> FeatureDrift:
    """A batch without a non-null value: nothing to compare."""
    return FeatureDrift(None, None, None, None, None, None, _null_rate(0, nulls), 0, nulls)


def numeric_drift(profile: NumericProfile, values: Floats, nulls: int) -> FeatureDrift:
    """PSI and JS over the profile's bins, KS against its sample."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return _no_values(nulls)
    counts = bin_counts(profile.edges, values)
    ks = stats.ks_2samp(profile.sample, values)
    return FeatureDrift(
        psi=psi(profile.counts, counts),
        js_distance=js_distance(profile.counts, counts),
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        chi2_statistic=None,
        chi2_pvalue=None,
        null_rate=_null_rate(int(values.size), nulls),
        count=int(values.size),
        nulls=nulls,
    )


def _chi2(table: Floats) -> tuple[float, float]:
    """Chi-squared test of homogeneity of a 2 x k table, over its non-empty columns."""
    # scipy raises on a column of zeros (its expected frequency would be 0).
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        # One category: both rows are necessarily alike, with 0 degrees of freedom. scipy 1.17
        # answers the same; this does not rely on how a version treats 0 dof.
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def categorical_drift(
    profile: CategoricalProfile, values: Sequence[str], nulls: int
) -> FeatureDrift:
    """PSI, JS and chi-squared over the reference's categories plus any new in the batch."""
    if len(values) == 0:
        return _no_values(nulls)
    seen = Counter(values)
    # Sorted, so the same inputs always give the same vectors (and the same float sums).
    categories = sorted(profile.counts.keys() | seen.keys())
    expected = np.array([profile.counts.get(name, 0) for name in categories], dtype=np.float64)
    actual = np.array([seen.get(name, 0) for name in categories], dtype=np.float64)
    chi2_statistic, chi2_pvalue = _chi2(np.array([expected, actual]))
    return FeatureDrift(
        psi=psi(expected, actual),
        js_distance=js_distance(expected, actual),
        ks_statistic=None,
        ks_pvalue=None,
        chi2_statistic=chi2_statistic,
        chi2_pvalue=chi2_pvalue,
        null_rate=_null_rate(len(values), nulls),
        count=len(values),
        nulls=nulls,
    )
