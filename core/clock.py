"""The console's clock: the zone its calendar follows and how a time is written for people.

Stored times are UTC (``USE_TZ``). The console's zone (``PLS_TIME_ZONE``, i.e.
``settings.TIME_ZONE``) decides where a day, a budget month and a scheduled digest begin; a
person's own zone (``core.models.Profile``) only changes how times are shown to them.

The parsers at the top are called by the settings at start-up, before Django is set up: a
wrong value stops the process with a message naming the variable, not at 09:10 next day.
"""

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NAMES = dict(zip(_FULL_NAMES, WEEKDAYS, strict=True)) | {day: day for day in WEEKDAYS}
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ClockSettingInvalid(ValueError):
    """A clock setting that cannot be read; the message names the variable and the fix."""


def zone_checked(name: str, *, variable: str = "PLS_TIME_ZONE") -> str:
    """``name`` if it is a zone the system knows (an IANA name such as Asia/Taipei)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ClockSettingInvalid(
            f"{variable}={name!r} is not a time zone; use an IANA name such as Asia/Taipei or UTC."
        ) from error
    return name


def hour_minute(text: str, *, variable: str) -> tuple[int, int]:
    """``"09:10"`` → ``(9, 10)``."""
    matched = _HH_MM.match(text.strip())
    if not matched:
        raise ClockSettingInvalid(
            f"{variable}={text!r} is not a time of day; write HH:MM, e.g. 09:10."
        )
    return int(matched[1]), int(matched[2])


def weekday_hour_minute(text: str, *, variable: str) -> tuple[str, int, int]:
    """``"mon 09:20"`` → ``("mon", 9, 20)``."""
    day, _, at = text.strip().partition(" ")
    weekday = _WEEKDAY_NAMES.get(day.lower())
    if weekday is None:
        raise ClockSettingInvalid(
            f"{variable}={text!r} does not start with a weekday; write e.g. 'mon 09:20' "
            f"(one of {', '.join(WEEKDAYS)})."
        )
    hour, minute = hour_minute(at, variable=variable)
    return weekday, hour, minute


# --- At run time ---------------------------------------------------------------------------


def console_zone() -> ZoneInfo:
    """The console's zone (``PLS_TIME_ZONE``): whose calendar days and months count."""
    from django.utils import timezone

    return timezone.get_default_timezone()


def local_date(moment: datetime) -> date:
    """The console's calendar day ``moment`` falls on."""
    return moment.astimezone(console_zone()).date()


def local_midnight(day: date) -> datetime:
    """The start of ``day`` on the console's calendar, as an aware datetime."""
    return datetime.combine(day, time(), tzinfo=console_zone())


def local_month(moment: datetime) -> date:
    """The 1st of the month ``moment`` falls in on the console's calendar: the month a
    monthly quota (a worker's budget, LINE's message limit) counts it in."""
    return local_date(moment).replace(day=1)


def next_month_start(moment: datetime) -> datetime:
    """Midnight of the 1st of the month after ``moment`` on the console's calendar, when
    monthly quotas (a budget, LINE's message limit) start again."""
    first = local_month(moment)
    year, month = (first.year + 1, 1) if first.month == 12 else (first.year, first.month + 1)
    return local_midnight(date(year, month, 1))


def zone_label(zone: ZoneInfo | None = None) -> str:
    """The zone as people are told it: its IANA name (``Asia/Taipei``)."""
    from django.utils import timezone

    return str(zone or timezone.get_current_timezone())


def when(moment: datetime | None, *, zone: ZoneInfo | None = None, seconds: bool = False) -> str:
    """``moment`` as a person reads it, saying its zone: ``2026-12-04 09:10 (Asia/Taipei)``.

    In ``zone``, else the active zone (the reader's, or the channel's inside
    ``timezone.override``), else the console's."""
    if moment is None:
        return ""
    from django.utils import timezone

    zone = zone or timezone.get_current_timezone()
    shown = moment.astimezone(zone)
    written = f"{shown:%Y-%m-%d %H:%M:%S}" if seconds else f"{shown:%Y-%m-%d %H:%M}"
    return f"{written} ({zone_label(zone)})"
