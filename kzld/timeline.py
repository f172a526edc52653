"""The timeline picture: one row per post, one bar per tenure, dismissals, arrests and
sentences marked, dates drawn at the precision the data gives (SVG, no script)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

import pyoxigraph as ox

from kzld.site import KZ, XSD, Index

Link = Callable[[ox.NamedNode], str | None]

_LEFT = 330  # width of the post-name column
_YEAR = 96  # pixels per year
_ROW = 68
_LANES = (34, 47, 60)  # baselines for holder names, so neighbours do not overlap
_TOP = 46
_STUB = dt.timedelta(days=240)  # how far back an unknown start is drawn before a known end

# Marker kinds: ontology class (and its subclasses) -> (css class, legend text).
_MARKED = (
    ("Dismissal", "dismissal", "dismissal"),
    ("Arrest", "arrest", "arrest or detention"),
    ("Sentence", "sentence", "sentence"),
)


@dataclass
class Span:
    """A date as written, as the first and last day it may mean."""

    first: dt.date
    last: dt.date
    text: str


@dataclass
class Bar:
    tenure: ox.NamedNode
    holder: ox.NamedNode | None
    start: Span | None = None
    end: Span | None = None
    start_inferred: bool = False
    end_inferred: bool = False
    held_on: list[Span] = field(default_factory=list)


@dataclass
class Mark:
    kind: str
    date: Span
    title: str
    subject: ox.NamedNode


def span_of(literal: object) -> Span | None:
    """xsd:date, xsd:gYearMonth or xsd:gYear as the days it covers; None for anything else."""
    if not isinstance(literal, ox.Literal):
        return None
    kind = literal.datatype.value[len(XSD) :] if literal.datatype.value.startswith(XSD) else ""
    text = literal.value
    try:
        if kind == "date":
            day = dt.date.fromisoformat(text[:10])
            return Span(day, day, text)
        if kind == "gYearMonth":
            year, month = int(text[:4]), int(text[5:7])
            last = calendar.monthrange(year, month)[1]
            return Span(dt.date(year, month, 1), dt.date(year, month, last), text)
        if kind == "gYear":
            year = int(text[:4])
            return Span(dt.date(year, 1, 1), dt.date(year, 12, 31), text)
    except ValueError:
        return None
    return None


def _envelope(spans: list[Span]) -> Span | None:
    """Several claimed dates (a recorded conflict) drawn as one uncertain stretch."""
    if not spans:
        return None
    ordered = sorted(spans, key=lambda s: (s.first, s.last, s.text))
    text = " / ".join(s.text for s in ordered)
    return Span(min(s.first for s in spans), max(s.last for s in spans), text)


def _dates(index: Index, node: object, name: str) -> list[Span]:
    found = [span_of(v) for v in index.values(node, ox.NamedNode(KZ + name))]
    return [s for s in found if s is not None]


def collect(index: Index) -> dict[ox.NamedNode, list[Bar]]:
    """Tenures grouped by post, each row in succession order."""
    post_p, holder_p = ox.NamedNode(KZ + "post"), ox.NamedNode(KZ + "holder")
    bars: dict[ox.NamedNode, Bar] = {}
    rows: dict[ox.NamedNode, list[Bar]] = {}
    for subject in index.outgoing:
        posts = index.values(subject, post_p)
        holders = index.values(subject, holder_p)
        if not posts or not holders or not isinstance(subject, ox.NamedNode):
            continue
        bar = Bar(
            subject,
            holders[0],
            _envelope(_dates(index, subject, "start")),
            _envelope(_dates(index, subject, "end")),
        )
        bar.held_on = _dates(index, subject, "heldOn")
        bars[subject] = bar
        rows.setdefault(posts[0], []).append(bar)
    successors = _successions(index, bars)
    for bar in bars.values():
        _infer(bar, bars, successors)
    return {post: _in_succession(row, successors) for post, row in rows.items()}


def _successions(index: Index, bars: dict) -> dict[ox.NamedNode, set[ox.NamedNode]]:
    """tenure -> tenures that followed it, from kz:replacedBy and kz:replaces alike."""
    following: dict[ox.NamedNode, set[ox.NamedNode]] = {t: set() for t in bars}
    for tenure in bars:
        for after in index.values(tenure, ox.NamedNode(KZ + "replacedBy")):
            if after in bars:
                following[tenure].add(after)
        for before in index.values(tenure, ox.NamedNode(KZ + "replaces")):
            if before in bars:
                following[before].add(tenure)
    return following


def _infer(bar: Bar, bars: dict, successors: dict) -> None:
    """Fill a missing end from the successor's start and a missing start from the
    predecessor's end; both are drawn as inferred."""
    if bar.start is None and bar.held_on:
        bar.start, bar.start_inferred = _envelope(bar.held_on), True
    if bar.end is None and bar.held_on:
        bar.end, bar.end_inferred = _envelope(bar.held_on), True
    if bar.end is None:
        starts = [bars[s].start for s in sorted(successors[bar.tenure], key=lambda n: n.value)]
        starts = [s for s in starts if s is not None]
        if starts:
            bar.end, bar.end_inferred = starts[0], True
    if bar.start is None:
        ends = [bars[p].end for p, after in successors.items() if bar.tenure in after]
        ends = [e for e in ends if e is not None]
        if ends:
            bar.start, bar.start_inferred = min(ends, key=lambda e: e.first), True


def _anchor(bar: Bar) -> dt.date:
    for span in (bar.start, bar.end):
        if span is not None:
            return span.first
    return dt.date.max


def _in_succession(row: list[Bar], successors: dict) -> list[Bar]:
    """Topological order along kz:replaces / kz:replacedBy, earliest date first among
    tenures the chain does not order (so an undated predecessor still comes first)."""
    members = {b.tenure: b for b in row}
    waiting = {t: 0 for t in members}
    for before, afters in successors.items():
        if before in members:
            for after in afters:
                if after in members:
                    waiting[after] += 1
    ordered: list[Bar] = []
    ready = [members[t] for t, n in waiting.items() if n == 0]
    while ready:
        ready.sort(key=lambda b: (_anchor(b), b.tenure.value))
        bar = ready.pop(0)
        ordered.append(bar)
        for after in successors.get(bar.tenure, ()):
            if after in waiting:
                waiting[after] -= 1
                if waiting[after] == 0:
                    ready.append(members[after])
    # A cycle in the data: keep what is left in date order rather than dropping it.
    rest = [b for b in row if b not in ordered]
    return ordered + sorted(rest, key=lambda b: (_anchor(b), b.tenure.value))


def marks(index: Index, rows: dict[ox.NamedNode, list[Bar]]) -> dict[ox.NamedNode, list[Mark]]:
    """Dismissals, arrests and sentences, each on the row of the post concerned."""
    tenure_post = {b.tenure: post for post, bars in rows.items() for b in bars}
    tenure_bar = {b.tenure: b for bars in rows.values() for b in bars}
    by_holder: dict[ox.NamedNode, list[Bar]] = {}
    for bars in rows.values():
        for b in bars:
            by_holder.setdefault(b.holder, []).append(b)
    found: dict[ox.NamedNode, list[Mark]] = {}
    dismissed_tenures: set[ox.NamedNode] = set()
    for class_name, kind, _ in _MARKED:
        classes = index.subclasses(ox.NamedNode(KZ + class_name))
        events = sorted(
            (s for s in index.outgoing if any(t in classes for t in index.types(s))),
            key=lambda n: n.value,
        )
        for event in events:
            span = _envelope(_dates(index, event, "date"))
            ended = [
                t for t in index.values(event, ox.NamedNode(KZ + "endsTenure")) if t in tenure_post
            ]
            if ended:
                bar = tenure_bar[ended[0]]
                span = span or bar.end
                if kind == "dismissal":
                    dismissed_tenures.add(bar.tenure)
            else:
                people = index.values(event, ox.NamedNode(KZ + "person"))
                bar = _bar_at(by_holder.get(people[0], []) if people else [], span)
            if bar is None or span is None:
                continue
            title = f"{index.label(event)} ({span.text})"
            found.setdefault(tenure_post[bar.tenure], []).append(Mark(kind, span, title, event))
    # A tenure ended by dismissal with no dismissal event recorded is still marked.
    for post, bars in rows.items():
        for bar in bars:
            causes = index.values(bar.tenure, ox.NamedNode(KZ + "endCause"))
            if ox.NamedNode(KZ + "dismissed") in causes and bar.tenure not in dismissed_tenures:
                if bar.end is not None:
                    title = f"{index.label(bar.holder)} dismissed ({bar.end.text})"
                    found.setdefault(post, []).append(Mark("dismissal", bar.end, title, bar.tenure))
    return {
        post: sorted(m, key=lambda m: (m.date.first, m.kind, m.subject.value))
        for post, m in found.items()
    }


def _bar_at(bars: list[Bar], span: Span | None) -> Bar | None:
    """The tenure a person held at that date, else the last one begun before it."""
    if not bars or span is None:
        return None
    dated = [b for b in bars if b.start is not None]
    before = [b for b in dated if b.start.first <= span.first]
    if not before:
        return None
    return max(before, key=lambda b: (b.start.first, b.tenure.value))


def timeline_svg(index: Index, link: Link, standalone: bool = True) -> str:
    """The picture as SVG text; identical input gives identical bytes."""
    rows = collect(index)
    events = marks(index, rows)
    posts = sorted(rows, key=lambda p: (index.label(p).casefold(), p.value))
    days = [
        d
        for bars in rows.values()
        for b in bars
        for s in (b.start, b.end)
        if s
        for d in (s.first, s.last)
    ]
    days += [m.date.first for ms in events.values() for m in ms]
    if not days:
        first_year = last_year = 2022
    else:
        first_year = (min(days) - _STUB).year
        last_year = max(days).year
    axis_start = dt.date(first_year, 1, 1)
    axis_end = dt.date(last_year + 1, 1, 1)
    width = _LEFT + _YEAR * (last_year + 1 - first_year) + 160  # room for the last name
    height = _TOP + _ROW * max(len(posts), 1) + 60

    def x(day: dt.date) -> float:
        return round(_LEFT + (day - axis_start).days * _YEAR / 365.25, 1)

    out = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
        'role="img" aria-labelledby="timeline-title">'
    )
    out.append('<title id="timeline-title">Who held which post when</title>')
    out.append(_DEFS)
    out.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    for year in range(first_year, last_year + 2):
        gx = x(dt.date(year, 1, 1))
        out.append(
            f'<line class="year" x1="{gx}" y1="{_TOP - 8}" x2="{gx}" '
            f'y2="{_TOP + _ROW * len(posts)}" stroke="#e3e3e3"/>'
        )
        if year <= last_year:
            out.append(f'<text class="year" x="{gx + 3}" y="{_TOP - 14}" fill="#555">{year}</text>')
    for number, post in enumerate(posts):
        top = _TOP + number * _ROW
        out.append(f'<g class="post" data-post="{escape(post.value)}">')
        out.append(
            _anchor_open(link, post) + f'<text class="post-name" x="8" y="{top + 19}" '
            f'font-weight="bold">{escape(_short(index.label(post), 48))}</text>'
            + _anchor_close(link, post)
        )
        undated = []
        lane_ends = [float("-inf")] * len(_LANES)
        for bar in rows[post]:
            if bar.start is None and bar.end is None:
                undated.append(bar)
                continue
            left = x(bar.start.first if bar.start else bar.end.first - _STUB)
            free = [n for n, end in enumerate(lane_ends) if end < left]
            lane = free[0] if free else lane_ends.index(min(lane_ends))
            lane_ends[lane] = left + 7 * len(index.label(bar.holder)) + 6
            out.append(_bar_svg(index, link, bar, x, top + _LANES[lane], top, axis_end))
        if undated:
            names = ", ".join(index.label(b.holder) for b in undated)
            out.append(
                f'<text class="undated" x="8" y="{top + 36}" fill="#777" font-size="11">'
                f"undated: {escape(_short(names, 44))}</text>"
            )
        for mark in events.get(post, []):
            out.append(_mark_svg(mark, x, top))
        out.append("</g>")
    out.append(_legend(_TOP + _ROW * max(len(posts), 1) + 22))
    if not posts:
        out.append(f'<text x="{_LEFT}" y="{_TOP + 20}">No tenures in the data.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _bar_svg(index: Index, link: Link, bar: Bar, x, label_y: int, top: int, axis_end) -> str:
    start = bar.start or Span(bar.end.first - _STUB, bar.end.first, "?")
    solid_from = x(start.last)
    open_ended = bar.end is None
    solid_to = x(axis_end) if open_ended else x(bar.end.first)
    holder = index.label(bar.holder) if bar.holder else "?"
    start_text = "start unknown" if bar.start is None else start.text
    end_text = "to date" if open_ended else bar.end.text
    if bar.start_inferred or bar.end_inferred:
        end_text += " (partly inferred from the succession)"
    title = f"{holder}: {start_text} – {end_text}"
    y = top + 6
    parts = [
        f'<g class="tenure" data-holder="{escape(holder)}">',
        _anchor_open(link, bar.tenure),
        f"<title>{escape(title)}</title>",
    ]
    # The uncertain part of each end (month/year precision, inferred) is shaded.
    if bar.start is None or bar.start_inferred:
        parts.append(_rect(x(start.first), y, solid_to - x(start.first), "url(#unknown)"))
    elif start.first != start.last:
        parts.append(_rect(x(start.first), y, solid_from - x(start.first), "url(#uncertain)"))
    if bar.start is not None and not bar.start_inferred:
        fill = "url(#ongoing)" if open_ended else "#3a6ea5"
        parts.append(_rect(solid_from, y, solid_to - solid_from, fill, solid=True))
    if bar.end is not None:
        end_fill = "url(#unknown)" if bar.end_inferred else "url(#uncertain)"
        if bar.end.first != bar.end.last:
            parts.append(_rect(x(bar.end.first), y, x(bar.end.last) - x(bar.end.first), end_fill))
    parts.append(_anchor_close(link, bar.tenure))
    parts.append(
        _anchor_open(link, bar.holder) + f'<text class="holder" x="{x(start.first)}" '
        f'y="{label_y}">{escape(holder)}</text>' + _anchor_close(link, bar.holder)
    )
    parts.append("</g>")
    return "".join(parts)


def _rect(left: float, y: int, width: float, fill: str, solid: bool = False) -> str:
    css = "span" if solid else "uncertain"
    return (
        f'<rect class="{css}" x="{left}" y="{y}" width="{max(round(width, 1), 1.5)}" '
        f'height="16" fill="{fill}"/>'
    )


def _mark_svg(mark: Mark, x, top: int) -> str:
    cx = x(mark.date.first + (mark.date.last - mark.date.first) / 2)
    cy = top + 14
    shape = {
        "dismissal": f'<path d="M{cx - 6} {cy - 6}L{cx + 6} {cy + 6}M{cx - 6} {cy + 6}'
        f'L{cx + 6} {cy - 6}" stroke="#c0392b" stroke-width="3"/>',
        "arrest": f'<path d="M{cx} {cy - 8}L{cx + 8} {cy}L{cx} {cy + 8}L{cx - 8} {cy}Z" '
        'fill="#111" stroke="#fff"/>',
        "sentence": f'<rect x="{cx - 6}" y="{cy - 6}" width="12" height="12" fill="#7d3c98" '
        'stroke="#fff"/>',
    }[mark.kind]
    return f'<g class="mark {mark.kind}"><title>{escape(mark.title)}</title>{shape}</g>'


def _legend(y: int) -> str:
    items = [
        ('<rect x="0" y="-10" width="22" height="12" fill="#3a6ea5"/>', "tenure"),
        (
            '<rect x="0" y="-10" width="22" height="12" fill="url(#uncertain)"/>',
            "date known to the month or year only",
        ),
        (
            '<rect x="0" y="-10" width="22" height="12" fill="url(#unknown)"/>',
            "inferred or unknown",
        ),
        ('<path d="M5 -10L17 2M5 2L17 -10" stroke="#c0392b" stroke-width="3"/>', "dismissal"),
        ('<path d="M11 -12L19 -4L11 4L3 -4Z" fill="#111"/>', "arrest or detention"),
        ('<rect x="5" y="-10" width="12" height="12" fill="#7d3c98"/>', "sentence"),
    ]
    out = [f'<g class="legend" transform="translate(8 {y})">']
    offset = 0
    for shape, text in items:
        out.append(
            f'<g transform="translate({offset} 0)">{shape}'
            f'<text x="28" y="0">{escape(text)}</text></g>'
        )
        offset += 40 + 7 * len(text)
    out.append("</g>")
    return "".join(out)


def _anchor_open(link: Link, node: ox.NamedNode | None) -> str:
    href = link(node) if node is not None else None
    return f'<a href="{escape(href)}">' if href else ""


def _anchor_close(link: Link, node: ox.NamedNode | None) -> str:
    href = link(node) if node is not None else None
    return "</a>" if href else ""


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DEFS = (
    "<defs>"
    '<pattern id="uncertain" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#a9c4e2"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#3a6ea5" stroke-width="2"/></pattern>'
    '<pattern id="unknown" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#aaaaaa" stroke-width="2"/></pattern>'
    '<linearGradient id="ongoing"><stop offset="0" stop-color="#3a6ea5"/>'
    '<stop offset="0.7" stop-color="#3a6ea5"/><stop offset="1" stop-color="#3a6ea5" '
    'stop-opacity="0.15"/></linearGradient>'
    "</defs>"
)
