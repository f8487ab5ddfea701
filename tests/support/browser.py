"""Headless Chromium for the UI tests: the system browser, driven by Playwright, never downloaded.

    with Browser() as browser:
        page = browser.signed_in(stack.base_url, "reviewer", stack.users["reviewer"])
        page.goto(stack.base_url + "/aimod/")
        browser.screenshot(page, "aimod-page")

The browser is Debian's ``chromium`` (``$AIMOD_CHROMIUM``, else ``chromium`` on the PATH); ``make test``
installs it with apt when it is missing. Without it the tests fail with that advice, they never
skip. Playwright gives every launch a fresh temporary profile (its ``--user-data-dir``), so no
state leaks between tests. Signing in goes through the simple auth manager's own login page, the
way a person does; the page keeps the JWT in the ``_token`` cookie the Airflow UI and the AiMod
app read. Screenshots go to ``tests/artifacts/`` (gitignored), kept after the run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage")
MIN_SCREENSHOT_BYTES = 10_000
INSTALL = ("Chromium is required for the browser tests and was not found at {path}: install it with "
           "`sudo apt-get install -y --no-install-recommends chromium` (Debian/Ubuntu; `make test` does this "
           "when it can), or point $AIMOD_CHROMIUM at a Chromium/Chrome binary. Playwright never downloads one here.")


class ChromiumMissing(RuntimeError):
    """Raised when no system Chromium is installed (the browser tests fail, they do not skip)."""


def chromium_path() -> str:
    """The Chromium binary to drive, or ChromiumMissing with how to install it."""
    path = os.environ.get("AIMOD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ChromiumMissing(INSTALL.format(path=path))
    return path


class Browser:
    """One headless Chromium (context manager): sign in, open pages, keep screenshots."""

    def __init__(self, *, width: int = 1400, height: int = 1000, timeout_ms: int = 60_000) -> None:
        self.viewport = {"width": width, "height": height}
        self.timeout_ms = timeout_ms
        self._playwright: Any = None
        self._browser: Any = None

    def __enter__(self) -> Browser:
        from playwright.sync_api import expect, sync_playwright

        executable = chromium_path()
        expect.set_options(timeout=self.timeout_ms)  # expect() waits as long as actions do (a loaded machine)
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True,
                                                             args=list(CHROMIUM_FLAGS), timeout=self.timeout_ms)
        except BaseException:
            self._playwright.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def new_page(self) -> Any:
        """A page in a fresh context (its own cookies), with generous timeouts for a loaded machine."""
        context = self._browser.new_context(viewport=self.viewport)
        context.set_default_timeout(self.timeout_ms)
        return context.new_page()

    def signed_in(self, base_url: str, user: str, password: str) -> Any:
        """A page signed in as ``user`` through the simple auth manager's login form."""
        page = self.new_page()
        page.goto(f"{base_url}/auth/login")
        page.locator("input[name=username]").fill(user)
        page.locator("input[name=password]").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/" not in url)
        if not any(c["name"] == "_token" for c in page.context.cookies(base_url)):
            raise AssertionError(f"signing in as {user} set no _token cookie; the page shows:\n{page.inner_text('body')}")
        return page

    @staticmethod
    def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
        """Save ``tests/artifacts/<name>.png`` and check it is a real picture, not an empty frame."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        data = path.read_bytes()
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # PNG IHDR
        if not data.startswith(b"\x89PNG") or len(data) < MIN_SCREENSHOT_BYTES or min(width, height) < 400:
            raise AssertionError(f"{path} ({len(data)} bytes, {width}x{height}): the page rendered (nearly) nothing")
        return path
