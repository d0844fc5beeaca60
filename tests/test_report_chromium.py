"""The demo's report as a reader sees it, in real headless Chromium: it fetches nothing (no CDN,
no external style, script, font or image), its images decode, its chart draws, and its metric
tables hold the figures of the warehouse it was made from."""

from __future__ import annotations

import json

import pytest
from conftest import query


@pytest.fixture
def report_page(demo_warehouse_template, browser):
    report = demo_warehouse_template.parent / "files" / "report.html"
    browser.open(report.as_uri(), ready="document.readyState === 'complete' && !!document.getElementById('by-region')")
    return browser


def test_the_report_fetches_nothing_beyond_its_own_file(report_page):
    fetched = report_page.evaluate("JSON.stringify(performance.getEntriesByType('resource').map(e => e.name))")
    assert json.loads(fetched) == []
    linked = report_page.evaluate(
        "Array.from(document.querySelectorAll('[src], link[href], script[src]'))"
        ".map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('data:')).length")
    assert linked == 0


def test_every_image_in_the_report_decodes(report_page):
    images = report_page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert images, "the demo's report shows no images"
    assert all(complete and width > 0 for complete, width in images)


def test_the_region_chart_draws_a_bar_per_metric_for_all_and_each_region(demo_warehouse_template, report_page):
    regions = query(demo_warehouse_template,
                    "SELECT count(*) FROM classifier_metrics WHERE truth_source = 'labels' AND grouping IN ('all', 'region')")
    bars = report_page.evaluate(
        "Array.from(document.querySelectorAll('#by-region svg rect')).map(r => r.getBoundingClientRect().height)")
    assert len(bars) == 3 * regions[0][0] and all(height > 0 for height in bars)


def test_the_region_table_shows_the_warehouse_figures(demo_warehouse_template, report_page):
    expected = query(demo_warehouse_template,
                     "SELECT grp, n, tp FROM classifier_metrics WHERE truth_source = 'majority' "
                     "AND grouping = 'region' ORDER BY grp")
    rows = report_page.evaluate(
        "Array.from(document.querySelectorAll('table[data-truth-source=majority] tbody tr'))"
        ".map(tr => Array.from(tr.cells).map(c => c.textContent.trim()))")
    shown = sorted((cells[1], cells[2].replace(",", ""), cells[3]) for cells in rows if cells[0] == "region")
    assert shown == [(grp, str(n), str(tp)) for grp, n, tp in expected]


def _layout_at(page, width: int) -> dict:
    page.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1,
                                                     "mobile": False})
    return json.loads(page.evaluate("""JSON.stringify({
        page: document.documentElement.scrollWidth, window: innerWidth,
        overflowing: Array.from(document.querySelectorAll('table, svg'))
            .filter(e => e.getBoundingClientRect().width > e.parentElement.clientWidth + 1)
            .filter(e => getComputedStyle(e.parentElement).overflowX !== 'auto').length,
        scrolled: Array.from(document.querySelectorAll('.scroll')).filter(d => d.scrollWidth > d.clientWidth).length,
        wrapped: Array.from(document.querySelectorAll('td')).filter(td => {
            const text = Array.from(td.childNodes).find(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
            if (!text) return false;
            const range = document.createRange(); range.selectNodeContents(text);
            return range.getClientRects().length > 1; }).map(td => td.textContent.trim())})"""))


def test_the_report_reads_on_a_wide_screen_and_on_a_400_pixel_phone(report_page):
    wide = _layout_at(report_page, 1280)
    assert wide["page"] <= wide["window"] and wide["scrolled"] == 0  # every column in sight
    assert wide["wrapped"] == []  # no figure or interval broken over two lines
    narrow = _layout_at(report_page, 400)
    # the page itself never scrolls sideways: wide tables and the chart scroll in their own box
    assert narrow["page"] <= narrow["window"] and narrow["overflowing"] == 0
    assert narrow["wrapped"] == []


def test_a_group_name_in_capitals_is_clipped_before_the_bars(demo_warehouse_template, browser, tmp_path):
    from etl.report import gather, render
    from etl.warehouse import open_warehouse

    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        context = gather(con)
    # Cut to 16 characters, "MIDDLE EAST & N…" is still about 130 pixels wide; the bars start at 120.
    next(m for m in context["region_metrics"] if m["grp"] == "Western")["grp"] = "MIDDLE EAST & NORTH AFRICA"
    page = tmp_path / "report.html"
    page.write_text(render(context), encoding="utf-8")
    browser.open(page.as_uri(), ready="document.readyState === 'complete' && !!document.getElementById('by-region')")
    # Which points left to right along the name's line are the name (bars and intervals hidden, so
    # only the text can be hit), from 0 to 139 pixels into the chart.
    hits = json.loads(browser.evaluate("""JSON.stringify((() => {
        const svg = document.querySelector('#by-region svg');
        svg.querySelectorAll('rect, line').forEach(e => e.style.visibility = 'hidden');
        const name = Array.from(svg.querySelectorAll('text')).find(t => t.textContent.includes('MIDDLE EAST'));
        name.scrollIntoView({block: 'center'});
        const box = name.getBoundingClientRect(), left = svg.getBoundingClientRect().left;
        return [...Array(140).keys()].map(x => document.elementFromPoint(left + x, box.top + box.height / 2) === name);
    })())"""))
    assert hits[5] and not any(hits[120:])


def test_a_long_unbroken_name_under_a_wrong_image_wraps_and_the_page_does_not_scroll_sideways(
        demo_warehouse_template, browser, tmp_path):
    """A region, language or class label with no space (a --labels file's
    `american_staffordshire_terrier_or_pit_bull_terrier`) ran out of its figure and widened the page."""
    from etl.report import gather, render
    from etl.warehouse import open_warehouse

    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        context = gather(con)
    image = context["wrong_images"][1]
    image["region"] = "Sub_Saharan_Africa_and_the_Indian_Ocean"
    image["top_labels"] = ["american_staffordshire_terrier_or_pit_bull_terrier"]
    page = tmp_path / "report.html"
    page.write_text(render(context), encoding="utf-8")
    browser.open(page.as_uri(), ready="document.readyState === 'complete' && !!document.getElementById('wrong')")
    for width in (1280, 400):
        layout = _layout_at(browser, width)
        assert layout["page"] <= layout["window"]
        overflowing = browser.evaluate("Array.from(document.querySelectorAll('#wrong figure'))"
                                       ".filter(f => f.scrollWidth > f.clientWidth).length")
        assert overflowing == 0
