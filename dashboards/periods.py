"""Local days and weeks of a timestamp, computed inside the database.

Django's Trunc runs natively on PostgreSQL, but on SQLite it calls a Python
function for every row (parse the text, convert the time zone, truncate), which
on a year of order lines costs most of a second. On SQLite the bucket is
therefore built from SQLite's own date(): a time zone has one UTC offset between
two transitions, so the range is cut into constant-offset segments and a CASE on
the UTC timestamp picks `date(ts, '+330 minutes')` with the right offset.
Both give the same dates (tests/dashboards/test_periods.py compares them).
"""
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import connections
from django.db.models import Case, DateField, F, Func, Value, When
from django.db.models.functions import Trunc
from django.utils import timezone

PERIODS = ("day", "week")


def _offset_minutes(moment, tz):
    return int(moment.astimezone(tz).utcoffset().total_seconds()) // 60


def offset_segments(low, high, tz):
    """[(end, minutes)] covering [low, high): before `end` (UTC, exclusive) the offset of
    `tz` is `minutes`; the last segment has end None. Scans day by day and bisects to
    the second, since zones change offset on whole seconds at most a few times a year."""
    segments = []
    current = _offset_minutes(low, tz)
    start = low
    while start < high:
        step = min(start + timedelta(days=1), high)
        if _offset_minutes(step, tz) == current:
            start = step
            continue
        before, after = int(start.timestamp()), int(step.timestamp())
        while after - before > 1:
            middle = (before + after) // 2
            moment = datetime.fromtimestamp(middle, dt_timezone.utc)
            before, after = (middle, after) if _offset_minutes(moment, tz) == current else (before, middle)
        change = datetime.fromtimestamp(after, dt_timezone.utc)
        segments.append((change, current))
        current = _offset_minutes(change, tz)
        start = change
    segments.append((None, current))
    return segments


def _sqlite_local_date(field, minutes, period):
    modifiers = [Value(f"{minutes:+d} minutes")]
    if period == "week":
        # Back six days, then forward to the next Monday: the Monday on or before the day.
        modifiers += [Value("-6 days"), Value("weekday 1")]
    return Func(F(field), *modifiers, function="date", output_field=DateField())


def local_period(queryset, field, period, low, high):
    """An expression for the local day or week (its Monday) of `field`, for rows of
    `queryset` whose `field` lies in [low, high)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    if connections[queryset.db].vendor != "sqlite":
        return Trunc(field, period, output_field=DateField())
    segments = offset_segments(low, high, timezone.get_current_timezone())
    *changes, (_, last) = segments
    default = _sqlite_local_date(field, last, period)
    if not changes:
        return default
    return Case(
        *[When(**{f"{field}__lt": end}, then=_sqlite_local_date(field, minutes, period))
          for end, minutes in changes],
        default=default, output_field=DateField(),
    )
