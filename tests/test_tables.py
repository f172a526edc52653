"""The terminal table: aligned, one line per row when piped, folded to fit a terminal."""

from __future__ import annotations

import pyoxigraph as ox

from kzld.querying.queries import XSD, Results
from kzld.querying.tables import render, text_table


def _results(*rows: tuple[str, ...], columns=("office", "holder", "date")) -> Results:
    return Results(list(columns), [tuple(ox.Literal(v) for v in row) for row in rows])


def test_columns_line_up_under_a_ruled_header():
    text = text_table(_results(("Minister of Defence", "Murat Bektanov", "2021-08-31")))
    header, rule, row, count = text.splitlines()
    assert header.split() == ["office", "holder", "date"]
    assert set(rule.replace(" ", "")) == {"\u2500"}
    assert row.index("Murat") == header.index("holder")
    assert row.index("2021") == header.index("date")
    assert count == "1 row"


def test_a_piped_table_keeps_each_row_on_one_line():
    long = ", ".join(f"source-{i:03}" for i in range(40))
    text = render(_results(("a", "b", long), ("c", "d", "e")), "table")
    lines = text.splitlines()
    assert len(lines) == 5 and long in lines[2]
    assert lines[-1] == "2 rows"


def test_a_terminal_table_folds_cells_to_fit_its_width():
    long = ", ".join(f"source-{i:03}" for i in range(40))
    text = render(_results(("Minister of Defence", "Murat Bektanov", long)), "table", width=60)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert len(lines) > 4
    column = lines[0].index("date")
    folded = " ".join(line[column:] for line in lines[2:-1])
    assert " ".join(folded.split()) == long  # nothing lost in the folding
    assert lines[0].split() == ["office", "holder", "date"]  # column names are never folded


def test_wide_characters_count_as_two_columns():
    text = text_table(_results(("\u56fd\u9632\u90e8", "x", "y"), ("ab", "x", "y")))
    wide, narrow = text.splitlines()[2:4]
    # Both rows put "x" in the same terminal column: each CJK character fills two.
    assert wide.index("x") + 3 == narrow.index("x")


def test_a_line_break_inside_a_value_does_not_break_the_row():
    text = text_table(_results(("first\nsecond", "x", "y")))
    assert text.splitlines()[2].startswith("first second")


def test_dates_show_their_precision_and_unbound_cells_stay_empty():
    month = ox.Literal("2022-04", datatype=ox.NamedNode(XSD + "gYearMonth"))
    results = Results(["date", "note"], [(month, None)])
    assert text_table(results).splitlines()[2].rstrip() == "2022-04 (month)"


def test_no_rows_still_prints_the_header_and_count():
    assert text_table(_results()).splitlines()[-1] == "0 rows"


def test_a_folded_table_never_splits_a_word(kzld, bundled_graph):
    import kzld as api

    rows = api.query("successors", bundled_graph)
    text = render(rows.results, "table", width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    words = {w.strip(";") for line in text.splitlines() for w in line.split()}
    for row in rows:
        for source in row["sources"].value.split("; "):
            assert source in words, source  # each source id whole on one line


def test_conflicts_show_labels_not_slugs_or_iris(kzld):
    import csv
    import io

    result = kzld("query", "conflicts", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    for row in rows:
        assert "--" not in row["about"] and "://" not in row["value"], row
        assert row["property"] == row["property"].lower() or " " in row["property"]
    about = {(r["about"], r["property"], r["value"]) for r in rows}
    assert (
        "Ruslan Zhaksylykov as Minister of Defence of Kazakhstan",
        "end cause",
        "resignation",
    ) in about


def test_every_list_column_is_joined_the_same_way(kzld):
    import csv
    import io

    from kzld.querying import queries
    from kzld.querying.queries import LIST_SEPARATOR

    catalogue = queries.catalogue()
    reasons = csv.DictReader(io.StringIO(kzld("query", "dismissals", "-f", "csv").stdout))
    joined = [r["reasons"] for r in reasons if LIST_SEPARATOR in r["reasons"]]
    assert joined and all("|" not in r for r in joined)
    for name, canned in catalogue.items():
        if not canned.lists:
            continue
        out = csv.DictReader(io.StringIO(kzld("query", name, "-f", "csv").stdout))
        for row in out:
            for column in canned.lists:
                items = row[column].split(LIST_SEPARATOR)
                assert all(item == item.strip() and item for item in items if row[column]), row
