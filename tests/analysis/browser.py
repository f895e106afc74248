"""A real headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): no driver
package, only the browser. For the report's browser tests and its screenshots:

    with Chromium() as browser:
        page = browser.open(Path("report.html"), width=1400)
        page.evaluate("document.title")
        page.screenshot(Path("report.png"))
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The first Chromium (or Chrome) on PATH, or None."""
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


class BrowserError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Chromium:
    """A headless browser process; :meth:`open` gives a :class:`Page`."""

    def __init__(self, executable: str | None = None, timeout: float = 60) -> None:
        self.executable = executable or chromium_path()
        if self.executable is None:
            raise BrowserError("no chromium on PATH")
        self.timeout, self._id, self._buffer, self._events = timeout, 0, b"", []

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.TemporaryDirectory()
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # The browser reads commands on fd 3 and writes answers on fd 4.
        self.process = subprocess.Popen(
            [self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             "--allow-file-access-from-files", f"--user-data-dir={self._profile.name}",
             "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: (os.dup2(to_browser, 3), os.dup2(from_browser, 4)) and None)
        os.close(to_browser)
        os.close(from_browser)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)
        self._profile.cleanup()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """One DevTools command; its result (events that arrive meanwhile are kept for :meth:`wait_for`)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._next()
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, event: str, session: str | None = None) -> dict:
        """The next event named ``event`` (of ``session``)."""
        while True:
            for index, message in enumerate(self._events):
                if message.get("method") == event and message.get("sessionId") == session:
                    return self._events.pop(index)
            self._events.append(self._next())

    def _next(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("the browser did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, path: Path, width: int = 1400, height: int = 900) -> "Page":
        """A new tab of ``width`` x ``height`` CSS pixels showing the file ``path``, loaded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, width, height)
        self.send("Page.enable", session=session)
        page.resize(width, height)
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired", session)
        return page


class Page:
    """One tab: evaluate JavaScript, resize, take screenshots."""

    def __init__(self, browser: Chromium, session: str, width: int, height: int) -> None:
        self.browser, self.session, self.width, self.height = browser, session, width, height

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise); a thrown error is raised."""
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                         "returnByValue": True}, self.session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                  "deviceScaleFactor": 1, "mobile": False},
                          self.session)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the viewport, or of the whole page (the viewport grown to the page's height)."""
        if full_page:
            size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
            self.resize(self.width, int(size["height"]) + 1)
            time.sleep(0.3)  # let responsive plots relayout
        data = self.browser.send("Page.captureScreenshot", {"format": "png"}, self.session)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)
