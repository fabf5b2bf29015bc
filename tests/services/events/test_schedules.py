from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventmesh.services.events.errors import ValidationException
from eventmesh.services.events.schedules import ScheduleTimer, parse_schedule
from eventmesh.testing import virtual_mesh

pytestmark = pytest.mark.usefixtures("events_engine")  # the bus's Python loop and its C twin


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(epoch: float | None) -> str:
    assert epoch is not None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M")


def fires(expression: str, start: str, count: int) -> list[str]:
    schedule = parse_schedule(expression)
    out, when = [], ts(start)
    for _ in range(count):
        nxt = schedule.next_after(when, ts(start))
        out.append(iso(nxt))
        assert nxt is not None
        when = nxt
    return out


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 hours)", "rate(1 day)", "rate(7 days)",
    "cron(0/15 * * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(15 10 ? * 6L 2002-2005)",
    "cron(0 2 ? * SAT#3 *)", "cron(0 12 L * ? *)", "cron(0 8 1W * ? *)", "cron(5,35 14 * JAN-MAR ? *)",
])
def test_valid_expressions_parse(expression: str) -> None:
    assert parse_schedule(expression).expression == expression


@pytest.mark.parametrize("expression", [
    "rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(5 seconds)", "rate(-1 hours)",
    "cron(0 1 * * * *)", "cron(71 8 1 * ? *)", "cron(0 8 ? * ? *)", "cron(0 8 1 * ?)",
    "cron(0 25 * * ? *)", "cron(0 8 ? * FUNDAY *)", "cron(0 8 1 * ? 2300)", "every 5 minutes", "",
])
def test_invalid_expressions_are_validation_errors(expression: str) -> None:
    with pytest.raises(ValidationException) as err:
        parse_schedule(expression)
    assert err.value.message == "Parameter ScheduleExpression is not valid."


def test_rate_fires_every_period_from_creation() -> None:
    assert fires("rate(5 minutes)", "2024-01-01T10:02:30", 3) == [
        "2024-01-01T10:07", "2024-01-01T10:12", "2024-01-01T10:17"]


def test_cron_every_quarter_hour() -> None:
    assert fires("cron(0/15 * * * ? *)", "2024-01-01T10:07:00", 3) == [
        "2024-01-01T10:15", "2024-01-01T10:30", "2024-01-01T10:45"]


def test_cron_weekdays_at_six_pm_skips_the_weekend() -> None:
    # 2024-01-05 is a Friday.
    assert fires("cron(0 18 ? * MON-FRI *)", "2024-01-05T18:00:00", 2) == [
        "2024-01-08T18:00", "2024-01-09T18:00"]


def test_cron_third_saturday() -> None:
    assert fires("cron(0 2 ? * SAT#3 *)", "2024-01-01T00:00:00", 2) == [
        "2024-01-20T02:00", "2024-02-17T02:00"]


def test_cron_last_friday_within_years() -> None:
    assert fires("cron(15 10 ? * 6L 2002-2005)", "2005-11-01T00:00:00", 2) == [
        "2005-11-25T10:15", "2005-12-30T10:15"]
    assert parse_schedule("cron(15 10 ? * 6L 2002-2005)").next_after(ts("2006-01-01T00:00:00"), 0) is None


def test_cron_last_day_of_month_and_nearest_weekday() -> None:
    assert fires("cron(0 12 L * ? *)", "2024-02-01T00:00:00", 2) == ["2024-02-29T12:00", "2024-03-31T12:00"]
    # 2024-06-01 is a Saturday: 1W is Monday the 3rd (never back into May).
    assert fires("cron(0 8 1W * ? *)", "2024-05-15T00:00:00", 1) == ["2024-06-03T08:00"]


def test_rate_five_minutes_fires_twelve_times_in_a_virtual_hour() -> None:
    mesh, driver = virtual_mesh()
    start = mesh.clock.now()
    seen: list[float] = []
    timer = ScheduleTimer(mesh.clock, parse_schedule("rate(5 minutes)"), seen.append)
    timer.start()
    driver.advance(3600)
    assert [t - start for t in seen] == [300.0 * i for i in range(1, 13)]
    assert mesh.clock.pending() == 1  # one timer per schedule, never more


def test_stopped_schedule_keeps_no_timer() -> None:
    mesh, driver = virtual_mesh()
    seen: list[float] = []
    timer = ScheduleTimer(mesh.clock, parse_schedule("rate(1 minute)"), seen.append)
    timer.start()
    driver.advance(120)
    timer.stop()
    driver.advance(600)
    assert len(seen) == 2
    assert mesh.clock.pending() == 0
