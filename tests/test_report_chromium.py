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
