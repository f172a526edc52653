"""The static site rendered by headless Debian Chromium: the DOM it builds and the pixels
it paints, for the landing page, an entity page and the timeline SVG."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zlib
from html import unescape
from pathlib import Path

import pytest

from kzld.loading.graph import load_graph
from kzld.web.site import build_site

FIXTURE = Path(__file__).parent / "fixtures" / "web.ttl"
MINISTERS = ["Murat Bektanov", "Ruslan Zhaksylykov", "Dauren Kosanov"]
BAR_BLUE = (0x3A, 0x6E, 0xA5)  # the colour timeline.py fills dated tenures with
MARK_RED = (0xC0, 0x39, 0x2B)  # dismissal crosses

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs the Debian package")
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def bundled_site(bundled_graph, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    build_site(bundled_graph, out)
    return out


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered-fixture")
    build_site(load_graph([FIXTURE]), out)
    return out


def run_chromium(chromium: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(chromium: str, tmp_path: Path, page: Path) -> str:
    return run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())


def screenshot(chromium: str, tmp_path: Path, page: Path, size: str) -> list[list[tuple]]:
    shot = tmp_path / (page.stem + ".png")
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}",
                 f"--window-size={size}", page.as_uri())  # fmt: skip
    return read_png(shot)


def read_png(path: Path) -> list[list[tuple]]:
    """Pixels of an 8-bit RGB or RGBA PNG as rows of (r, g, b)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour, interlace = body[8], body[9], body[12]
        elif kind == b"IDAT":
            idat += body
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * step
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - step] if i >= step else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append([tuple(line[x : x + 3]) for x in range(0, stride, step)])
        previous = line
    return rows


def count(pixels: list[list[tuple]], colour: tuple, tolerance: int = 12) -> int:
    return sum(
        1 for row in pixels for p in row
        if all(abs(a - b) <= tolerance for a, b in zip(p, colour, strict=True))
    )  # fmt: skip


def inked_rows(pixels: list[list[tuple]]) -> int:
    """Rows of the picture holding anything darker than the page."""
    return sum(1 for row in pixels if any(sum(p) < 600 for p in row))


def holders_in_order(dom: str, post_slug: str) -> list[str]:
    row = dom.split(f'data-post="https://w3id.org/kzld/id/post/{post_slug}"', 1)[1]
    row = row.split('class="post"', 1)[0]
    return [unescape(h) for h in re.findall(r'data-holder="([^"]*)"', row)]


def test_timeline_svg_renders_ministers_in_order(chromium, bundled_site, tmp_path):
    dom = dump_dom(chromium, tmp_path, bundled_site / "timeline.svg")
    holders = holders_in_order(dom, "minister-of-defence")
    assert [h for h in holders if h in MINISTERS] == MINISTERS
    pixels = screenshot(chromium, tmp_path, bundled_site / "timeline.svg", "1900,800")
    assert count(pixels, BAR_BLUE) > 2000  # tenure bars were painted
    assert count(pixels, MARK_RED) > 20  # and dismissal marks


def test_landing_page_renders(chromium, bundled_site, tmp_path):
    dom = dump_dom(chromium, tmp_path, bundled_site / "index.html")
    assert "<h1>kzld: Kazakhstan" in dom
    holders = holders_in_order(dom, "minister-of-defence")
    assert [h for h in holders if h in MINISTERS] == MINISTERS
    assert 'href="id/person/murat-bektanov.html"' in dom
    pixels = screenshot(chromium, tmp_path, bundled_site / "index.html", "900,1200")
    assert inked_rows(pixels) > 200
    assert count(pixels, BAR_BLUE) > 100  # the timeline is drawn inside the page


def test_entity_page_renders(chromium, bundled_site, tmp_path):
    page = bundled_site / "id/person/murat-bektanov.html"
    dom = dump_dom(chromium, tmp_path, page)
    assert "<h1>Murat Bektanov</h1>" in dom
    assert "<h2>Sources and quotes</h2>" in dom and "<blockquote" in dom
    pixels = screenshot(chromium, tmp_path, page, "900,900")
    assert inked_rows(pixels) > 150  # lines of text, not a blank page
    blank = [[(255, 255, 255)] * 900 for _ in range(900)]
    assert pixels != blank


def test_injected_markup_stays_text_in_the_browser(chromium, fixture_site, tmp_path):
    dom = dump_dom(chromium, tmp_path, fixture_site / "id/person/script-kiddie.html")
    assert "<script" not in dom  # no script element was created
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in dom


# --- the timeline at page width, measured by the browser --------------------------------

_MEASURE = """<script>
const svg = document.querySelector('.timeline svg');
const scale = svg.getScreenCTM().a;
const found = [...svg.querySelectorAll('text')].map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, cls: t.getAttribute('class') || '',
          px: parseFloat(getComputedStyle(t).fontSize) * scale,
          left: r.left, top: r.top, right: r.right, bottom: r.bottom};
});
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify({scale: scale, width: svg.getBoundingClientRect().width,
                                  texts: found});
document.body.appendChild(out);
</script>"""


def measured_timeline(chromium: str, tmp_path: Path, site: Path, width: int) -> dict:
    """Every text of the landing page's timeline as the browser lays it out: its rendered
    font size in CSS pixels and its bounding box, at a window `width` pixels wide."""
    import json

    page = site / "measure.html"
    html = (site / "index.html").read_text(encoding="utf-8")
    page.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    try:
        dom = run_chromium(
            chromium, tmp_path / "profile", f"--window-size={width},900", "--dump-dom",
            page.as_uri(),
        )  # fmt: skip
    finally:
        page.unlink()
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    return json.loads(unescape(found.group(1)))


def _overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    clashes = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5 and (
                min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5
            ):
                clashes.append((a["text"], b["text"]))
    return clashes


@pytest.fixture(scope="module")
def crowded_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered-crowded")
    build_site(load_graph([Path(__file__).parent / "fixtures" / "timeline.ttl"]), out)
    return out


@pytest.mark.parametrize("which", ["bundled_site", "crowded_site"])
def test_timeline_reads_at_page_width(chromium, request, tmp_path, which):
    site = request.getfixturevalue(which)
    found = measured_timeline(chromium, tmp_path, site, 1200)
    texts = found["texts"]
    assert texts
    small = [(t["text"], round(t["px"], 1)) for t in texts if t["px"] < 12]
    assert not small, f"text under 12 px at a 1200 px window: {small[:5]}"
    assert not _overlapping(texts)
    # Nothing cut off at either side of the picture.
    right_edge = min(t["left"] for t in texts) + found["width"]
    assert all(t["right"] <= right_edge + 1 for t in texts)
    # A name per bar and per marker: every holder label and marker name is drawn.
    assert any(t["cls"] == "mark-name" for t in texts)


def test_timeline_screenshot_at_1200_px(chromium, bundled_site, tmp_path):
    pixels = screenshot(chromium, tmp_path, bundled_site / "index.html", "1200,1600")
    assert count(pixels, BAR_BLUE) > 2000  # bars painted at full size inside the page
    assert count(pixels, MARK_RED) > 20
