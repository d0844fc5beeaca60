"""A real headless Chromium (Debian `chromium`) driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4), which needs nothing
beyond the standard library. Used by the tests of the HIT page and of the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

ENSURE_CHROMIUM = Path(__file__).resolve().parents[1] / "scripts" / "ensure-chromium"


def chromium_binary() -> str:
    """Debian's chromium, installed by scripts/ensure-chromium when missing (apt-get install -y chromium)."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run([str(ENSURE_CHROMIUM)], check=True)
        found = shutil.which("chromium")
    assert found, "chromium could not be installed"
    return found


class PipeBrowser:
    """A headless Chromium and a minimal DevTools-protocol client over its debugging pipe."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="crowdaudit-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-background-networking",
                   "--disable-gpu", "--window-size=1024,768", "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"]
        # Chromium reads commands on fd 3 and writes replies on fd 4: bash's redirections put (dash only takes one-digit fds)
        # the pipe ends there, then exec hands them to chromium.
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "bash", *command],
            pass_fds=(to_browser_r, from_browser_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so close() can end its helpers too
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

    def open(self, url: str, ready: str) -> None:
        """Open `url` in a new tab and wait until the `ready` expression holds and the page has painted."""
        # A fixed viewport before the page loads: a tab's default size could change once it was open
        # (seen in CI: the layout moved between two runs, and a click aimed at a button hit the page).
        target = self.send("Target.createTarget", {"url": "about:blank"},
                           session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1024, "height": 768, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_for(ready)
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
        # Aimed only once the element sits still: the same spot in two looks 0.1 s apart.
        deadline = time.monotonic() + 20
        box, previous = self.evaluate(locate), None
        while box is None or box != previous:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing clickable at {selector}")
            time.sleep(0.1)
            box, previous = self.evaluate(locate), box
        # A click can still be lost on a loaded machine (seen in CI: the submit button's click never
        # reached the page). The page counts the press's pointerup (a disabled button gets one too): a
        # click that never arrived is sent again; one that arrived is never repeated, and a page that
        # went away (a form posted) took it.
        self.evaluate("window.__clicks = 0; window.addEventListener('pointerup', event => { window.__clicks += 1;"
                      f" window.__hit = document.querySelector({json.dumps(selector)}).contains(event.target)"
                      " ? '' : event.target.outerHTML.slice(0, 80); }, {capture: true, once: true}); true")
        for _ in range(5):
            for kind in ("mousePressed", "mouseReleased"):
                self.send("Input.dispatchMouseEvent",
                          {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                try:
                    arrived = self.evaluate("window.__clicks === undefined || window.__clicks > 0")
                    missed = arrived and self.evaluate("window.__hit")
                except RuntimeError as error:  # the page is navigating away: the click posted its form
                    if "navigated or closed" not in str(error):
                        raise
                    return
                if arrived:
                    # A click that landed on something else is a failure to say, not to hide.
                    if missed:
                        raise AssertionError(f"the click aimed at {selector} landed on {missed}")
                    return
                time.sleep(0.05)
        raise TimeoutError(f"no click reached {selector}")

    def close(self) -> None:
        """End the browser and every helper process it started, then remove its profile. Killing
        the browser alone left helpers that wrote into the profile after it was removed, and every
        suite run left a few crowdaudit-chromium-* folders in /tmp."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_alive(self.process.pid):
            time.sleep(0.05)
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


def _group_alive(group: int) -> bool:
    """Whether a process of the group is still running (a zombie no one reaped does not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
