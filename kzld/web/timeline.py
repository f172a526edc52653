"""The timeline picture: one row per post under its full name, one bar per tenure with its
holder's name, dismissals, arrests and sentences marked and named, a legend of every style
drawn; dates at the precision the data gives, each end drawn as what is known of it (a
date, inferred from the succession, in office as of a date, unknown). SVG, no script."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

import pyoxigraph as ox

from kzld.vocabulary import KZ, XSD
from kzld.web.index import Index

Link = Callable[[ox.NamedNode], str | None]

# Laid out for the page column (60rem, 960 px): at a 1200 px window the picture is drawn at
# its own size, so no text is smaller than 13 px; narrower windows scale it down.
WIDTH = 940
_MARGIN = 10
_FONT = 13  # holder names, markers, legend, years
_POST_FONT = 14
_HEADER = 26  # the post's name above its tracks
_TRACK = 34  # one tenure: its holder's name above its bar
_EVENT_TRACK = 24  # one named marker
_BAR = 12
_GAP = 8  # between two labels on one track
_TOP = 30
_STUB = dt.timedelta(days=240)  # how far an unknown start or end is drawn from a known date

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
    # Where a date not given by the tenure itself comes from: "succession" (the
    # neighbour's date) or "held-on" (a day the holder is known to have held the post).
    start_from: str | None = None
    end_from: str | None = None
    held_on: list[Span] = field(default_factory=list)
    in_office_as_of: Span | None = None  # no end: in office on this date, per its source


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
        if bar.end is None:
            bar.in_office_as_of = _envelope(_dates(index, subject, "inOfficeAsOf"))
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
    predecessor's end (drawn as inferred); a tenure known only on some day is drawn there."""
    if bar.end is None and bar.in_office_as_of is None:
        starts = [bars[s].start for s in sorted(successors[bar.tenure], key=lambda n: n.value)]
        starts = [s for s in starts if s is not None and s.text != "?"]
        if starts:
            bar.end, bar.end_from = starts[0], "succession"
    if bar.start is None:
        ends = [bars[p].end for p, after in successors.items() if bar.tenure in after]
        ends = [e for e in ends if e is not None]
        if ends:
            bar.start, bar.start_from = min(ends, key=lambda e: e.first), "succession"
    if bar.start is None and bar.held_on:
        bar.start, bar.start_from = _envelope(bar.held_on), "held-on"
    if bar.end is None and bar.in_office_as_of is None and bar.held_on:
        bar.end, bar.end_from = _envelope(bar.held_on), "held-on"


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


def text_width(text: str, size: float = _FONT, bold: bool = False) -> float:
    """A generous estimate of the width sans-serif text takes: labels are placed so that
    even these widths never overlap (the tests measure the real boxes in Chromium)."""
    em = 0.0
    for ch in text:
        if ch in "il.,:;'|!()[]jft ":
            em += 0.36
        elif ch in "mwMW—–":
            em += 0.92
        elif ch.isupper() or ch.isdigit():
            em += 0.7
        else:
            em += 0.58
    return em * size * (1.1 if bold else 1.0) + 2


@dataclass
class _Item:
    """Something drawn on its own track: a tenure with its label, or a named marker."""

    left: float
    right: float
    draw: Callable[[float], str]  # SVG for the track whose top is this y


def _pack(items: list[_Item]) -> list[list[_Item]]:
    """Items on as few tracks as keep every two on one track apart (first fit, in order)."""
    tracks: list[list[_Item]] = []
    for item in items:
        for track in tracks:
            if track[-1].right + _GAP <= item.left:
                track.append(item)
                break
        else:
            tracks.append([item])
    return tracks


def _label_at(left: float, width: float) -> float:
    """Where a label starting at `left` goes so that it stays inside the picture."""
    return max(_MARGIN, min(left, WIDTH - _MARGIN - width))


def timeline_svg(index: Index, link: Link, standalone: bool = True) -> str:
    """The picture as SVG text; identical input gives identical bytes."""
    rows = collect(index)
    events = marks(index, rows)
    posts = sorted(rows, key=lambda p: (index.label(p).casefold(), p.value))
    days = [
        d
        for bars in rows.values()
        for b in bars
        for s in (b.start, b.end, b.in_office_as_of)
        if s
        for d in (s.first, s.last)
    ]
    days += [m.date.first for ms in events.values() for m in ms]
    if not days:
        first_year = last_year = 2022
    else:
        first_year = (min(days) - _STUB).year
        last_year = (max(days) + _STUB).year
    axis_start = dt.date(first_year, 1, 1)
    per_year = (WIDTH - 2 * _MARGIN) / (last_year + 1 - first_year)

    def x(day: dt.date) -> float:
        return round(_MARGIN + (day - axis_start).days * per_year / 365.25, 2)

    used: set[str] = set()
    body: list[str] = []
    y = _TOP
    for post in posts:
        row_svg, height = _row_svg(index, link, post, rows[post], events.get(post, []), x, y, used)
        body.append(row_svg)
        y += height
    chart_bottom = y
    legend_svg, legend_height = _legend(chart_bottom + 16, used)
    height = chart_bottom + 16 + legend_height + 8

    out = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="{_FONT}" '
        'role="img" aria-labelledby="timeline-title">'
    )
    out.append('<title id="timeline-title">Who held which post when</title>')
    out.append(_DEFS)
    out.append(f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>')
    for year in range(first_year, last_year + 2):
        gx = x(dt.date(year, 1, 1))
        out.append(
            f'<line class="year" x1="{gx}" y1="{_TOP - 8}" x2="{gx}" '
            f'y2="{chart_bottom}" stroke="#e3e3e3"/>'
        )
        if year <= last_year:
            out.append(f'<text class="year" x="{gx + 3}" y="{_TOP - 12}" fill="#555">{year}</text>')
    out += body
    out.append(legend_svg)
    if not posts:
        out.append(f'<text x="{_MARGIN}" y="{_TOP + 20}">No tenures in the data.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _row_svg(index, link, post, bars, row_marks, x, top, used) -> tuple[str, float]:
    """One post: its full name, a track per tenure (or shared where they do not meet), the
    undated holders, and its named markers; returns the SVG and the height it takes."""
    name = index.label(post)
    parts = [
        f'<g class="post" data-post="{escape(post.value)}">',
        f'<line x1="{_MARGIN}" y1="{top}" x2="{WIDTH - _MARGIN}" y2="{top}" stroke="#bbb"/>',
        _anchor_open(link, post)
        + f'<text class="post-name" x="{_MARGIN}" y="{top + 18}" font-weight="bold" '
        f'font-size="{_POST_FONT}">{escape(name)}</text>' + _anchor_close(link, post),
    ]
    y = top + _HEADER
    items = []
    undated = []
    for bar in bars:
        if bar.start is None and bar.end is None and bar.in_office_as_of is None:
            undated.append(bar)
            continue
        items.append(_tenure_item(index, link, bar, x, used))
    tracks = _pack(items)
    row_of = {id(item): n for n, track in enumerate(tracks) for item in track}
    parts += [item.draw(y + _TRACK * row_of[id(item)]) for item in items]  # succession order
    y += _TRACK * len(tracks)
    if undated:
        names = ", ".join(index.label(b.holder) for b in undated)
        for line in _wrapped(f"dates unknown: {names}", WIDTH - 2 * _MARGIN):
            parts.append(
                f'<text class="undated" x="{_MARGIN}" y="{y + 14}" fill="#555">'
                f"{escape(line)}</text>"
            )
            y += 20
        y += 4
    mark_items = [_mark_item(m, x, used) for m in row_marks]  # in date order
    tracks = _pack(mark_items)
    row_of = {id(item): n for n, track in enumerate(tracks) for item in track}
    parts += [item.draw(y + _EVENT_TRACK * row_of[id(item)]) for item in mark_items]
    y += _EVENT_TRACK * len(tracks)
    parts.append("</g>")
    return "".join(parts), y - top + 6


def _wrapped(text: str, width: float) -> list[str]:
    lines, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + [current]


def _tenure_item(index: Index, link: Link, bar: Bar, x, used: set[str]) -> _Item:
    holder = index.label(bar.holder) if bar.holder else "?"
    # Each end drawn as what is known of it: a day, a month or year (shaded), a date taken
    # from the succession, no start known, no end known, in office as of a date.
    pieces: list[tuple[float, float, str]] = []  # (from, to, style), left to right
    start, end, as_of = bar.start, bar.end, bar.in_office_as_of
    held = bar.start_from == "held-on"
    if start is None:
        known = end or as_of
        pieces.append((x(known.first - _STUB), x(known.first), "start-unknown"))
        solid_from = x(known.first)
    else:
        if held:
            pieces.append((x(start.first - _STUB), x(start.first), "start-unknown"))
        if start.first != start.last:
            style = "inferred" if bar.start_from == "succession" else "uncertain"
            pieces.append((x(start.first), x(start.last), style))
        elif bar.start_from == "succession":
            pieces.append((x(start.first), x(start.first) + 3, "inferred"))
        solid_from = x(start.last)
    if end is not None and bar.end_from != "held-on":
        solid_to = x(end.first)
    elif as_of is not None:
        solid_to = x(as_of.last)
    else:
        solid_to = solid_from
    pieces.append((solid_from, max(solid_to, solid_from + 3), "span"))
    if end is not None and bar.end_from == "held-on":
        pieces.append((x(end.last), x(end.last + _STUB), "end-unknown"))
    elif end is not None and end.first != end.last:
        style = "inferred" if bar.end_from == "succession" else "uncertain"
        pieces.append((x(end.first), x(end.last), style))
    elif end is not None and bar.end_from == "succession":
        pieces.append((x(end.first) - 3, x(end.first), "inferred"))
    elif end is None and as_of is None:
        pieces.append((solid_to, x((start or end).last + _STUB), "end-unknown"))
    left, right = pieces[0][0], max(p[1] for p in pieces)
    arrow = end is None and as_of is not None
    label_width = text_width(holder)
    label_x = _label_at(left, label_width)
    title = f"{holder}: {_period_text(bar)}"
    used.update(style for _, _, style in pieces)
    if arrow:
        used.add("in-office")

    def draw(y: float) -> str:
        bar_y = y + 18
        parts = [
            f'<g class="tenure" data-holder="{escape(holder)}">',
            _anchor_open(link, bar.tenure),
            f"<title>{escape(title)}</title>",
        ]
        for start_x, end_x, style in pieces:
            parts.append(_rect(start_x, bar_y, end_x - start_x, _FILLS[style], style))
        if arrow:
            parts.append(
                f'<path class="in-office" d="M{right} {bar_y - 3}L{right + 9} {bar_y + _BAR / 2}'
                f'L{right} {bar_y + _BAR + 3}Z" fill="#3a6ea5"/>'
            )
        parts.append(_anchor_close(link, bar.tenure))
        parts.append(
            _anchor_open(link, bar.holder) + f'<text class="holder" x="{label_x}" '
            f'y="{y + 13}">{escape(holder)}</text>' + _anchor_close(link, bar.holder)
        )
        parts.append("</g>")
        return "".join(parts)

    return _Item(min(left, label_x), max(right + (10 if arrow else 0), label_x + label_width), draw)


_FILLS = {
    "span": "#3a6ea5",
    "uncertain": "url(#uncertain)",
    "inferred": "url(#inferred)",
    "start-unknown": "url(#start-unknown)",
    "end-unknown": "url(#end-unknown)",
}


def _period_text(bar: Bar) -> str:
    """The tenure's dates in words, saying where each comes from."""
    if bar.start is None:
        start = "start unknown"
    else:
        start = bar.start.text
        if bar.start_from == "succession":
            start += " (the predecessor's end)"
        elif bar.start_from == "held-on":
            start = f"in office on {bar.start.text}"
    if bar.end is not None:
        end = bar.end.text
        if bar.end_from == "succession":
            end += " (the successor's start)"
        elif bar.end_from == "held-on":
            end = "end unknown"
    elif bar.in_office_as_of is not None:
        end = f"in office as of {bar.in_office_as_of.text} (per its source)"
    else:
        end = "end unknown"
    if bar.start_from == "held-on" and bar.end_from == "held-on":
        return f"in office on {bar.start.text}; start and end unknown"
    return f"{start} – {end}"


def _rect(left: float, y: float, width: float, fill: str, css: str) -> str:
    outline = ' stroke="#777" stroke-dasharray="3 3"' if css == "end-unknown" else ""
    return (
        f'<rect class="{css}" x="{round(left, 2)}" y="{y}" width="{max(round(width, 2), 1.5)}" '
        f'height="{_BAR}" fill="{fill}"{outline}/>'
    )


def _mark_shape(kind: str, cx: float, cy: float) -> str:
    return {
        "dismissal": f'<path d="M{cx - 5} {cy - 5}L{cx + 5} {cy + 5}M{cx - 5} {cy + 5}'
        f'L{cx + 5} {cy - 5}" stroke="#c0392b" stroke-width="3"/>',
        "arrest": f'<path d="M{cx} {cy - 7}L{cx + 7} {cy}L{cx} {cy + 7}L{cx - 7} {cy}Z" '
        'fill="#111"/>',
        "sentence": f'<rect x="{cx - 6}" y="{cy - 6}" width="12" height="12" fill="#7d3c98"/>',
    }[kind]


def _mark_item(mark: Mark, x, used: set[str]) -> _Item:
    cx = x(mark.date.first + (mark.date.last - mark.date.first) / 2)
    width = text_width(mark.title)
    text_x = cx + 10
    if text_x + width > WIDTH - _MARGIN:  # no room on the right: the name goes on the left
        text_x = max(_MARGIN, cx - 10 - width)
    used.add(mark.kind)

    def draw(y: float) -> str:
        cy = y + 11
        return (
            f'<g class="mark {mark.kind}"><title>{escape(mark.title)}</title>'
            f"{_mark_shape(mark.kind, round(cx, 1), cy)}"
            f'<text class="mark-name" x="{round(text_x, 1)}" y="{cy + 4}">{escape(mark.title)}'
            "</text></g>"
        )

    return _Item(min(cx - 8, text_x), max(cx + 8, text_x + width), draw)


# Every style the picture can use, in the order the legend lists them.
_LEGEND = (
    ("span", '<rect x="0" y="-10" width="24" height="12" fill="#3a6ea5"/>', "in office"),
    (
        "uncertain",
        '<rect x="0" y="-10" width="24" height="12" fill="url(#uncertain)"/>',
        "date known to the month or year only",
    ),
    (
        "inferred",
        '<rect x="0" y="-10" width="24" height="12" fill="url(#inferred)"/>',
        "dates taken from the succession",
    ),
    (
        "start-unknown",
        '<rect x="0" y="-10" width="24" height="12" fill="url(#start-unknown)"/>',
        "start unknown",
    ),
    (
        "end-unknown",
        '<rect x="0" y="-10" width="24" height="12" fill="url(#end-unknown)" stroke="#777" '
        'stroke-dasharray="3 3"/>',
        "end unknown",
    ),
    (
        "in-office",
        '<path d="M8 -13L17 -4L8 5Z" fill="#3a6ea5"/>',
        "in office as of its latest source",
    ),
    ("dismissal", _mark_shape("dismissal", 12, -4), "dismissal"),
    ("arrest", _mark_shape("arrest", 12, -4), "arrest or detention"),
    ("sentence", _mark_shape("sentence", 12, -4), "sentence"),
)


def _legend(y: float, used: set[str]) -> tuple[str, float]:
    """An entry for every style the picture uses, wrapped to its width."""
    out = [f'<g class="legend" transform="translate({_MARGIN} {y + 12})">']
    offset, line = 0.0, 0
    for key, shape, text in _LEGEND:
        if key not in used:
            continue
        width = 30 + text_width(text) + 18
        if offset and offset + width > WIDTH - 2 * _MARGIN:
            offset, line = 0.0, line + 1
        out.append(
            f'<g class="legend-item" data-style="{key}" '
            f'transform="translate({round(offset, 1)} {line * 22})">{shape}'
            f'<text x="30" y="0">{escape(text)}</text></g>'
        )
        offset += width
    out.append("</g>")
    return "".join(out), (line + 1) * 22


def _anchor_open(link: Link, node: ox.NamedNode | None) -> str:
    href = link(node) if node is not None else None
    return f'<a href="{escape(href)}">' if href else ""


def _anchor_close(link: Link, node: ox.NamedNode | None) -> str:
    href = link(node) if node is not None else None
    return "</a>" if href else ""


_DEFS = (
    "<defs>"
    '<pattern id="uncertain" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#a9c4e2"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#3a6ea5" stroke-width="2"/></pattern>'
    '<pattern id="inferred" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#dde6f0"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#8aa4c0" stroke-width="2"/></pattern>'
    '<linearGradient id="start-unknown"><stop offset="0" stop-color="#3a6ea5" '
    'stop-opacity="0"/><stop offset="1" stop-color="#3a6ea5" stop-opacity="0.8"/>'
    "</linearGradient>"
    '<pattern id="end-unknown" width="8" height="8" patternUnits="userSpaceOnUse">'
    '<rect width="8" height="8" fill="#f4f4f4"/><circle cx="4" cy="4" r="1.2" fill="#777"/>'
    "</pattern>"
    "</defs>"
)
