"""The API rendering of a HIT in real headless Chromium (Debian `chromium`): tick three images,
submit, and exactly those slot names reach MTurk's externalSubmit (a local catcher); in preview the
submit button is disabled and nothing is posted.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-separated
JSON on file descriptors 3 and 4), which needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest

from etl.hits.template import question_html

ENSURE_CHROMIUM = Path(__file__).resolve().parents[1] / "scripts" / "ensure-chromium"


def chromium_binary() -> str:
    """Debian's chromium, installed by scripts/ensure-chromium when missing (apt-get install -y chromium)."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run([str(ENSURE_CHROMIUM)], check=True)
        found = shutil.which("chromium")
    assert found, "chromium could not be installed"
    return found


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


class PipeBrowser:
    """A headless Chromium and a minimal DevTools-protocol client over its debugging pipe."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="crowdaudit-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-background-networking",
                   "--disable-gpu", "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"]
        # Chromium reads commands on fd 3 and writes replies on fd 4: bash's redirections put (dash only takes one-digit fds)
        # the pipe ends there, then exec hands them to chromium.
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "bash", *command],
            pass_fds=(to_browser_r, from_browser_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.session: str | None = None

    def send(self, method: str, params: dict | None = None, *, session: bool = True) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_browser, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed the debugging pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply["result"]

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": url}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.wait_for("document.readyState === 'complete' && !!document.getElementById('ca-submit')")
        # Input reaches a page only once it paints: a click sent before the first frame can be dropped
        # (seen once in CI, the first tick lost), so wait for two animation frames.
        self.send("Runtime.evaluate", {"awaitPromise": True, "expression":
                  "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre, as a worker's would be, once the element is
        what a click there would hit (the layout may still settle as broken images resolve)."""
        locate = (
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); const x = r.x + r.width / 2, y = r.y + r.height / 2;"
            " return document.elementFromPoint(x, y) === e ? [x, y] : null; })()"
        )
        deadline = time.monotonic() + 20
        while (box := self.evaluate(locate)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing clickable at {selector}")
            time.sleep(0.1)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


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


@pytest.fixture
def browser():
    running = PipeBrowser()
    yield running
    running.close()


def hit_url(catcher: Catcher, assignment_id: str) -> str:
    query = {"assignmentId": assignment_id, "hitId": "3HIT", "workerId": "AWORKER", "turkSubmitTo": catcher.url}
    return f"{catcher.url}/hit?{urlencode(query)}"


def test_ticking_three_images_submits_exactly_those_slot_names(catcher, browser):
    browser.open(hit_url(catcher, "3ASSIGNMENT"))
    assert browser.evaluate("document.getElementById('ca-submit').disabled") is False
    for slot in ("image2", "image7", "image11"):
        browser.click(f"input.ca-tick[value={slot}]")
        browser.wait_for(f"document.querySelector('input.ca-tick[value={slot}]').checked")
    browser.click("#ca-submit")
    deadline = time.monotonic() + 20
    while not catcher.posts and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(catcher.posts) == 1
    posted = catcher.posts[0]
    assert posted["assignmentId"] == ["3ASSIGNMENT"]
    assert posted["selected"] == ["image2|image7|image11"]
    assert set(posted) == {"assignmentId", "selected"}


def test_ticking_none_of_the_above_submits_it_alone(catcher, browser):
    browser.open(hit_url(catcher, "3ASSIGNMENT"))
    browser.click("input.ca-tick[value=image4]")
    browser.wait_for("document.querySelector('input.ca-tick[value=image4]').checked")
    browser.click("input.ca-tick-none")
    browser.click("#ca-submit")
    deadline = time.monotonic() + 20
    while not catcher.posts and time.monotonic() < deadline:
        time.sleep(0.1)
    assert catcher.posts[0]["selected"] == ["none_of_the_above"]


def test_in_preview_the_checkboxes_show_but_submit_is_disabled(catcher, browser):
    browser.open(hit_url(catcher, "ASSIGNMENT_ID_NOT_AVAILABLE"))
    assert browser.evaluate("document.querySelectorAll('input.ca-tick').length") == 12
    assert browser.evaluate("document.getElementById('ca-submit').disabled") is True
    browser.click("input.ca-tick[value=image1]")
    browser.click("#ca-submit")
    time.sleep(1.0)
    assert catcher.posts == []
