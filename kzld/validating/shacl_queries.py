"""The SPARQL of SHACL-SPARQL constraints as the native engine runs it: checked against
SHACL's rules (5.3.1, 6.2.2), $PATH filled in, and cut where each group opens so that the
pre-bound variables ($this, $value, ...) can be bound in every group."""

from __future__ import annotations

import re

from kzld.errors import InputError, UsageError
from kzld.loading.graph import GENID
from kzld.sparql_text import check_read_only, tokens


class Query:
    """A SPARQL query ready for pre-binding: its text cut where each group opens."""

    def __init__(self, parts, prefixes, anchored, message, mentioned):
        self.parts = parts
        self.mentioned = mentioned  # variable names the text holds: only these are bound
        self.prefixes = prefixes
        self.anchored = anchored
        self.message = message

    def bind(self, bindings: dict) -> str:
        """The query with these variables pre-bound: a one-row VALUES at the start of every
        group, which binds them wherever the query reads them (nested groups, BIND, FILTER,
        EXISTS), as SHACL's pre-binding requires (5.3.1)."""
        names = sorted(n for n in bindings if n in self.mentioned)
        if not names:
            return "".join(self.parts)
        heads = " ".join("?" + n for n in names)
        row = " ".join(_sparql_term(bindings[n]) for n in names)
        return f" VALUES ({heads}) {{ ({row}) }} ".join(self.parts)


def compile_query(
    text, *, origin, file, path, prebound, prefixes, message, anchored_ok, native
) -> Query:
    """Check a constraint's query against SHACL's rules for SPARQL (5.3.1, 6.2.2) and cut
    it for pre-binding; refuse (exit 3) whatever the engine cannot run faithfully."""

    def refuse(what: str, hint: str):
        raise InputError(f"{origin} {what}", path=file, hint=hint)

    try:
        check_read_only(text, origin)
    except UsageError as err:
        raise InputError(str(err), path=file, hint="constraints query the data only") from None
    if native:
        text = _blank_tests(text)
    found = [t for t in tokens(text) if t.kind != "comment"]
    words = [t.text.upper() if t.kind == "word" else None for t in found]
    # SHACL's own rules on constraint queries, for the native engine (pySHACL has its own).
    for i, token in enumerate(found if native else []):
        if words[i] in ("VALUES", "MINUS", "SERVICE"):
            refuse(
                f"uses {words[i]}, which SHACL forbids in constraints",
                "rewrite the query without VALUES, MINUS or SERVICE",
            )
        name = token.text[1:] if token.kind == "var" else None
        if name in prebound and i and words[i - 1] == "AS":
            refuse(
                f"assigns the pre-bound variable ${name}",
                f"SHACL pre-binds ${name}; use another variable name",
            )
        if name == "PATH" and path is None:
            refuse("uses $PATH outside a property shape", "move the constraint to a property shape")
        if words[i] == "SELECT" and i and found[i - 1].text == "{" and "this" in prebound:
            if "this" not in _projection(found, i):
                refuse(
                    "has a subquery that does not select $this",
                    "SHACL requires every subquery to return the pre-bound $this",
                )
    top = next((i for i, w in enumerate(words) if w in ("SELECT", "ASK")), None)
    if native and top is not None and words[top] == "SELECT" and "this" in prebound:
        if not {"this", "*"} & _projection(found, top):
            refuse(
                "does not select $this",
                "write SELECT $this ... so that each result names its focus node",
            )
    cuts, current, done = [], "", 0
    inline_data = False  # between VALUES and its data block's "{", which opens no group
    for i, token in enumerate(found):
        if words[i] == "VALUES":
            inline_data = True
        if token.kind == "var" and token.text[1:] == "PATH" and path is not None:
            current += text[done : token.start] + path
            done = token.start + len(token.text)
        elif token.kind == "punct" and token.text == "{":
            if inline_data or (i + 1 < len(found) and words[i + 1] == "SELECT"):
                inline_data = False
                continue  # a data block; or a subquery, whose own WHERE group is bound
            cuts.append(current + text[done : token.start + 1])
            current, done = "", token.start + 1
    cuts.append(current + text[done:])
    anchored = anchored_ok and _binds_this_first(found, words)
    mentioned = {t.text[1:] for t in found if t.kind == "var"}
    return Query(cuts, prefixes, anchored, message, mentioned)


def _blank_tests(text: str) -> str:
    """The query with isBlank, isIRI and isURI seeing kzld's skolem IRIs as the blank nodes
    they stand for (the store holds them as IRIs)."""
    found = [t for t in tokens(text) if t.kind != "comment"]
    edits = []
    for i, token in enumerate(found):
        test = token.text.upper() if token.kind == "word" else None
        if test not in ("ISBLANK", "ISIRI", "ISURI") or i + 1 == len(found):
            continue
        if found[i + 1].text != "(":
            continue
        depth, j = 0, i + 1
        for j in range(i + 1, len(found)):
            depth += {"(": 1, ")": -1}.get(found[j].text, 0) if found[j].kind == "punct" else 0
            if depth == 0:
                break
        if depth:
            continue  # unbalanced: left for the parser to report
        arg = text[found[i + 1].start + 1 : found[j].start]
        skolem = f'(isIRI({arg}) && STRSTARTS(STR({arg}), "{GENID}"))'
        if test == "ISBLANK":
            new = f"(isBlank({arg}) || {skolem})"
        else:
            new = f"({token.text}({arg}) && !{skolem})"
        edits.append((token.start, found[j].start + 1, new))
    for start, end, new in reversed(edits):
        if all(not (s0 < end and start < e0) for s0, e0, _ in edits if (s0, e0) != (start, end)):
            text = text[:start] + new + text[end:]
    return text


def _projection(found: list, select: int) -> set[str]:
    """The variable names (and a "*") a SELECT at this token projects."""
    names = set()
    for later in found[select + 1 :]:
        if later.text == "{" or later.text.upper() == "WHERE":
            break
        names.add(later.text[1:] if later.kind == "var" else later.text)
    return names


def _binds_this_first(found: list, words: list) -> bool:
    """Whether every group of the WHERE clause that is not an OPTIONAL or EXISTS opens
    with a triple pattern naming $this (or with groups that do), and no SELECT is nested."""
    start = next((i for i, t in enumerate(found) if t.text == "{" and t.kind == "punct"), None)
    if start is None or "SELECT" in words[start:]:
        return False
    for i in range(start, len(found)):
        if found[i].kind != "punct" or found[i].text != "{":
            continue
        if i and words[i - 1] in ("OPTIONAL", "EXISTS"):
            continue
        if i + 1 < len(found) and found[i + 1].text == "{":
            continue  # a group of groups: each is checked in turn
        first = []
        for later in found[i + 1 :]:
            if later.kind == "punct" and later.text in ".;,{}":
                break
            first.append(later)
        if not first or first[0].kind == "word":
            return False
        if not any(t.kind == "var" and t.text[1:] == "this" for t in first):
            return False
    return True


def _sparql_term(term) -> str:
    """A term as SPARQL text (N-Triples forms are valid SPARQL terms)."""
    return str(term)


def fill_message(template: str, terms: dict) -> str:
    """A message template with {$name} or {?name} filled from the bound variables."""

    def value(match: re.Match) -> str:
        term = terms.get(match.group(1))
        return term.value if term is not None and hasattr(term, "value") else match.group(0)

    return re.sub(r"\{[?$](\w+)\}", value, template)
