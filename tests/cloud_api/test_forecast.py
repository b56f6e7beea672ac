"""The forecast (SPEC 7.2, docs/decisions.md "Forecast") on constructed histories, and as
``GET /enterprise/licenses`` serves it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.cloud_api.domain.ingest import history_points
from services.cloud_api.domain.reporting.forecast import forecast
from tests.builders import auth, connect, licenses, new_enterprise, push, report
from tests.conftest import OPERATOR_TOKEN

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
WEEK = timedelta(weeks=1)


def weekly(figures: list[int]) -> list[tuple[datetime, int]]:
    return [(START + WEEK * n, figure) for n, figure in enumerate(figures)]


def run(figures: list[int], seats: int) -> Any:
    points = weekly(figures)
    return forecast(points, seats, points[0][0])


def test_linear_growth_reaches_the_seats_when_the_line_does() -> None:
    result = run([100 + 10 * week for week in range(13)], seats=300)  # 220 after 12 weeks

    assert result.per_week == 10
    assert result.weeks_observed == 12
    assert result.seats_exhausted_on == (START + WEEK * 12 + WEEK * 8).date()


def test_a_one_off_step_is_not_a_trend() -> None:
    result = run([100] * 8 + [180] * 5, seats=300)  # an acquisition imported in one go

    assert result.per_week == 0
    assert result.seats_exhausted_on is None


def test_noise_around_growth_keeps_the_trend() -> None:
    rng = random.Random(7)
    figures = [1000 + 20 * week + rng.randint(-6, 6) for week in range(13)]

    result = run(figures, seats=2000)

    assert result.per_week is not None
    assert 15 <= result.per_week <= 25  # 20 a week, weekly noise of up to 12
    weeks_left = (2000 - figures[-1]) / result.per_week
    assert result.seats_exhausted_on == (START + WEEK * 12 + WEEK * weeks_left).date()


def test_decline_and_flat_have_no_date() -> None:
    falling = run([300 - 5 * week for week in range(13)], seats=400)
    flat = run([300] * 13, seats=400)

    assert falling.per_week == -5
    assert falling.seats_exhausted_on is None
    assert (flat.per_week, flat.seats_exhausted_on) == (0, None)


def test_too_little_history_has_no_date() -> None:
    one_entry = run([100], seats=200)
    two_weeks = run([100, 110, 120], seats=200)

    assert (one_entry.seats_exhausted_on, one_entry.per_week, one_entry.weeks_observed) == (
        None,
        None,
        0,
    )
    assert (two_weeks.seats_exhausted_on, two_weeks.per_week, two_weeks.weeks_observed) == (
        None,
        10,
        2,
    )


def test_only_the_last_twelve_weeks_count() -> None:
    # Fast growth long ago, slow growth lately: the recent trend decides.
    figures = [10 * week for week in range(20)] + [190 + 2 * week for week in range(1, 13)]

    result = run(figures, seats=1000)

    assert (result.per_week, result.weeks_observed) == (2, 12)


def test_entries_between_weeks_are_the_figure_in_force() -> None:
    # Several instances report on different days: the figure is sampled weekly.
    points = [(START + timedelta(days=day), 100 + day) for day in range(0, 29)]

    result = forecast(points, 1000, START)

    assert (result.per_week, result.weeks_observed) == (7, 4)


def test_already_over_the_seats_names_the_day_it_got_there() -> None:
    points = weekly([90, 95, 101, 99, 103, 110])

    result = forecast(points, 100, START, reached_at=points[4][0])

    assert result.seats_exhausted_on == points[4][0].date()


def test_a_trend_too_slow_for_ten_years_has_no_date() -> None:
    assert run([100 + week % 2 for week in range(13)], seats=100_000).seats_exhausted_on is None


# -- through the API ------------------------------------------------------------------------


@pytest.fixture
def weeks(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Each history entry is recorded a week after the one before."""
    times: list[datetime] = []

    def next_week() -> datetime:
        times.append(START + WEEK * len(times))
        return times[-1]

    monkeypatch.setattr(history_points, "utcnow", next_week)
    return times


async def test_the_summary_carries_the_forecast_and_follows_seats_and_entries(
    cloud: httpx.AsyncClient, weeks: list[datetime]
) -> None:
    owner = await new_enterprise(cloud, seats=20)
    token = await connect(cloud, owner)
    for sequence in range(1, 6):  # 2, 4, 6, 8, 10 persons, a week apart
        users = [(n, f"u{n}@example.com") for n in range(1, 2 * sequence + 1)]
        assert (await push(cloud, token, report(users, sequence=sequence))).status_code == 201

    first = (await licenses(cloud, owner))["forecast"]
    await _seats(cloud, 30)
    more_seats = (await licenses(cloud, owner))["forecast"]
    await push(cloud, token, report([(n, f"u{n}@example.com") for n in range(1, 13)], sequence=6))
    later = (await licenses(cloud, owner))["forecast"]

    assert first == {
        "seats_exhausted_on": (weeks[4] + WEEK * 5).date().isoformat(),
        "per_week": 2.0,
        "weeks_observed": 4,
    }
    assert more_seats["seats_exhausted_on"] == (weeks[4] + WEEK * 10).date().isoformat()
    assert later["seats_exhausted_on"] == (weeks[5] + WEEK * 9).date().isoformat()
    assert later["weeks_observed"] == 5
    listed = await licenses(cloud, owner, include="users")
    assert listed["forecast"] == later
    assert date.fromisoformat(later["seats_exhausted_on"]) > weeks[5].date()


async def _seats(cloud: httpx.AsyncClient, seats: int) -> None:
    response = await cloud.patch(
        "/admin/enterprises/acme", json={"seats_purchased": seats}, headers=auth(OPERATOR_TOKEN)
    )
    assert response.status_code == 200, response.text


async def test_no_history_no_forecast(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    assert (await licenses(cloud, owner))["forecast"] == {
        "seats_exhausted_on": None,
        "per_week": None,
        "weeks_observed": 0,
    }
