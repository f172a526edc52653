"""`kzld site` and the timeline picture: pages, links, escaping, determinism, and the SVG
read back as XML."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

from kzld.loading.graph import load_graph
from kzld.web.site import Index, build_site
from kzld.web.timeline import span_of, timeline_svg

FIXTURE = Path(__file__).parent / "fixtures" / "web.ttl"
ID = "https://w3id.org/kzld/id/"
KZ = "https://w3id.org/kzld/ontology#"
SVG = "{http://www.w3.org/2000/svg}"
XSD = "http://www.w3.org/2001/XMLSchema#"
MINISTER = ID + "post/minister-of-defence"


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    (out / "kzld.ttl").write_text("# a dump left by kzld build\n", encoding="utf-8")
    (out / "SHA256SUMS").write_text("", encoding="utf-8")
    (out / "unrelated.ttl").write_text("# not a kzld build file\n", encoding="utf-8")
    build_site(load_graph([FIXTURE]), out)
    return out


def test_site_has_landing_entity_ontology_and_timeline(fixture_site):
    for name in [
        "index.html",
        "ontology.html",
        "timeline.svg",
        "id/person/murat-bektanov.html",
        "id/tenure/murat-bektanov--minister-of-defence.html",
    ]:
        assert (fixture_site / name).is_file(), name
    landing = (fixture_site / "index.html").read_text(encoding="utf-8")
    assert '<a href="kzld.ttl">kzld.ttl</a>' in landing
    assert '<a href="SHA256SUMS">SHA256SUMS</a>' in landing
    assert "unrelated.ttl" not in landing
    assert '<a href="timeline.svg">' not in landing or "<svg" in landing
    assert "<svg" in landing  # the timeline is drawn in the page itself


def test_entity_page_content_and_escaping(fixture_site):
    page = (fixture_site / "id/tenure/murat-bektanov--minister-of-defence.html").read_text()
    assert '<blockquote lang="en">Bektanov was &lt;b&gt;dismissed&lt;/b&gt; on 19 January' in page
    assert '<a href="../source/test-source-2023.html">A test source (2023)</a>' in page
    assert '2021-08-31</span> <span class="meta">(day)' in page
    evil = (fixture_site / "id/person/script-kiddie.html").read_text()
    assert "<script>" not in evil and "&lt;script&gt;alert(1)&lt;/script&gt;" in evil


def test_every_relative_link_resolves(fixture_site):
    pages = sorted(fixture_site.rglob("*.html")) + [fixture_site / "timeline.svg"]
    checked = 0
    for page in pages:
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            parts = urlsplit(href)
            if parts.scheme or not parts.path:
                continue
            target = (page.parent / parts.path).resolve()
            assert target.is_file(), f"{page.relative_to(fixture_site)} links to missing {href}"
            checked += 1
    assert checked > 30


def test_site_links_a_real_build_in_its_own_folder(run_kzld, tmp_path):
    dumps, site = tmp_path / "public" / "dumps", tmp_path / "public"
    site.mkdir()
    built = run_kzld("build", "--out", dumps)
    assert built.exit_code == 0, built.stderr
    result = run_kzld("site", "--out", site, "--dumps", dumps)
    assert result.exit_code == 0, result.stderr
    landing = (site / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<ul class="downloads">(.*?)</ul>', landing)[0]
    hrefs = re.findall(r'href="([^"]+)"', links)
    published = sorted(p.name for p in dumps.iterdir() if not p.name.startswith("."))
    assert sorted(h.removeprefix("dumps/") for h in hrefs) == published
    assert all((site / h).is_file() for h in hrefs)
    verified = run_kzld("verify", "--out", dumps)
    assert verified.exit_code == 0, verified.stdout + verified.stderr


def test_site_is_deterministic_across_hash_seeds(run_kzld, tmp_path):
    outs = []
    for seed in ("0", "4242"):
        out = tmp_path / seed
        result = run_kzld("site", "--data", FIXTURE, "--out", out, env={"PYTHONHASHSEED": seed})
        assert result.exit_code == 0, result.stderr
        outs.append(
            {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        )
    assert outs[0] == outs[1]


def test_site_into_a_file_is_an_output_error(kzld, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder", encoding="utf-8")
    result = kzld("site", "--data", FIXTURE, "--out", blocker)
    assert result.exit_code == 5
    assert "cannot write" in result.stderr and "hint:" in result.stderr
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_ontology_page_documents_every_class_and_property(bundled_graph, tmp_path):
    build_site(bundled_graph, tmp_path)
    page = (tmp_path / "ontology.html").read_text(encoding="utf-8")
    owl = "http://www.w3.org/2002/07/owl#"
    declared = {
        t.subject.value[len(KZ) :]
        for t in bundled_graph.triples
        if t.predicate.value.endswith("#type")
        and t.object.value in {owl + "Class", owl + "ObjectProperty", owl + "DatatypeProperty"}
        and t.subject.value.startswith(KZ)
    }
    assert declared
    anchors = set(re.findall(r'<section id="([^"]+)">', page))
    assert declared <= anchors
    tenure = page.split('<section id="Tenure">', 1)[1].split("</section>", 1)[0]
    definition = next(
        t.object.value
        for t in bundled_graph.triples
        if t.subject.value == KZ + "Tenure" and t.predicate.value.endswith("#definition")
    )
    from html import escape

    assert escape(definition) in tenure


# --- the timeline ------------------------------------------------------------------------


def _row(svg_text: str, post: str) -> ET.Element:
    root = ET.fromstring(svg_text)
    for group in root.iter(SVG + "g"):
        if group.get("class") == "post" and group.get("data-post") == post:
            return group
    raise AssertionError(f"no row for {post}")


def _holders(row: ET.Element) -> list[str]:
    return [g.get("data-holder") for g in row.iter(SVG + "g") if g.get("class") == "tenure"]


def _scale(svg_text: str):
    """Pixels for a date, read back from the year lines the picture draws."""
    root = ET.fromstring(svg_text)
    years = {}
    labels = [t for t in root.iter(SVG + "text") if t.get("class") == "year"]
    lines = [li for li in root.iter(SVG + "line") if li.get("class") == "year"]
    for label, line in zip(labels, lines, strict=False):
        years[int(label.text)] = float(line.get("x1"))
    first = min(years)
    per_day = (years[first + 1] - years[first]) / 365.25 if first + 1 in years else None
    return lambda day: years[first] + (day - dt.date(first, 1, 1)).days * per_day


def test_timeline_ministers_in_succession_order():
    svg = timeline_svg(Index.of(load_graph([FIXTURE])), link=lambda n: None)
    row = _row(svg, MINISTER)
    # Yermekbayev has no dates at all: only the succession puts him first.
    assert _holders(row) == [
        "Nurlan Yermekbayev",
        "Murat Bektanov",
        "Ruslan Zhaksylykov",
        "Dauren Kosanov",
    ]


def test_timeline_marks_dismissal_arrest_and_sentence():
    svg = timeline_svg(Index.of(load_graph([FIXTURE])), link=lambda n: None)
    row = _row(svg, MINISTER)
    marks = [g for g in row.iter(SVG + "g") if (g.get("class") or "").startswith("mark ")]
    kinds = [g.get("class").split()[1] for g in marks]
    assert kinds == ["dismissal", "arrest", "sentence"]  # in date order
    titles = [g.find(SVG + "title").text for g in marks]
    assert titles[1] == "Murat Bektanov arrested (2022-03)"


def test_timeline_month_precision_end_reaches_the_end_of_the_month():
    svg = timeline_svg(Index.of(load_graph([FIXTURE])), link=lambda n: None)
    x = _scale(svg)
    row = _row(svg, MINISTER)
    tenure = next(g for g in row.iter(SVG + "g") if g.get("data-holder") == "Ruslan Zhaksylykov")
    shaded = [r for r in tenure.iter(SVG + "rect") if r.get("class") == "uncertain"]
    solid = [r for r in tenure.iter(SVG + "rect") if r.get("class") == "span"]
    right = max(float(r.get("x")) + float(r.get("width")) for r in shaded)
    assert right == pytest.approx(x(dt.date(2025, 6, 30)), abs=0.6)
    # The solid bar stops where the month begins; the month itself is shaded.
    solid_end = max(float(r.get("x")) + float(r.get("width")) for r in solid)
    assert solid_end == pytest.approx(x(dt.date(2025, 6, 1)), abs=0.6)
    start = min(float(r.get("x")) for r in shaded)
    assert start == pytest.approx(x(dt.date(2022, 1, 1)), abs=0.6)


def test_timeline_on_bundled_data_follows_the_recorded_succession(bundled_graph):
    svg = timeline_svg(Index.of(bundled_graph), link=lambda n: None)
    holders = _holders(_row(svg, MINISTER))
    # The order the data itself records, following kz:replacedBy from the first tenure.
    after = {}
    holder = {}
    for t in bundled_graph.triples:
        if t.predicate.value == KZ + "replacedBy":
            after[t.subject] = t.object
        if t.predicate.value == KZ + "holder":
            holder[t.subject] = t.object
    on_post = {
        t.subject
        for t in bundled_graph.triples
        if t.predicate.value == KZ + "post" and t.object.value == MINISTER
    }
    on_post &= set(holder)  # tenures, not the events that name the post
    first = [s for s in on_post if s not in set(after.values())]
    assert len(first) == 1
    chain, current = [], first[0]
    while current is not None:
        chain.append(Index.of(bundled_graph).label(holder[current]))
        current = after.get(current)
    assert holders == chain
    for a, b in [
        ("Murat Bektanov", "Ruslan Zhaksylykov"),
        ("Ruslan Zhaksylykov", "Dauren Kosanov"),
    ]:
        assert holders.index(a) < holders.index(b)


@pytest.mark.parametrize(
    ("value", "datatype", "first", "last"),
    [
        ("2024-02", "gYearMonth", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2023-02", "gYearMonth", dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
        ("2022", "gYear", dt.date(2022, 1, 1), dt.date(2022, 12, 31)),
        ("2022-01-19", "date", dt.date(2022, 1, 19), dt.date(2022, 1, 19)),
    ],
)
def test_dates_cover_their_precision(value, datatype, first, last):
    span = span_of(ox.Literal(value, datatype=ox.NamedNode(XSD + datatype)))
    assert (span.first, span.last, span.text) == (first, last, value)


def test_undated_values_are_not_drawn():
    assert span_of(ox.Literal("sometime in 2022")) is None
    assert span_of(ox.Literal("2022-13", datatype=ox.NamedNode(XSD + "gYearMonth"))) is None


# --- what each end means, what the legend lists ----------------------------------------

TIMELINE_FIXTURE = Path(__file__).parent / "fixtures" / "timeline.ttl"


def _tenures(svg_text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg_text)
    return {g.get("data-holder"): g for g in root.iter(SVG + "g") if g.get("class") == "tenure"}


def _styles(group: ET.Element) -> set[str]:
    return {e.get("class") for e in group.iter() if e.get("class")}


@pytest.fixture(scope="module")
def fixture_timeline() -> str:
    return timeline_svg(Index.of(load_graph([TIMELINE_FIXTURE])), link=lambda n: None)


def test_in_office_as_of_is_drawn_as_such(fixture_timeline):
    clara = _tenures(fixture_timeline)["Clara Current"]
    assert "in-office" in _styles(clara) and "end-unknown" not in _styles(clara)
    title = clara.find(SVG + "title").text
    assert title == "Clara Current: 2022-02-15 – in office as of 2025-11 (per its source)"


def test_an_end_neither_given_nor_in_office_as_of_is_unknown(fixture_timeline):
    dmitri = _tenures(fixture_timeline)["Dmitri Unknown-End"]
    assert "end-unknown" in _styles(dmitri) and "in-office" not in _styles(dmitri)
    assert dmitri.find(SVG + "title").text.endswith("– end unknown")
    assert "to date" not in fixture_timeline


def test_inferred_only_where_the_succession_gave_the_date(fixture_timeline):
    tenures = _tenures(fixture_timeline)
    assert "(the successor's start)" in tenures["Anna First"].find(SVG + "title").text
    for name in ("Boris Second", "Clara Current", "Dmitri Unknown-End", "Elena Oneday"):
        title = tenures[name].find(SVG + "title").text
        assert "successor" not in title and "predecessor" not in title, title
        assert "inferred" not in _styles(tenures[name]), name
    assert "inferred" not in fixture_timeline.replace('id="inferred"', "").replace(
        "url(#inferred)", ""
    ).replace('class="inferred"', "").replace('data-style="inferred"', "")


def test_a_day_in_office_is_not_a_start_or_an_end(fixture_timeline):
    elena = _tenures(fixture_timeline)["Elena Oneday"]
    assert {"start-unknown", "end-unknown"} <= _styles(elena)
    assert elena.find(SVG + "title").text == (
        "Elena Oneday: in office on 2021-06-01; start and end unknown"
    )


@pytest.mark.parametrize("source", [TIMELINE_FIXTURE, FIXTURE, None])
def test_the_legend_lists_exactly_the_styles_drawn(source, bundled_graph):
    graph = bundled_graph if source is None else load_graph([source])
    root = ET.fromstring(timeline_svg(Index.of(graph), link=lambda n: None))
    legend = next(g for g in root.iter(SVG + "g") if g.get("class") == "legend")
    listed = {g.get("data-style") for g in legend.iter(SVG + "g") if g.get("data-style")}
    drawn = set()
    for group in root.iter(SVG + "g"):
        if group.get("class") == "tenure":
            drawn |= _styles(group) - {"tenure", "holder"}
        elif (group.get("class") or "").startswith("mark "):
            drawn.add(group.get("class").split()[1])
    assert listed == drawn


def test_every_post_name_is_shown_in_full_and_every_marker_is_named(bundled_graph):
    index = Index.of(bundled_graph)
    root = ET.fromstring(timeline_svg(index, link=lambda n: None))
    for row in root.iter(SVG + "g"):
        if row.get("class") != "post":
            continue
        name = next(t for t in row.iter(SVG + "text") if t.get("class") == "post-name")
        assert name.text == index.label(ox.NamedNode(row.get("data-post")))
    marks = [g for g in root.iter(SVG + "g") if (g.get("class") or "").startswith("mark ")]
    assert marks
    for mark in marks:
        shown = [t.text for t in mark.iter(SVG + "text") if t.get("class") == "mark-name"]
        assert shown == [mark.find(SVG + "title").text]


@pytest.mark.parametrize("source", [TIMELINE_FIXTURE, None])
def test_timeline_text_boxes_never_overlap_by_the_layout_estimate(source, bundled_graph):
    # The layout's own (generous) widths; the browser's real boxes are in test_render.py.
    from kzld.web.timeline import WIDTH, text_width

    graph = bundled_graph if source is None else load_graph([source])
    root = ET.fromstring(timeline_svg(Index.of(graph), link=lambda n: None))
    boxes = []
    for t in root.iter(SVG + "text"):
        if t.get("class") in ("holder", "mark-name"):
            left, base = float(t.get("x")), float(t.get("y"))
            boxes.append((left, base - 11, left + text_width(t.text), base + 3, t.text))
    assert boxes
    for box in boxes:
        assert 0 <= box[0] and box[2] <= WIDTH, box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)


# --- pages: careers in date order, holders in order, readable labels ----------------------


def _table_rows(page: str, css: str) -> list[list[str]]:
    table = re.search(rf'<table class="{css}">(.*?)</table>', page, re.S)
    assert table, f"no {css} table"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
        for r in rows[1:]
    ]


def _page(graph, iri: str) -> str:
    from kzld.web.site import entity_html

    index = Index.of(graph)
    return entity_html(index, ox.NamedNode(iri), lambda n: None, "index.html")


def test_a_persons_page_shows_the_career_in_date_order(bundled_graph):
    page = _page(bundled_graph, ID + "person/murat-bektanov")
    career = _table_rows(page, "career")
    assert [row[0] for row in career] == [
        "Commander of the Eastern Military District",
        "Commander-in-Chief of the Ground Forces of Kazakhstan",
        "Chief of the General Staff of the Armed Forces of Kazakhstan",
        "Minister of Defence of Kazakhstan",
    ]
    minister = career[-1]
    assert minister[1].startswith("2021-08-31") and minister[2].startswith("2022-01-19")
    dismissed = Index.of(bundled_graph).label(ox.NamedNode(KZ + "dismissed"))
    assert minister[3] == dismissed
    assert all(row[4] and row[4] != "—" for row in career)  # every tenure with its sources
    # Then the events, dated ones in date order, each with sources.
    events = _table_rows(page, "events")
    dated = [row[0][:10] for row in events if row[0] != "undated"]
    assert dated == sorted(dated) and len(dated) >= 4
    assert "undated" not in [row[0] for row in events[: len(dated)]]
    assert page.index('class="career"') < page.index('class="events"')
    arrest = next(row for row in events if row[1] == "Murat Bektanov arrested")
    assert "2022-02-20" in arrest[0] and "2022-03" in arrest[0]  # both claimed dates


def test_a_posts_page_lists_its_holders_in_succession_order(bundled_graph):
    rows = _table_rows(_page(bundled_graph, MINISTER), "holders")
    holders = [row[0].replace("(tenure)", "").strip() for row in rows]
    assert holders == [
        "Murat Bektanov",
        "Ruslan Zhaksylykov",
        "Dauren Kosanov",
    ]
    assert rows[-1][2] == "in office as of 2025-06 (month)"  # no end; its source says so


def test_an_in_office_as_of_end_reads_as_such_on_the_page():
    graph = load_graph([TIMELINE_FIXTURE])
    post = ID + "post/commander-of-the-long-named-joint-strategic-command-of-the-republic"
    rows = _table_rows(_page(graph, post), "holders")
    assert rows[-1][2] == "in office as of 2025-11 (month)"


def test_an_organisations_page_lists_its_posts_with_holders(bundled_graph):
    page = _page(bundled_graph, ID + "organisation/ministry-of-defence")
    assert "<h2>Posts and their holders</h2>" in page
    assert page.count('<table class="holders">') >= 2
    assert page.index("Murat Bektanov") < page.index("Ruslan Zhaksylykov")


def test_row_labels_are_words_never_curies(bundled_graph, tmp_path):
    build_site(bundled_graph, tmp_path)
    for page in sorted((tmp_path / "id").rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for head in re.findall(r"<th>(.*?)</th>", text, re.S):
            plain = re.sub(r"<[^>]+>", "", head)
            assert not re.fullmatch(r"[a-z]+:[A-Za-z]\w*", plain), (page.name, plain)
        for via in re.findall(r'<span class="meta">([^<]*)</span></li>', text):
            assert not re.search(r"\b[a-z]+:[A-Za-z]", via), (page.name, via)
