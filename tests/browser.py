"""Headless Chromium for the report tests (Debian's ``chromium`` and ``chromium-driver``, driven with
Selenium). Tests that need it skip when either is missing; CI installs both (README, Tests)."""
from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# as root, without the network: no sandbox, no background connections (they are refused here)
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--mute-audio", "--window-size=1400,1800", "--autoplay-policy=no-user-gesture-required"]


def available() -> bool:
    return Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()


@contextlib.contextmanager
def chromium(tmp_path: Path):
    if not available():
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, path: Path, timeout: float = 20.0) -> float:
    """Open a local page and wait for its script to say it is ready (``body[data-ready]``); seconds taken.
    Raises when the page reports an error or never gets ready."""
    t = time.perf_counter()
    driver.get(path.resolve().as_uri())
    while time.perf_counter() - t < timeout:
        ready, error = driver.execute_script("return [document.body.dataset.ready, document.body.dataset.error]")
        if error:
            raise AssertionError(f"{path.name}: page error: {error}")
        if ready:
            return time.perf_counter() - t
        time.sleep(0.02)
    raise AssertionError(f"{path.name}: not ready after {timeout} s")


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
