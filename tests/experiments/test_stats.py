import pytest

from experiments.stats import difference_interval, wilson_interval


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", 81/263.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-5)
    assert high == pytest.approx(0.3662, abs=5e-5)


@pytest.mark.parametrize("successes,trials,expected", [
    (10, 100, (0.055229, 0.174366)),
    (0, 10, (0.0, 0.277533)),
    (10, 10, (0.722467, 1.0)),
    (1, 1, (0.206549, 1.0)),
])
def test_wilson_interval_exact_values(successes, trials, expected):
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=1e-6)


def test_wilson_interval_is_none_without_trials():
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize("successes,trials", [(-1, 10), (11, 10)])
def test_wilson_interval_refuses_impossible_counts(successes, trials):
    with pytest.raises(ValueError):
        wilson_interval(successes, trials)


@pytest.mark.parametrize("a,b,expected", [
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", method 10, examples (a) and (d).
    ((56, 70), (48, 80), (0.2, 0.0524, 0.3339)),
    ((9, 10), (3, 10), (0.6, 0.1705, 0.8090)),
])
def test_difference_interval_matches_newcombe(a, b, expected):
    assert difference_interval(*a, *b) == pytest.approx(expected, abs=5e-5)


def test_difference_interval_is_none_when_a_side_has_no_trials():
    assert difference_interval(3, 10, 0, 0) is None
