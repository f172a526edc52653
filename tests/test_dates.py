"""Dates as given in options and parameters: one parser for the CLI, queries and Wikidata."""

from __future__ import annotations

from datetime import date

import pytest

from kzld.dates import parse_date
from kzld.errors import UsageError
from kzld.querying.queries import parse_date as query_date
from kzld.wikidata.export import Time, parse_day


@pytest.mark.parametrize(
    ("text", "precision", "first", "last"),
    [
        ("2022", "year", date(2022, 1, 1), date(2022, 12, 31)),
        ("2022-02", "month", date(2022, 2, 1), date(2022, 2, 28)),
        ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
        (" 2022-01-19 ", "day", date(2022, 1, 19), date(2022, 1, 19)),
    ],
)
def test_a_date_covers_the_days_of_its_precision(text, precision, first, last):
    given = parse_date(text)
    assert (given.text, given.precision, given.first, given.last) == (
        text.strip(), precision, first, last,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("22-01", "not a date: '22-01'"),
        ("2022-13-01", "there is no month 13"),
        ("2022-00-10", "there is no month 0"),
        ("2022-02-30", "February 2022 has 28 days"),
        ("2022-01-19T00:00", "not a date"),
        ("", "not a date: ''"),
    ],
)
def test_every_entry_point_refuses_a_bad_date_alike(text, said):
    for parse in (parse_date, query_date, parse_day):
        with pytest.raises(UsageError, match=said):
            parse(text)


def test_a_day_only_value_refuses_a_month_and_names_the_option():
    with pytest.raises(UsageError, match=r"^--retrieved: not a date: '2026-02'$") as err:
        parse_date("2026-02", option="--retrieved", day_only=True)
    assert "YYYY-MM-DD" in err.value.hint
    assert parse_day("2026-11-22") == Time("2026-11-22T00:00:00Z", 11)
