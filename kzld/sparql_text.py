"""SPARQL text as the SPARQL 1.1 grammar's terminals, and the read-only check built on them.

The lexer follows the terminals of SPARQL 1.1 Query, section 19.8 (IRIREF, PNAME_NS,
PNAME_LN with PLX escapes, BLANK_NODE_LABEL, VAR1/VAR2, LANGTAG, the numbers, the four
string forms with ECHAR, comments to the end of a line), so a keyword inside an IRI, a
string, a comment or a name is never seen, and one outside them always is.

The check is stricter than the grammar where the engines are laxer than it:
- pyoxigraph matches keywords without a word boundary (``falseSERVICE <x> {}``,
  ``SERVICESILENT<x>``, ``SERVICE:x {}`` with an empty prefix all reach the network), so a
  refused keyword anywhere inside a bare word or a prefix is refused;
- rdflib expands ``\\uXXXX`` escapes before parsing, so the expanded text is checked too;
- ``<`` is both IRIREF's opening and the less-than operator; an IRIREF holding ``)`` could
  be an operator that closes an expression, so the text is checked read both ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from kzld.errors import UsageError


class Token(NamedTuple):
    kind: str  # comment string iri pname bnode var langtag number word punct error
    text: str
    start: int  # offset in the text
    line: int  # 1-based


# --- the grammar's character classes (SPARQL 1.1 Query, 19.8, [164]-[173]) ----------------
_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_U = _BASE + "_"
_CHARS = _U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
# Possessive forms of the grammar's "no '.' at the end" rules: linear on any input.
_PREFIX = rf"[{_BASE}](?:[{_CHARS}]++|\.++[{_CHARS}])*+"
_LOCAL = rf"(?:[{_U}:0-9]|{_PLX})(?:[{_CHARS}:]++|{_PLX}|\.++(?:[{_CHARS}:]|{_PLX}))*+"
_VARNAME = rf"[{_U}0-9][{_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*+"
_ECHAR = r"\\[tbnrf\\\"']"
_EXPONENT = r"[eE][+-]?[0-9]+"
_NUMBER = rf"[0-9]+\.[0-9]*{_EXPONENT}|\.[0-9]+{_EXPONENT}|[0-9]+{_EXPONENT}|[0-9]*\.[0-9]+|[0-9]+"
_WORD = rf"[{_U}][{_U}0-9]*+"

_TOKEN = re.compile(
    rf"""
    (?P<comment>\#[^\n\r]*+)
  | (?P<string>'''(?:(?:''|')?+(?:[^'\\]|{_ECHAR}))*+'''
              |\"\"\"(?:(?:\"\"|\")?+(?:[^\"\\]|{_ECHAR}))*+\"\"\"
              |'(?:[^'\\\n\r]|{_ECHAR})*+'
              |\"(?:[^\"\\\n\r]|{_ECHAR})*+\")
  | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*+>)
  | (?P<var>[?$]{_VARNAME})
  | (?P<bnode>_:[{_U}0-9](?:[{_CHARS}]++|\.++[{_CHARS}])*+)
  | (?P<langtag>@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+)
  | (?P<name>{_PREFIX}(?::(?:{_LOCAL})?)?|:(?:{_LOCAL})?)
  | (?P<number>{_NUMBER})
  | (?P<word>{_WORD})
  | (?P<space>[\x20\t\r\n]++)
  | (?P<punct>\^\^|\|\||&&|!=|<=|>=|[{{}}()\[\];,.*=<>!+\-/?|^$])
  | (?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# A name with no ':' is no PNAME: the words, numbers and dots it is made of.
_IN_NAME = re.compile(rf"(?P<word>{_WORD})|(?P<number>{_NUMBER})|(?P<punct>[.\-])|(?P<error>.)")


def tokens(text: str) -> Iterator[Token]:
    """The text's tokens (whitespace left out); strings, IRIs, names and comments are one
    token each. A character no terminal accepts is an ``error`` token of its own."""
    line = 1
    last = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        start = match.start()
        line += text.count("\n", last, start)
        last = start
        if kind == "name":
            if ":" in match.group():
                yield Token("pname", match.group(), start, line)
            else:
                for part in _IN_NAME.finditer(match.group()):
                    yield Token(part.lastgroup, part.group(), start + part.start(), line)
        elif kind != "space":
            yield Token(kind, match.group(), start, line)


def blank_strings_and_comments(text: str) -> str:
    """The text with every string and comment blanked (newlines kept), positions unchanged,
    for keyword searches that must not look inside them."""
    parts: list[str] = []
    done = 0
    for token in tokens(text):
        if token.kind in ("string", "comment"):
            parts.append(text[done : token.start])
            parts.append(re.sub(r"[^\n]", " ", token.text))
            done = token.start + len(token.text)
    parts.append(text[done:])
    return "".join(parts)


# --- the read-only check ------------------------------------------------------------------

_UPDATE = "updates are not allowed"
REFUSED = {
    "SERVICE": "SERVICE reaches another endpoint",
    "FROM": "FROM / FROM NAMED loads graphs from elsewhere",
    "LOAD": "LOAD fetches a document",
    "INSERT": _UPDATE,
    "DELETE": _UPDATE,
    "CLEAR": _UPDATE,
    "DROP": _UPDATE,
    "CREATE": _UPDATE,
    "ADD": _UPDATE,
    "MOVE": _UPDATE,
    "COPY": _UPDATE,
    "WITH": _UPDATE,
}
_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def expand_codepoints(text: str) -> str:
    """The text with ``\\uXXXX`` and ``\\UXXXXXXXX`` escapes expanded, as rdflib does first."""

    def char(match: re.Match) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    return _CODEPOINT.sub(char, text)


def _readings(text: str) -> Iterator[tuple[str, list[Token]]]:
    """The text and its tokens under every reading an engine might make of it."""
    seen: set[str] = set()
    for variant in (text, expand_codepoints(text)):
        if variant in seen:
            continue
        seen.add(variant)
        found = list(tokens(variant))
        yield variant, found
        if any(t.kind == "iri" and ")" in t.text for t in found):
            # The same text with each such '<' read as less-than: blank the '<' so that
            # its IRIREF cannot form, and the rest is lexed as code.
            chars = list(variant)
            for t in found:
                if t.kind == "iri" and ")" in t.text:
                    chars[t.start] = " "
            yield variant, list(tokens("".join(chars)))


def _refused_in(token: Token, depth: int, declared: bool) -> str | None:
    """The refused keyword this word or prefix holds, if any. ``depth`` is the token's
    brace depth; ``declared`` whether it is the name a PREFIX declaration gives."""
    if token.kind == "word":
        word = token.text.upper()
        if word in REFUSED:
            return word
        # No SPARQL keyword holds a refused one, so a word that does is glued keywords.
        return next((k for k in REFUSED if k in word), None)
    if token.kind == "pname" and not declared:
        prefix = token.text.partition(":")[0].upper()
        if "SERVICE" in prefix:  # SERVICE:x, falseSERVICE:x: SERVICE to the IRI :x
            return "SERVICE"
        if "FROM" in prefix and depth == 0:  # FROM:g, where a dataset clause can stand
            return "FROM"
    return None


def check_read_only(text: str, origin: str = "the query", *, allow=frozenset()) -> None:
    """Refuse a query that could leave the data or change it (SERVICE, FROM, LOAD, any
    update), before anything parses or runs it. ``allow`` names keywords to let through."""
    for variant, found in _readings(text):
        depth = 0
        previous = ""
        for token in found:
            if token.kind == "punct":
                depth += {"{": 1, "}": -1}.get(token.text, 0)
            keyword = _refused_in(token, depth, previous == "PREFIX")
            previous = token.text.upper() if token.kind == "word" else ""
            if keyword is None or keyword in allow:
                continue
            line = variant.count("\n", 0, token.start) + 1
            shown = token.text if len(token.text) <= 40 else token.text[:37] + "..."
            said = keyword if token.text.upper() == keyword else f"{keyword} (in {shown!r})"
            hint = "kzld runs read-only queries over the loaded data only"
            if token.kind == "pname":
                hint = f"pyoxigraph reads this name as {keyword}: rename the prefix"
            raise UsageError(f"{origin}:{line}: {said} is refused: {REFUSED[keyword]}", hint=hint)


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the query's form, from its first such keyword."""
    for token in tokens(text):
        if token.kind == "word":
            word = token.text.upper()
            for form in _FORMS:
                if word.startswith(form):  # pyoxigraph accepts "SELECT*" glued, as words
                    return form
    raise UsageError("the query has no SELECT, CONSTRUCT, DESCRIBE or ASK")
