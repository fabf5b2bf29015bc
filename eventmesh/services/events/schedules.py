"""Schedule expressions of EventBridge rules: ``rate(...)`` and ``cron(...)``.

Everything that decides when a schedule rule fires lives here. Schedules run in UTC with
1-minute granularity. ``rate(<n> <unit>)`` takes a positive integer and ``minute(s)``,
``hour(s)`` or ``day(s)`` (singular when n is 1, plural otherwise) and fires every n units from
the time the rule was created. ``cron(Minutes Hours Day-of-month Month Day-of-week Year)`` has
six fields, exactly one of day-of-month / day-of-week is ``?``, and understands ``, - * ? / L W #``,
``JAN-DEC``, ``SUN-SAT`` (1 = Sunday) and years 1970–2199.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html

:class:`ScheduleTimer` keeps exactly one timer on the mesh clock per schedule rule, so a
virtual hour of ``rate(5 minutes)`` is 12 timer callbacks and nothing else.
Cost: next fire of a cron is O(days skipped) date arithmetic, at most a few years of days.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from eventmesh.clock import Clock
from eventmesh.services.events.errors import ValidationException
from eventmesh.timers import Timer

__all__ = [
    "INVALID_SCHEDULE_MESSAGE",
    "CronSchedule",
    "RateSchedule",
    "Schedule",
    "ScheduleTimer",
    "parse_schedule",
]

INVALID_SCHEDULE_MESSAGE = "Parameter ScheduleExpression is not valid."
CRON_MIN_YEAR = 1970
CRON_MAX_YEAR = 2199
SECONDS_PER_MINUTE = 60
_RATE_UNITS_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_WEEKDAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
# (low, high, names) per cron field, in expression order.
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (1, 7, _WEEKDAYS),
    (CRON_MIN_YEAR, CRON_MAX_YEAR, {}))


def _invalid() -> ValidationException:
    return ValidationException(INVALID_SCHEDULE_MESSAGE)


class Schedule:
    """A parsed schedule expression."""

    expression: str

    def next_after(self, when: float, anchor: float) -> float | None:
        """The first fire time strictly after ``when``; ``anchor`` is the rule's creation time."""
        raise NotImplementedError


class RateSchedule(Schedule):
    """``rate(n unit)``: every ``period_seconds`` from the rule's creation time."""

    def __init__(self, expression: str, period_seconds: int) -> None:
        self.expression = expression
        self.period_seconds = period_seconds

    def next_after(self, when: float, anchor: float) -> float | None:
        periods = math.floor((when - anchor) / self.period_seconds) + 1
        return anchor + max(periods, 1) * self.period_seconds


class _DaySpec:
    """What a day-of-month or day-of-week field allows: plain values plus L, W and # forms."""

    __slots__ = ("last_day", "last_of", "last_weekday", "nearest_weekday", "nth", "values")

    def __init__(self) -> None:
        self.values: set[int] = set()
        self.last_day = False            # dom "L"
        self.last_weekday = False        # dom "LW"
        self.nearest_weekday: set[int] = set()   # dom "15W"
        self.nth: set[tuple[int, int]] = set()   # dow "3#2" = (weekday 3, 2nd)
        self.last_of: set[int] = set()   # dow "6L" = last Friday


class CronSchedule(Schedule):
    """``cron(...)``: the next minute whose fields all match, in UTC."""

    def __init__(self, expression: str, fields: list[str]) -> None:
        self.expression = expression
        minutes, hours, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise _invalid()  # exactly one of day-of-month / day-of-week must be '?'
        self.minutes = sorted(_values(minutes, 0))
        self.hours = sorted(_values(hours, 1))
        self.months = _values(month, 3)
        self.years = _values(year, 5)
        self.dom = None if dom == "?" else _day_spec(dom, 2)
        self.dow = None if dow == "?" else _day_spec(dow, 4)

    def next_after(self, when: float, anchor: float) -> float | None:
        start = (math.floor(when / SECONDS_PER_MINUTE) + 1) * SECONDS_PER_MINUTE
        t = datetime.fromtimestamp(start, UTC)
        while t.year <= CRON_MAX_YEAR:
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)
            elif not self._day_matches(t):
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
            else:
                hm = self._time_on_or_after(t.hour, t.minute)
                if hm is not None:
                    return t.replace(hour=hm[0], minute=hm[1]).timestamp()
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
        return None

    def _time_on_or_after(self, hour: int, minute: int) -> tuple[int, int] | None:
        for h in self.hours:
            if h < hour:
                continue
            for m in self.minutes:
                if h > hour or m >= minute:
                    return h, m
        return None

    def _day_matches(self, t: datetime) -> bool:
        last = calendar.monthrange(t.year, t.month)[1]
        if self.dom is not None:
            return _dom_matches(self.dom, t, last)
        assert self.dow is not None
        return _dow_matches(self.dow, t, last)


def _dom_matches(spec: _DaySpec, t: datetime, last: int) -> bool:
    day = t.day
    if day in spec.values or (spec.last_day and day == last):
        return True
    if spec.last_weekday and day == _nearest_weekday(t.year, t.month, last, last):
        return True
    return any(day == _nearest_weekday(t.year, t.month, min(n, last), last) for n in spec.nearest_weekday)


def _dow_matches(spec: _DaySpec, t: datetime, last: int) -> bool:
    weekday = (t.weekday() + 1) % 7 + 1  # Python Monday=0 → AWS Sunday=1 .. Saturday=7
    if weekday in spec.values:
        return True
    if (weekday, (t.day - 1) // 7 + 1) in spec.nth:
        return True
    return weekday in spec.last_of and t.day + 7 > last


def _nearest_weekday(year: int, month: int, day: int, last: int) -> int:
    """The weekday (Mon–Fri) nearest to ``day`` without leaving the month (``W``)."""
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:  # Saturday → Friday, or Monday when the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday → Monday, or Friday when it is the last day
        return day + 1 if day < last else day - 2
    return day


def _number(text: str, index: int) -> int:
    low, high, names = _FIELDS[index]
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise _invalid()
        value = int(text)
    if not low <= value <= high:
        raise _invalid()
    return value


def _values(field: str, index: int) -> set[int]:
    """Expand ``, - * /`` of a field into the set of allowed values."""
    low, high, _ = _FIELDS[index]
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _invalid()
            step = int(step_text)
        if base == "*":
            first, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, end = _number(a, index), _number(b, index)
            if end < first:  # a wrapping range such as FRI-MON
                end += high - low + 1
        else:
            first = _number(base, index)
            end = high if step_text else first
        for value in range(first, end + 1, step):
            out.add(value if value <= high else value - (high - low + 1))
    if not out:
        raise _invalid()
    return out


def _day_spec(field: str, index: int) -> _DaySpec:
    spec = _DaySpec()
    for part in field.split(","):
        upper = part.upper()
        if index == 2 and upper == "L":
            spec.last_day = True
        elif index == 2 and upper == "LW":
            spec.last_weekday = True
        elif index == 2 and upper.endswith("W"):
            spec.nearest_weekday.add(_number(upper[:-1], index))
        elif index == 4 and "#" in upper:
            day, _, nth = upper.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise _invalid()
            spec.nth.add((_number(day, index), int(nth)))
        elif index == 4 and upper == "L":
            spec.values.add(7)  # "L" alone in day-of-week is the last day of the week, Saturday
        elif index == 4 and upper.endswith("L"):
            spec.last_of.add(_number(upper[:-1], index))
        else:
            spec.values |= _values(part, index)
    return spec


def parse_schedule(expression: str) -> Schedule:
    """Parse ``rate(...)`` or ``cron(...)``; anything else (a space before or inside the
    parentheses too) is ``ValidationException`` ``Parameter ScheduleExpression is not valid.``"""
    rate = _RATE.match(expression)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value <= 0 or (value == 1) == unit.endswith("s"):
            raise _invalid()
        return RateSchedule(expression, value * _RATE_UNITS_SECONDS[unit.rstrip("s")])
    cron = _CRON.match(expression)
    if cron is not None:
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise _invalid()
        return CronSchedule(expression, fields)
    raise _invalid()


class ScheduleTimer:
    """Fires ``fire(when)`` at every time of ``schedule``, with one timer on ``clock`` at a time."""

    def __init__(self, clock: Clock, schedule: Schedule, fire: Callable[[float], None]) -> None:
        self._clock = clock
        self.schedule = schedule
        self._fire = fire
        self._anchor = clock.now()
        self._timer: Timer | None = None
        self._due: float | None = None

    @property
    def next_fire(self) -> float | None:
        return self._due if self._timer is not None else None

    def start(self) -> None:
        if self._timer is None:
            self._arm(self._clock.now())

    def stop(self) -> None:
        self._clock.cancel(self._timer)
        self._timer = None

    def _arm(self, after: float) -> None:
        self._due = self.schedule.next_after(after, self._anchor)
        self._timer = None if self._due is None else self._clock.call_at(self._due, self._on_timer)

    def _on_timer(self) -> None:
        due = self._due
        assert due is not None
        self._arm(due)  # re-arm first, so a fire that stops the rule cancels the next timer
        self._fire(due)
