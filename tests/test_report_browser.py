"""The demo's HTML report, opened from disk in a real headless Chromium: every section and every
plot rendered, no console error, and a screenshot kept (also the README's docs/report-screenshot.png).

Debian's `chromium` and `chromium-driver` are needed (.ci/run installs them); Selenium is pointed
at them, so Selenium Manager never downloads a browser or a driver."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from pipefix.cli import main
from pipefix.report.html import SECTIONS, write_report
from pipefix.scenario.demo import DemoOptions, run_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PLOTS = ("timeline", "score", "constraints", "rows")
README_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "report-screenshot.png"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 12-step demo (drift at step 8, recovery after it) and its report."""
    folder = tmp_path_factory.mktemp("demo")
    options = DemoOptions(db=folder / "pipeline.duckdb", steps=12)
    run = run_demo(options)
    try:
        return write_report(
            folder / "report.html",
            run.pipeline.engine,
            run.pipeline.source_tables,
            revise_threshold=options.revise_threshold,
            stop_reason=str(run.final_state["stop_reason"]),
        )
    finally:
        run.pipeline.engine.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the report's browser test needs Debian's Chromium "
            "(`apt-get install -y chromium chromium-driver`, which .ci/run does)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_every_section_and_plot_renders_without_console_errors(
    browser: webdriver.Chrome, demo_report: Path, tmp_path: Path
) -> None:
    browser.get(demo_report.as_uri())
    assert browser.title == "pipefix report"
    for key, title in SECTIONS.items():
        section = browser.find_element(By.ID, key)
        assert section.is_displayed(), key
        assert section.find_element(By.TAG_NAME, "h2").text == title
        assert section.size["height"] > 40, key
    for name in PLOTS:
        plot = browser.find_element(By.CSS_SELECTOR, f'svg.plot[data-plot="{name}"]')
        assert plot.is_displayed(), name
        assert plot.size["width"] > 300, (name, plot.size)
        assert plot.size["height"] > 100, (name, plot.size)
        width, height, paths = browser.execute_script(
            "const box = arguments[0].getBBox(); return [box.width, box.height, "
            "arguments[0].querySelectorAll('path').length];",
            plot,
        )
        assert (width > 100, height > 50, paths > 10) == (True, True, True), (name, width, height, paths)
    # What a newcomer looks for: the drift, the revision and the recovery.
    overview = browser.find_element(By.ID, "overview").text
    assert "drift at step\n8" in overview
    assert "recovered at step\n10" in overview
    assert "rows lost\n0" in overview
    assert "v2 from step 8" in browser.find_element(By.ID, "goals").text
    assert "schema_migration" in browser.find_element(By.ID, "fixes").text
    drift = browser.find_element(By.ID, "drift").text
    assert "orders · contract v1.0 · diagnosed at step 8" in drift
    assert "events · contract v1.0 · diagnosed at step 8" in drift
    logs: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    errors = [entry for entry in logs if entry["level"] == "SEVERE"]
    assert errors == []

    screenshot = tmp_path / "report-screenshot.png"
    assert browser.save_screenshot(str(screenshot))
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, int(height) + 100)
    assert browser.save_screenshot(str(tmp_path / "report-full-page.png"))
    browser.set_window_size(1280, 1800)
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    if not README_SCREENSHOT.exists() or README_SCREENSHOT.read_bytes() != screenshot.read_bytes():
        shutil.copyfile(screenshot, README_SCREENSHOT)


def test_the_report_command_gives_the_same_sections(demo_report: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    db = demo_report.parent / "pipeline.duckdb"
    result = CliRunner().invoke(main, ["report", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    for key in SECTIONS:
        assert f'<section id="{key}"' in page
    assert page.count('<svg class="plot"') == len(PLOTS)
