"""Rendering of query results: a terminal table, CSV, TSV, Markdown or SPARQL results JSON."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pyoxigraph as ox

from kzld.errors import UsageError
from kzld.queries import XSD, Results

FORMATS = ("table", "csv", "tsv", "json", "md")

# The precision of a date is its datatype; a day needs no note.
_PRECISION = {XSD + "gYearMonth": "month", XSD + "gYear": "year"}


def display(term) -> str:
    """A term as a person reads it: dates with their precision, IRIs as written."""
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        precision = _PRECISION.get(term.datatype.value)
        return f"{term.value} ({precision})" if precision else term.value
    return term.value


def render(results: Results, fmt: str) -> str:
    """The results in one of FORMATS, as text ending with a newline."""
    if fmt == "json":
        return to_json(results)
    if fmt in {"csv", "tsv"}:
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(results.columns)
        writer.writerows([display(t) for t in row] for row in results.rows)
        return out.getvalue()
    if fmt == "md":
        lines = ["| " + " | ".join(results.columns) + " |"]
        lines.append("|" + "---|" * len(results.columns))
        for row in results.rows:
            cells = [_md_cell(display(t)) for t in row]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "table":
        return _rich_table(results)
    raise UsageError(f"unknown output format {fmt!r}", hint="choose one of " + ", ".join(FORMATS))


def to_json(results: Results) -> str:
    """SPARQL 1.1 Query Results JSON, variables in column order."""
    bindings = []
    for row in results.rows:
        binding = {}
        for name, term in zip(results.columns, row, strict=True):
            if term is not None:
                binding[name] = _json_term(term)
        bindings.append(binding)
    document = {"head": {"vars": results.columns}, "results": {"bindings": bindings}}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _json_term(term) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    value = {"type": "literal", "value": term.value}
    if term.language:
        value["xml:lang"] = term.language
    elif term.datatype.value != XSD + "string":
        value["datatype"] = term.datatype.value
    return value


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _rich_table(results: Results) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for column in results.columns:
        table.add_column(column, overflow="fold")
    for row in results.rows:
        # Markup is off for cells: a literal holding "[bold]" is data, not a style.
        table.add_row(*(display(t) for t in row))
    out = io.StringIO()
    width = shutil.get_terminal_size((120, 24)).columns
    console = Console(file=out, width=width, markup=False, highlight=False, emoji=False)
    console.print(table)
    rows = len(results.rows)
    return out.getvalue() + f"{rows} row{'s' if rows != 1 else ''}\n"
