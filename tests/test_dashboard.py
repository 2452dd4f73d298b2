"""``ncsweep dashboard``: the MLflow UI for a study's store on 127.0.0.1, opened in headless
Chromium (scripts/install_chromium.sh installs it); the study's run names must be on the page.
Skips only when Chromium / chromedriver / selenium are not installed, and says so."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

STUDY = "dashstudy"
RUN_NAMES = ["s1-ecg200-baseline-0", "s1-ecg200-bt-warp-0"]


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> Path:
    from ncsweep.tracking import StudyTracker, TrialTracker, default_tracking_uri

    storage = tmp_path_factory.mktemp("dash")
    (storage / "study.yaml").write_text(f"study: {STUDY}\n")
    uri = default_tracking_uri(storage)
    parent = StudyTracker(uri, STUDY, storage).start({"study": STUDY})
    for name in RUN_NAMES:
        t = TrialTracker(uri, STUDY, parent, name, "stage1", {"a": 1}, {"dataset": "ECG200"})
        t.log_epoch({"val/recon": 0.5}, step=1)
        t.end()
    return storage


@pytest.fixture(scope="module")
def served(storage, tmp_path_factory):
    """``ncsweep dashboard STUDY --port 0`` as a user runs it, in its own process group."""
    log = tmp_path_factory.mktemp("dashlog") / "out.txt"
    cmd = [sys.executable, "-m", "ncsweep", "dashboard", str(storage), "--port", "0"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        for line in log.read_text().splitlines():
            if "MLflow UI for" in line:
                url = line.split(": ", 1)[1].split()[0]
        if url:
            break
        time.sleep(0.5)
    try:
        assert url, f"dashboard did not print its URL:\n{log.read_text()}"
        yield url, proc
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the command stops its server
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_dashboard_serves_study(served):
    import urllib.request

    url, _ = served
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
        assert resp.status == 200


def _browser(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Chromium not installed (scripts/install_chromium.sh could not install it)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,900", f"--user-data-dir={tmp_path / 'chrome-profile'}"]:  # fmt: skip
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver)
    return webdriver.Chrome(options=opts, service=service)


_EXPAND = "[role=gridcell] button[data-component-id*=runnamecellrenderer]"


def _collapsed(button) -> bool:
    # the collapsed icon is a plus: its first path draws the vertical bar "V4.5"
    return "V4.5" in (button.get_attribute("innerHTML") or "")


def test_runs_visible_in_chromium(served, storage, tmp_path):
    from ncsweep.tracking import load_study

    url, _ = served
    exp_id = load_study(f"sqlite:///{storage / 'mlflow.db'}", STUDY).experiment_id
    browser = _browser(tmp_path)
    try:
        browser.get(f"{url}/#/experiments/{exp_id}/runs")
        deadline, text = time.monotonic() + 120, ""
        while time.monotonic() < deadline:
            # trial runs are nested under the study's parent run: expand it
            for button in browser.find_elements("css selector", _EXPAND):
                if button.is_displayed() and _collapsed(button):
                    button.click()
            text = browser.find_element("tag name", "body").text
            if all(name in text for name in RUN_NAMES):
                break
            time.sleep(1)
        browser.save_screenshot(
            str(Path(os.environ.get("NCSWEEP_SCREENSHOT_DIR", tmp_path)) / "dashboard.png")
        )
        assert all(name in text for name in RUN_NAMES), text[:2000]
    finally:
        browser.quit()
