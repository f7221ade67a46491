import math
import warnings
from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from slo_service.domain.drift import (
    EPSILON,
    SAMPLE_SIZE,
    CategoricalProfile,
    bin_counts,
    categorical_drift,
    categorical_profile,
    js_distance,
    numeric_drift,
    numeric_profile,
    psi,
)
from slo_service.domain.series import Floats

Draw = Callable[[np.random.Generator, int], Floats]


def normal(rng: np.random.Generator, n: int) -> Floats:
    return rng.normal(size=n)


def uniform(rng: np.random.Generator, n: int) -> Floats:
    return rng.uniform(-3, 7, size=n)


def exponential(rng: np.random.Generator, n: int) -> Floats:
    return rng.exponential(size=n)


def few_values(rng: np.random.Generator, n: int) -> Floats:
    return rng.integers(0, 4, size=n).astype(np.float64)


def constant(rng: np.random.Generator, n: int) -> Floats:
    return np.full(n, 2.5)


def population_psi(shift: float, bins: int = 10) -> float:
    """PSI of N(shift, 1) against N(0, 1) over N(0, 1)'s quantile edges, from the CDF alone."""
    edges = stats.norm.ppf(np.arange(1, bins) / bins)
    actual = np.diff(stats.norm.cdf(np.concatenate([[-np.inf], edges, [np.inf]]) - shift))
    expected = 1 / bins
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def counts_by_comparison(edges: Floats, values: Floats) -> Floats:
    """Bin counts by the documented convention, (lo, hi], one comparison per bin."""
    bounds = [-np.inf, *edges, np.inf]
    counts = [np.sum((values > lo) & (values <= hi)) for lo, hi in pairwise(bounds)]
    return np.array(counts, dtype=np.float64)


def repeat(frequencies: dict[str, int]) -> list[str]:
    return [name for name, times in frequencies.items() for _ in range(times)]


# --- profiles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draw", "size", "bins"),
    [
        (normal, 50_000, 10),
        (uniform, 20_000, 4),
        (exponential, 30_000, 2),
        (few_values, 5_000, 10),
        (constant, 100, 10),
        (normal, 3, 10),
        (normal, 25_000, 10),
    ],
    ids=["normal", "uniform-4-bins", "exponential-2-bins", "ties", "constant", "tiny", "sampled"],
)
def test_profile_shape(draw: Draw, size: int, bins: int) -> None:
    values = draw(np.random.default_rng(1), size)
    profile = numeric_profile(values, 7, bins=bins)
    assert profile.edges.size <= bins - 1
    assert np.all(np.diff(profile.edges) > 0)
    assert profile.counts.size == profile.edges.size + 1
    assert profile.counts.sum() == size
    assert (profile.count, profile.nulls) == (size, 7)
    assert profile.sample.size == min(size, SAMPLE_SIZE)
    assert np.all(np.diff(profile.sample) >= 0)
    assert np.all(np.isin(profile.sample, values))


@pytest.mark.parametrize(
    ("draw", "bins"),
    [(normal, 10), (uniform, 10), (exponential, 10), (normal, 5), (exponential, 20)],
    ids=["normal", "uniform", "exponential", "normal-5-bins", "exponential-20-bins"],
)
def test_profile_bins_hold_equal_shares_of_a_continuous_reference(draw: Draw, bins: int) -> None:
    profile = numeric_profile(draw(np.random.default_rng(2), 40_000), 0, bins=bins)
    assert profile.edges.size == bins - 1
    shares = profile.counts / profile.count
    assert np.all(np.abs(shares - 1 / bins) < 0.01)


def test_constant_reference_has_one_edge_and_everything_in_the_first_bin() -> None:
    profile = numeric_profile(np.full(1_000, -4.0), 0)
    assert profile.edges.tolist() == [-4.0]
    assert profile.counts.tolist() == [1_000.0, 0.0]


@pytest.mark.parametrize(
    ("size", "sample_size"),
    [(200_000, SAMPLE_SIZE), (5_000, 100), (SAMPLE_SIZE, SAMPLE_SIZE)],
    ids=["large", "small-sample-size", "exactly-sample-size"],
)
def test_sample_is_deterministic_for_a_seed(size: int, sample_size: int) -> None:
    values = np.random.default_rng(3).normal(size=size)
    first = numeric_profile(values, 0, sample_size=sample_size, seed=11).sample
    again = numeric_profile(values, 0, sample_size=sample_size, seed=11).sample
    other = numeric_profile(values, 0, sample_size=sample_size, seed=12).sample
    assert first.size == min(size, sample_size)
    assert np.array_equal(first, again)
    assert np.unique(first).size == first.size  # drawn without replacement
    # A sample smaller than the reference depends on the seed; the whole reference does not.
    assert np.array_equal(first, other) == (size <= sample_size)


@pytest.mark.parametrize(
    ("values", "bins"),
    [(np.zeros(0), 10), (np.ones(10), 1), (np.ones(10), 0)],
    ids=["empty", "one-bin", "no-bins"],
)
def test_numeric_profile_rejects(values: Floats, bins: int) -> None:
    with pytest.raises(ValueError, match=r"no values|bins"):
        numeric_profile(values, 0, bins=bins)


def test_categorical_profile() -> None:
    profile = categorical_profile(["b", "a", "b", "c", "b"], 2)
    assert profile == CategoricalProfile({"a": 1, "b": 3, "c": 1}, 5, 2)
    with pytest.raises(ValueError, match="no values"):
        categorical_profile([], 3)


# --- bins and the two distances ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("edges", "values", "expected"),
    [
        ([1.0, 2.0, 3.0], [0.0, 1.0, 1.5, 2.0, 3.0, 3.5], [2, 2, 1, 1]),
        ([1.0, 2.0, 3.0], [-100.0, 100.0], [1, 0, 0, 1]),
        ([0.0], [0.0, 0.0, 1e-300], [2, 1]),
        ([1.0, 2.0], [], [0, 0, 0]),
    ],
    ids=["on-edge-goes-left", "outside-the-range", "just-above-an-edge", "no-values"],
)
def test_bin_counts(edges: list[float], values: list[float], expected: list[int]) -> None:
    counts = bin_counts(np.array(edges), np.array(values, dtype=np.float64))
    assert counts.dtype == np.float64
    assert counts.tolist() == expected


@pytest.mark.parametrize(
    ("expected", "actual", "value"),
    [
        ([10, 20, 30], [10, 20, 30], 0.0),
        ([10, 20, 30], [1, 2, 3], 0.0),
        ([1, 1], [3, 1], (0.75 - 0.5) * math.log(1.5) + (0.25 - 0.5) * math.log(0.5)),
        (
            [10, 0, 5],
            [0, 7, 3],
            (EPSILON - 2 / 3) * math.log(EPSILON / (2 / 3))
            + (0.7 - EPSILON) * math.log(0.7 / EPSILON)
            + (0.3 - 1 / 3) * math.log(0.3 / (1 / 3)),
        ),
    ],
    ids=["identical", "proportional", "by-hand", "empty-bins-raised-to-epsilon"],
)
def test_psi_values(expected: list[float], actual: list[float], value: float) -> None:
    result = psi(np.array(expected, dtype=np.float64), np.array(actual, dtype=np.float64))
    assert type(result) is float
    assert result == pytest.approx(value, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [([1, 2], [1, 2, 3]), ([0, 0], [1, 2]), ([1, 2], [0, 0]), ([], [])],
    ids=["shapes-differ", "expected-empty", "actual-empty", "no-bins"],
)
@pytest.mark.parametrize("distance_of", [psi, js_distance], ids=["psi", "js"])
def test_distances_reject(
    distance_of: Callable[[Floats, Floats], float], expected: list[float], actual: list[float]
) -> None:
    with pytest.raises(ValueError, match=r"shapes|sum"):
        distance_of(np.array(expected, dtype=np.float64), np.array(actual, dtype=np.float64))


@pytest.mark.parametrize(
    ("draw", "shift", "scale"),
    [(normal, 0.0, 1.0), (normal, 0.5, 1.0), (exponential, 0.0, 3.0), (uniform, 20.0, 1.0)],
    ids=["same", "shifted", "stretched", "beyond-the-range"],
)
def test_js_distance_matches_scipy_on_independent_histograms(
    draw: Draw, shift: float, scale: float
) -> None:
    rng = np.random.default_rng(4)
    reference, batch = draw(rng, 20_000), draw(rng, 30_000) * scale + shift
    profile = numeric_profile(reference, 0)
    expected = counts_by_comparison(profile.edges, reference)
    actual = counts_by_comparison(profile.edges, batch)
    assert np.array_equal(profile.counts, expected)
    result = numeric_drift(profile, batch, 0).js_distance
    assert result == pytest.approx(float(distance.jensenshannon(expected, actual, base=2)))
    assert result is not None
    assert 0.0 <= result <= 1.0


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (
            [858830233, 558771769, 43249719, 767241024, 732358891],
            [858830233, 558771769, 43249719, 767241024, 732358892],
        ),
        (
            [38036474, 15299114, 133040443, 18201466, 673918170],
            [38036474, 15299114, 133040444, 18201466, 673918170],
        ),
        ([5, 7, 9], [5, 7, 9]),
    ],
    ids=["one-more-in-the-last-bin", "one-more-in-the-middle", "identical"],
)
def test_js_distance_of_near_identical_counts_is_not_nan(
    expected: list[float], actual: list[float]
) -> None:
    # The divergence rounds a hair below 0 for these, which scipy turns into NaN and a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = js_distance(
            np.array(expected, dtype=np.float64), np.array(actual, dtype=np.float64)
        )
    assert 0.0 <= result < 1e-6


@pytest.mark.parametrize(
    ("reference", "batch", "value"),
    [
        ({"a": 40, "b": 60}, {"a": 40, "b": 60}, 0.0),
        ({"a": 40, "b": 60}, {"a": 4, "b": 6}, 0.0),
        ({"a": 5}, {"b": 5}, 1.0),
        ({"a": 5, "b": 5}, {"c": 3}, 1.0),
    ],
    ids=["identical", "proportional", "disjoint", "disjoint-new-category"],
)
def test_categorical_js_distance_bounds(
    reference: dict[str, int], batch: dict[str, int], value: float
) -> None:
    drift = categorical_drift(categorical_profile(repeat(reference), 0), repeat(batch), 0)
    assert drift.js_distance == value


# --- numeric drift ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draw", "size"),
    [(normal, 5_000), (exponential, SAMPLE_SIZE), (few_values, 3_000), (constant, 50)],
    ids=["normal", "exponential", "ties", "constant"],
)
def test_identical_numeric_batch_does_not_drift(draw: Draw, size: int) -> None:
    values = draw(np.random.default_rng(5), size)
    drift = numeric_drift(numeric_profile(values, 0), values, 0)
    assert drift.psi == 0.0
    assert drift.js_distance == 0.0
    assert drift.ks_statistic == 0.0
    assert drift.ks_pvalue is not None
    assert drift.ks_pvalue > 0.99
    assert (drift.chi2_statistic, drift.chi2_pvalue) == (None, None)


@pytest.mark.parametrize(
    ("shift", "tolerance", "band"),
    [
        # Over 200 seeds the sample PSI's relative spread is 1.3% at 1 sigma and 2.6% at 0.5
        # sigma, so 10% is 4-7 spreads; at 0.25 sigma its spread is 0.003 absolute, so 0.015.
        (1.0, 0.1 * population_psi(1.0), (0.2, math.inf)),
        (0.5, 0.1 * population_psi(0.5), (0.2, math.inf)),
        (0.25, 0.015, (0.0, 0.1)),
    ],
    ids=["1-sigma-significant", "half-sigma-just-significant", "quarter-sigma-still-stable"],
)
def test_psi_of_a_mean_shift_matches_the_population_value(
    shift: float, tolerance: float, band: tuple[float, float]
) -> None:
    rng = np.random.default_rng(6)
    profile = numeric_profile(rng.normal(size=50_000), 0)
    result = numeric_drift(profile, rng.normal(shift, 1, size=50_000), 0).psi
    assert result == pytest.approx(population_psi(shift), abs=tolerance)
    assert result is not None
    assert band[0] < result < band[1]


@pytest.mark.parametrize(
    ("reference_size", "batch_size", "shift"),
    [(SAMPLE_SIZE, 20_000, 0.05), (500, 800, 0.0), (50, 70, 0.8), (2_000, 100_000, 0.2)],
    ids=["sample-size", "small-same", "tiny-exact-pvalue", "large-batch"],
)
def test_ks_is_scipy_when_the_reference_fits_in_the_sample(
    reference_size: int, batch_size: int, shift: float
) -> None:
    rng = np.random.default_rng(7)
    reference, batch = rng.normal(size=reference_size), rng.normal(shift, 1, size=batch_size)
    drift = numeric_drift(numeric_profile(reference, 0), batch, 0)
    expected = stats.ks_2samp(reference, batch)
    assert drift.ks_statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert drift.ks_pvalue == pytest.approx(float(expected.pvalue), rel=1e-9)
    assert type(drift.ks_statistic) is float
    assert type(drift.ks_pvalue) is float


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5], ids=["same", "small-shift", "large-shift"])
def test_ks_from_the_sample_is_close_to_the_full_reference(shift: float) -> None:
    rng = np.random.default_rng(8)
    reference, batch = rng.normal(size=200_000), rng.normal(shift, 1, size=100_000)
    drift = numeric_drift(numeric_profile(reference, 0), batch, 0)
    full = float(stats.ks_2samp(reference, batch).statistic)
    assert drift.ks_statistic == pytest.approx(full, abs=0.02)


# --- categorical drift ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "batch"),
    [
        ({"a": 30, "b": 50, "c": 20}, {"a": 30, "b": 50, "c": 20}),
        ({"a": 30, "b": 50, "c": 20}, {"a": 60, "b": 100, "c": 40}),
        ({"only": 12}, {"only": 3}),
    ],
    ids=["identical", "proportional", "one-category"],
)
def test_identical_categorical_frequencies_do_not_drift(
    reference: dict[str, int], batch: dict[str, int]
) -> None:
    drift = categorical_drift(categorical_profile(repeat(reference), 0), repeat(batch), 0)
    assert drift.psi == 0.0
    assert drift.chi2_statistic == pytest.approx(0.0, abs=1e-12)
    assert drift.chi2_pvalue == pytest.approx(1.0)
    assert (drift.ks_statistic, drift.ks_pvalue) == (None, None)


@pytest.mark.parametrize(
    ("reference", "batch"),
    [
        ({"a": 30, "b": 50, "c": 20}, {"a": 25, "b": 60, "c": 15}),
        ({"a": 30, "b": 50}, {"a": 25, "b": 60, "new": 9}),
        ({"a": 30, "b": 50, "gone": 20}, {"a": 25, "b": 60}),
        ({"x": 3, "gone": 4}, {"new": 5, "x": 1}),
        ({"a": 10, "b": 1}, {"a": 1, "b": 10}),
    ],
    ids=["same-categories", "new-category", "category-gone", "both", "two-categories"],
)
def test_chi2_is_scipy_on_the_table_built_by_hand(
    reference: dict[str, int], batch: dict[str, int]
) -> None:
    names = sorted({*reference, *batch})
    table = np.array([[reference.get(n, 0) for n in names], [batch.get(n, 0) for n in names]])
    expected = stats.chi2_contingency(table, correction=False)
    drift = categorical_drift(categorical_profile(repeat(reference), 0), repeat(batch), 0)
    assert drift.chi2_statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert drift.chi2_pvalue == pytest.approx(float(expected.pvalue), rel=1e-9)
    assert type(drift.chi2_statistic) is float
    assert type(drift.chi2_pvalue) is float


def test_chi2_leaves_out_a_category_empty_on_both_sides() -> None:
    profile = CategoricalProfile({"a": 30, "empty": 0, "b": 50}, 80, 0)
    drift = categorical_drift(profile, repeat({"a": 25, "b": 60}), 0)
    expected = stats.chi2_contingency(np.array([[30, 50], [25, 60]]), correction=False)
    assert drift.chi2_statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert drift.chi2_pvalue == pytest.approx(float(expected.pvalue), rel=1e-9)


# --- smoothing, nulls -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "batch",
    [np.full(1_000, -50.0), np.full(10, 50.0), np.array([0.0])],
    ids=["all-in-the-first-bin", "all-in-the-last-bin", "one-value"],
)
def test_a_batch_in_one_bin_gives_a_finite_psi_without_warnings(batch: Floats) -> None:
    profile = numeric_profile(np.random.default_rng(9).normal(size=10_000), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drift = numeric_drift(profile, batch, 0)
    assert drift.psi is not None
    assert math.isfinite(drift.psi)
    assert drift.psi > 0
    assert drift.js_distance is not None
    assert 0 < drift.js_distance <= 1


@pytest.mark.parametrize(
    ("reference", "batch"),
    [
        ({"a": 50, "b": 50}, {"a": 70}),
        ({"a": 50, "b": 50}, {"a": 40, "b": 40, "new": 20}),
        ({"a": 50, "gone": 50}, {"a": 40, "new": 60}),
    ],
    ids=["category-gone", "new-category", "both"],
)
def test_unseen_categories_give_a_finite_psi_without_warnings(
    reference: dict[str, int], batch: dict[str, int]
) -> None:
    profile = categorical_profile(repeat(reference), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drift = categorical_drift(profile, repeat(batch), 0)
    assert drift.psi is not None
    assert math.isfinite(drift.psi)
    assert drift.psi > 0.1


@pytest.mark.parametrize(
    ("values", "nulls", "null_rate"),
    [
        (np.array([1.0, 2.0, 3.0]), 1, 0.25),
        (np.array([1.0, 2.0, 3.0]), 0, 0.0),
        (np.zeros(0), 5, 1.0),
        (np.zeros(0), 0, 0.0),
    ],
    ids=["some-nulls", "no-nulls", "only-nulls", "empty-batch"],
)
def test_numeric_null_rate(values: Floats, nulls: int, null_rate: float) -> None:
    profile = numeric_profile(np.arange(100, dtype=np.float64), 0)
    drift = numeric_drift(profile, values, nulls)
    assert (drift.null_rate, drift.count, drift.nulls) == (null_rate, values.size, nulls)
    computed = (drift.psi, drift.js_distance, drift.ks_statistic, drift.ks_pvalue)
    assert all(stat is None for stat in computed) == (values.size == 0)
    assert (drift.chi2_statistic, drift.chi2_pvalue) == (None, None)


@pytest.mark.parametrize(
    ("values", "nulls", "null_rate"),
    [(["a", "b", "a"], 1, 0.25), (["a"], 0, 0.0), ([], 3, 1.0)],
    ids=["some-nulls", "no-nulls", "only-nulls"],
)
def test_categorical_null_rate(values: list[str], nulls: int, null_rate: float) -> None:
    drift = categorical_drift(categorical_profile(["a", "b"], 0), values, nulls)
    assert (drift.null_rate, drift.count, drift.nulls) == (null_rate, len(values), nulls)
    computed = (drift.psi, drift.js_distance, drift.chi2_statistic, drift.chi2_pvalue)
    assert all(stat is None for stat in computed) == (not values)
