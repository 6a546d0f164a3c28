"""The rate statistics against known values (sample-size rule, Wilson interval, exact zero bound)."""

from __future__ import annotations

import pytest

from contract_tests.rates import Rate, percentile, sample_size, wilson, window_text, zero_upper_bound


@pytest.mark.parametrize(("rate", "n"), [(0.01, 299), (0.05, 59), (0.1, 29), (0.5, 5), (0.001, 2995)])
def test_sample_size_is_the_smallest_n_whose_zero_misses_bound_the_rate(rate: float, n: int) -> None:
    assert sample_size(rate) == n
    assert (1 - rate) ** n <= 0.05 < (1 - rate) ** (n - 1)


def test_zero_of_n_bound_is_the_exact_one_sided_bound() -> None:
    assert zero_upper_bound(299) == pytest.approx(0.009970, abs=1e-5)
    assert zero_upper_bound(100) == pytest.approx(0.029513, abs=1e-5)  # the "about 3/n" rule
    assert zero_upper_bound(0) == 1.0


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), table I: 81 of 263 -> 0.2553 to 0.3662; 15 of 148 -> 0.0624 to 0.1605
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson(0, 10)[0] == 0.0


def test_rate_texts_state_the_sample_size_and_the_bound() -> None:
    assert Rate(0, 299).text() == "0 of 299 (below 1.0 % at 95 % confidence)"
    assert Rate(3, 299).text().startswith("3 of 299 (1.0 %; 95 % interval ")
    assert Rate(0, 0).text() == "0 of 0 (nothing measured)"
    assert Rate(2, 10).as_json()["k"] == 2


def test_window_gives_median_p95_and_max() -> None:
    lags = [float(v) for v in range(1, 21)]
    assert percentile(lags, 0.95) == 19.0
    assert window_text(lags) == "window median 10.5 ms, p95 19.0 ms, max 20.0 ms"
    assert window_text([]) == ""


def test_far_deployments_get_more_lanes_and_loopback_keeps_the_quiet_minimum() -> None:
    from contract_tests.measure import LANES, MAX_LANES, lanes_for

    assert lanes_for(0.003, 299) == LANES  # loopback: a sample takes a few ms
    assert lanes_for(0.05, 299) == 20  # 299 x 50 ms in about SHAPE_SECONDS (0.75 s)
    assert lanes_for(0.25, 299) == MAX_LANES  # 120 ms an answer
