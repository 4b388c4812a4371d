import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from auditkit.manifest.models import fewest_draws
from auditkit.stats import Proportion, clopper_pearson, distribution_summary

# -- known values ------------------------------------------------------------------------------


def test_no_events_has_the_closed_form_upper_end():
    low, high = clopper_pearson(0, 10, 0.95)
    assert low == 0.0
    assert high == pytest.approx(1.0 - 0.025 ** (1 / 10), rel=1e-12)
    assert high == pytest.approx(0.30850, abs=5e-6)


def test_all_events_mirror_no_events():
    low, high = clopper_pearson(10, 10, 0.95)
    assert high == 1.0
    assert low == pytest.approx(0.025 ** (1 / 10), rel=1e-12)
    assert low == pytest.approx(0.69150, abs=5e-6)


def test_tabulated_interval_half_way():
    low, high = clopper_pearson(5, 10, 0.95)  # the textbook exact interval for 5/10
    assert low == pytest.approx(0.18709, abs=5e-5) and high == pytest.approx(0.81291, abs=5e-5)


def test_one_event_in_one_trial_at_ninety_percent():
    # k = n = 1: low solves low = α/2 exactly
    assert clopper_pearson(1, 1, 0.90) == (pytest.approx(0.05, rel=1e-12), 1.0)


def test_zero_in_two_hundred_is_below_the_default_max_probability():
    # the noise check's defaults: 200 harmless draws give an upper bound well under 0.05
    _, high = clopper_pearson(0, 200, 0.95)
    assert high == pytest.approx(1.0 - 0.025 ** (1 / 200), rel=1e-12)
    assert high < 0.05


# -- the defining property, against scipy's binomial -----------------------------------------


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 400), data=st.data(), confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_ends_are_where_the_one_sided_binomial_tails_equal_half_alpha(n, data, confidence):
    k = data.draw(st.integers(0, n))
    low, high = clopper_pearson(k, n, confidence)
    half_alpha = (1.0 - confidence) / 2.0
    assert 0.0 <= low <= k / n <= high <= 1.0
    if k < n:
        assert binom.cdf(k, n, high) == pytest.approx(half_alpha, rel=1e-6, abs=1e-12)
    if k > 0:
        assert binom.sf(k - 1, n, low) == pytest.approx(half_alpha, rel=1e-6, abs=1e-12)


def test_higher_confidence_gives_a_wider_interval():
    narrow, wide = clopper_pearson(7, 50, 0.9), clopper_pearson(7, 50, 0.99)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


def test_coverage_is_at_least_the_confidence():
    # exact coverage at p: sum of binomial probabilities of the k whose interval contains p
    n, confidence = 40, 0.95
    intervals = [clopper_pearson(k, n, confidence) for k in range(n + 1)]
    for p in np.linspace(0.01, 0.99, 37):
        covered = sum(binom.pmf(k, n, p) for k, (lo, hi) in enumerate(intervals) if lo <= p <= hi)
        assert covered >= confidence - 1e-12


@pytest.mark.parametrize(
    "k, n, confidence, message",
    [(-1, 10, 0.95, "k:"), (11, 10, 0.95, "k:"), (1, 0, 0.95, "n:"), (1.5, 10, 0.95, "k:"), (1, 10, 1.0, "confidence:"),
     (True, 10, 0.95, "k:")],
)
def test_bad_arguments_are_named(k, n, confidence, message):
    with pytest.raises(ValueError, match=message):
        clopper_pearson(k, n, confidence)


# -- Proportion and distribution summaries -----------------------------------------------------


def test_proportion_from_flags():
    p = Proportion.of_flags(np.array([True, False, False, True]), 0.95)
    assert (p.events, p.trials, p.estimate) == (2, 4, 0.5)
    assert (p.ci_low, p.ci_high) == clopper_pearson(2, 4, 0.95)
    assert p.as_dict() == {
        "probability": 0.5, "ci_low": p.ci_low, "ci_high": p.ci_high, "events": 2, "trials": 4, "confidence": 0.95,
    }


def test_distribution_summary():
    s = distribution_summary(np.arange(101, dtype=float))
    assert s == {"p5": 5.0, "p50": 50.0, "p95": 95.0, "mean": 50.0, "max": 100.0}
    with pytest.raises(ValueError, match="NaN"):
        distribution_summary([1.0, float("nan")])
    with pytest.raises(ValueError, match="at least one"):
        distribution_summary([])


@pytest.mark.parametrize("max_probability, confidence, expected", [(0.05, 0.95, 72), (0.01, 0.95, 368), (0.1, 0.9, 29)])
def test_fewest_trials_that_can_show_a_bound(max_probability, confidence, expected):
    n = fewest_draws(max_probability, confidence)
    assert n == expected
    assert clopper_pearson(0, n, confidence)[1] <= max_probability < clopper_pearson(0, n - 1, confidence)[1]


def test_fewest_trials_edge_cases():
    assert fewest_draws(0.0, 0.95) is None
    assert fewest_draws(1.0, 0.95) == 1


def test_spread_is_population_statistics():
    from auditkit.stats import spread

    s = spread([1.0, 2.0, 3.0, 4.0])
    assert s == {"mean": 2.5, "std": pytest.approx(1.118033988749895), "min": 1.0, "max": 4.0}


def test_mean_interval_is_the_student_t_interval():
    from scipy import stats as sps

    from auditkit.stats import mean_interval

    values = [0.1, 0.2, 0.4, 0.3]
    low, high = mean_interval(values)
    expected = sps.t.interval(0.95, 3, loc=np.mean(values), scale=sps.sem(values))
    assert low == pytest.approx(expected[0]) and high == pytest.approx(expected[1])
    assert mean_interval([0.5]) is None
