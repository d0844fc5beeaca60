"""The API rendering of a HIT in real headless Chromium (Debian `chromium`): tick three images,
submit, and exactly those slot names reach MTurk's externalSubmit (a local catcher); in preview the
submit button is disabled and nothing is posted. The browser fixture is in conftest.py.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import pytest

from etl.hits.template import question_html

HIT_READY = "document.readyState === 'complete' && !!document.getElementById('ca-submit')"


class Catcher(ThreadingHTTPServer):
    """Serves the HIT page and records what its form posts to /mturk/externalSubmit."""

    def __init__(self, page: str):
        self.page = page.encode()
        self.posts: list[dict[str, list[str]]] = []
        super().__init__(("127.0.0.1", 0), CatcherHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class CatcherHandler(BaseHTTPRequestHandler):
    server: Catcher

    def log_message(self, *args) -> None:
        pass

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(self.server.page if self.path.startswith("/hit") else b"<p>image</p>")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.path == "/mturk/externalSubmit":
            self.server.posts.append(parse_qs(body, keep_blank_values=True))
        self._send(b"<p>thanks</p>")


def wait_for_a_post(posts: list) -> None:
    """Until the page's form has posted (the test's assertion then says what), at most 20 s."""
    deadline = time.monotonic() + 20
    while not posts and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def catcher():
    urls = [f"https://images.example/{n}.jpg" for n in range(1, 13)]
    server = Catcher("")
    server.page = question_html(urls, submit_url=server.url + "/wrong-default").encode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hit_url(catcher: Catcher, assignment_id: str) -> str:
    query = {"assignmentId": assignment_id, "hitId": "3HIT", "workerId": "AWORKER", "turkSubmitTo": catcher.url}
    return f"{catcher.url}/hit?{urlencode(query)}"


def test_ticking_three_images_submits_exactly_those_slot_names(catcher, browser):
    browser.open(hit_url(catcher, "3ASSIGNMENT"), ready=HIT_READY)
    assert browser.evaluate("document.getElementById('ca-submit').disabled") is False
    for slot in ("image2", "image7", "image11"):
        browser.click(f"input.ca-tick[value={slot}]")
        browser.wait_for(f"document.querySelector('input.ca-tick[value={slot}]').checked")
    browser.click("#ca-submit")
    wait_for_a_post(catcher.posts)
    assert len(catcher.posts) == 1
    posted = catcher.posts[0]
    assert posted["assignmentId"] == ["3ASSIGNMENT"]
    assert posted["selected"] == ["image2|image7|image11"]
    assert set(posted) == {"assignmentId", "selected"}


def test_ticking_none_of_the_above_submits_it_alone(catcher, browser):
    browser.open(hit_url(catcher, "3ASSIGNMENT"), ready=HIT_READY)
    browser.click("input.ca-tick[value=image4]")
    browser.wait_for("document.querySelector('input.ca-tick[value=image4]').checked")
    browser.click("input.ca-tick-none")
    browser.click("#ca-submit")
    wait_for_a_post(catcher.posts)
    assert catcher.posts[0]["selected"] == ["none_of_the_above"]


def test_a_submit_with_nothing_ticked_posts_nothing_and_says_what_is_missing(catcher, browser):
    browser.open(hit_url(catcher, "3ASSIGNMENT"), ready=HIT_READY)
    browser.click("#ca-submit")
    browser.wait_for("!document.getElementById('ca-missing').hidden")
    time.sleep(1.0)
    assert catcher.posts == []


def test_in_preview_the_checkboxes_show_but_submit_is_disabled(catcher, browser):
    browser.open(hit_url(catcher, "ASSIGNMENT_ID_NOT_AVAILABLE"), ready=HIT_READY)
    assert browser.evaluate("document.querySelectorAll('input.ca-tick').length") == 12
    assert browser.evaluate("document.getElementById('ca-submit').disabled") is True
    browser.click("input.ca-tick[value=image1]")
    browser.click("#ca-submit")
    time.sleep(1.0)
    assert catcher.posts == []


def test_a_turk_submit_to_that_is_not_a_web_address_is_not_where_the_answer_goes(catcher, browser):
    """turkSubmitTo comes from the page's address, which anyone can write into a link: as a
    javascript: URL it became the form's action and ran when the worker submitted."""
    query = {"assignmentId": "3ASSIGNMENT", "turkSubmitTo": "javascript:document.title='hijacked'//"}
    browser.open(f"{catcher.url}/hit?{urlencode(query)}", ready=HIT_READY)
    assert browser.evaluate("document.getElementById('ca-form').action") == catcher.url + "/wrong-default"
    browser.click("input.ca-tick[value=image3]")
    browser.wait_for("document.querySelector('input.ca-tick[value=image3]').checked")
    browser.click("#ca-submit")
    time.sleep(1.0)
    assert browser.evaluate("document.title") != "hijacked"


def site_page(per_hit: int, urls: list[str]) -> str:
    """The layout as the requester site serves it: ${imageN} replaced by the variables.csv row (blank
    past a short HIT's last image), inside the site's own form and submit button."""
    from etl.hits.template import layout_html

    html = layout_html(per_hit)
    for n in range(per_hit, 0, -1):  # image12 before image1, which is a prefix of it
        html = html.replace(f"${{image{n}}}", urls[n - 1] if n <= len(urls) else "")
    return (f'<!DOCTYPE html><html><body><form method="post" action="/mturk/externalSubmit">{html}'
            '<input type="submit" id="site-submit" value="Submit"></form></body></html>')


def test_a_short_hits_blank_slots_on_the_site_cannot_be_ticked(browser):
    """The last HIT of a batch leaves image10..12 blank in variables.csv; their checkboxes showed
    (beside an empty picture), and a tick there made ingest refuse the whole results file."""
    server = Catcher(site_page(12, [f"https://images.example/{n}.jpg" for n in range(1, 10)]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.open(f"{server.url}/hit", ready="document.readyState === 'complete' && !!document.getElementById('site-submit')")
        visible = "[...document.querySelectorAll('input.ca-tick')].filter(t => t.offsetParent !== null && !t.disabled)"
        assert browser.evaluate(f"{visible}.map(t => t.value).join(',')") == ",".join(f"image{n}" for n in range(1, 10))
        browser.evaluate("document.querySelectorAll('input.ca-tick').forEach(t => t.click())")  # a tick-everything spammer
        browser.click("#site-submit")
        wait_for_a_post(server.posts)
        assert server.posts[0]["selected"] == [f"image{n}" for n in range(1, 10)]
    finally:
        server.shutdown()
        server.server_close()


def test_on_the_site_a_submit_with_nothing_ticked_posts_nothing(browser):
    """The site's own submit button sent a form with no `selected` at all, which ingest reads as a
    "no" on every image: a worker who clicked Submit straight away voted against every wedding."""
    server = Catcher(site_page(12, [f"https://images.example/{n}.jpg" for n in range(1, 13)]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.open(f"{server.url}/hit", ready="document.readyState === 'complete' && !!document.getElementById('site-submit')")
        browser.click("#site-submit")
        time.sleep(1.0)
        assert server.posts == []
        assert browser.evaluate("document.getElementById('ca-missing').hidden") is False  # and says why
        browser.click("input.ca-tick-none")
        browser.click("#site-submit")
        wait_for_a_post(server.posts)
        assert server.posts[0]["selected"] == ["none_of_the_above"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_urls_hits_build_warns_about_are_exactly_those_the_sites_page_shows_as_another_url(browser):
    """The site pastes variables.csv's values into src="${imageN}" unescaped, and the browser decodes
    character references there; a worker shown a broken picture answers no."""
    import polars as pl

    from etl.hits.plan import site_garbled

    urls = [f"https://images.example/{path}" for path in (
        "1.jpg?w=300&h=200", "2.jpg?a=1&not_b=2", "3&amp;x.jpg", "4.jpg?x=1&lt=2", "5&#38;.jpg", "6.jpg?c=1&copy",
        "7.jpg?c=1&copyx=2", "8.jpg?a&reg-1", "Q&A.jpg", "10&b;.jpg", "11&notin;b.jpg", "12.jpg?s=1&sect2")]
    server = Catcher(site_page(12, urls))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.open(f"{server.url}/hit", ready="document.readyState === 'complete' && !!document.getElementById('site-submit')")
        shown = browser.evaluate("[...document.querySelectorAll('img')].map(i => i.getAttribute('src'))")
    finally:
        server.shutdown()
        server.server_close()
    assert len(shown) == len(urls)
    garbled_in_the_browser = {url for url, src in zip(urls, shown, strict=True) if src != url}
    assert garbled_in_the_browser == set(site_garbled(pl.Series(urls)).to_list())
    assert len(garbled_in_the_browser) == 6  # 2, 3, 5, 6, 8 and 11
