"""Dates as people give them, in options and parameters: YYYY, YYYY-MM or YYYY-MM-DD,
checked against the calendar here and nowhere else."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from kzld.errors import UsageError

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class GivenDate:
    """A date as given, at its precision, and the first and last day it covers."""

    text: str
    precision: str  # "year", "month" or "day"
    first: date
    last: date


def parse_date(text: str, *, option: str = "", day_only: bool = False) -> GivenDate:
    """The date a YYYY, YYYY-MM or YYYY-MM-DD value means (YYYY-MM-DD only if day_only).

    option names the value in the message (``--date: not a date: ...``)."""
    wanted = "YYYY-MM-DD, e.g. 2022-01-19" if day_only else "YYYY, YYYY-MM or YYYY-MM-DD"
    said = f"{option}: not a date: {text!r}" if option else f"not a date: {text!r}"
    written = text.strip()
    match = _DATE.fullmatch(written)
    if not match or (day_only and not match.group(3)):
        raise UsageError(said, hint=f"write {wanted}")
    year, month, day = (int(g) if g else None for g in match.groups())
    if month is not None and not 1 <= month <= 12:
        raise UsageError(f"{said} (there is no month {month})", hint=f"write {wanted}")
    try:
        first = date(year, month or 1, day or 1)
    except ValueError:
        days = calendar.monthrange(year, month)[1]
        raise UsageError(
            f"{said} ({calendar.month_name[month]} {year} has {days} days)", hint=f"write {wanted}"
        ) from None
    if day is not None:
        return GivenDate(written, "day", first, first)
    if month is not None:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return GivenDate(written, "month", first, last)
    return GivenDate(written, "year", first, date(year, 12, 31))
