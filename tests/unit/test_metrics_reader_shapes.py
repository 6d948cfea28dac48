"""The metrics reader's pure parts: the period a window is drawn with, the window's bounds, the series' grid."""
from datetime import datetime, timezone

import pytest

from chalicelib.metrics.reader import MAX_POINTS, WindowStats, choose_period, grid, on_grid, window_bounds


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 6, hour, minute, second, tzinfo=timezone.utc)


def test_an_hour_is_drawn_minute_by_minute():
    assert choose_period(60) == 60


def test_a_day_is_drawn_with_a_period_that_keeps_the_series_within_its_points():
    period = choose_period(1440)
    assert 1440 * 60 / period <= MAX_POINTS
    assert period == 900


@pytest.mark.parametrize("minutes", [5, 59, 60, 61, 119, 120, 121, 240, 241, 599, 600, 1000, 1440])
def test_every_window_has_at_most_the_maximum_number_of_points(minutes):
    period = choose_period(minutes)
    start, end = window_bounds(at(13, 47, 12), minutes, period)
    assert len(grid(start, end, period)) <= MAX_POINTS + 1


def test_a_window_ends_after_the_current_period_and_spans_the_minutes_asked_for():
    start, end = window_bounds(at(13, 47, 12), 60, 60)
    assert (start, end) == (at(12, 48), at(13, 48))


def test_a_window_with_a_longer_period_starts_and_ends_on_its_boundaries():
    start, end = window_bounds(at(13, 47, 12), 1440, 900)
    assert end == at(14, 0)
    assert int(start.timestamp()) % 900 == 0
    assert (end - start).total_seconds() == 1440 * 60


def test_the_grid_holds_each_period_start_oldest_first():
    assert grid(at(13, 0), at(13, 3), 60) == [at(13, 0), at(13, 1), at(13, 2)]


def test_datapoints_land_on_their_period_and_missing_periods_take_the_fill():
    points = grid(at(13, 0), at(13, 4), 60)
    found = on_grid(points, [at(13, 2), at(13, 0)], [5.0, 3.0])
    assert found == [3.0, 0.0, 5.0, 0.0]
    assert on_grid(points, [at(13, 1)], [12.5], fill=None) == [None, 12.5, None, None]


def test_the_failure_rate_is_failures_over_requests_and_none_without_requests():
    assert WindowStats(40, 2, 5, 1, 0, None, None).failure_rate == 0.05
    assert WindowStats(0, 0, 0, 0, 0, None, None).failure_rate is None
