"""The app in a real browser (Debian's Chromium through Playwright): upload a page, paste its ground
truth, read it, and check that the page shows a real HTML table and KaTeX-typeset math. The random tiny
model writes garbage, so the deterministic check is on the ground-truth panel, which renders beside the
model's output with the same renderer (same LaTeX delimiters, same HTML sanitising). The screenshot goes to
the test's tmp dir and, when writable, to runs/screenshots/app.png.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update"])
        yield b
        b.close()


def upload(page, path: Path) -> None:
    """As a user does it: click the drop zone, pick the file in the chooser."""
    with page.expect_file_chooser() as chooser:
        page.locator("#page-upload").get_by_text("Click to Upload").click()
    chooser.value.set_files(str(path))


def test_page_renders_table_and_math(browser, app_handle, pages, gt_markdown, tmp_path, repo_root):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(app_handle.url)
    page.locator("#run-button").wait_for(timeout=60_000)  # the Svelte app has mounted
    upload(page, pages["image"])
    page.get_by_text("page.png: image, 1 page(s)").wait_for(timeout=30_000)
    page.locator("#gt-text textarea").fill(gt_markdown)
    page.locator("#run-button").click()
    page.locator("#status").get_by_text("Done: page.png page 1").wait_for(timeout=60_000)

    gt = page.locator("#gt-rendered")
    gt.locator("table").wait_for(timeout=10_000)
    assert gt.locator("table tr").count() == 3
    assert gt.locator("table td").count() == 5  # the sanitiser kept the table whole...
    assert gt.locator('table td[colspan="2"]').count() == 1  # ...merged cells included
    gt.locator(".katex").first.wait_for(timeout=10_000)
    assert gt.locator("table td .katex").count() == 1  # inline $x^2$ inside a cell
    assert gt.locator(".katex-display").count() == 1  # the $$ display formula
    assert gt.locator(".katex-mathml").first.inner_text().strip()  # typeset, not left as "$$...$$"
    assert "$$" not in gt.inner_text()
    # The model's output and the diagnostics are on the page too.
    assert page.locator("#pred-rendered").inner_text().strip()
    assert page.locator("#scores").get_by_text("teds_s").count() >= 1

    shot = tmp_path / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    target = repo_root / "runs" / "screenshots"
    try:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target / "app.png")
    except OSError:  # a read-only checkout still has the copy under tmp_path
        pass

    # Bad uploads answer in the page and the app keeps serving: oversize is refused by Gradio's own size
    # check (a toast naming the file and the limit); an encrypted PDF by the app (status and a warning).
    page.locator("#page-upload").get_by_label("Clear").first.click()
    upload(page, pages["oversize"])
    toast = page.locator("[data-testid=toast-text]").filter(has_text="huge.png")
    toast.first.wait_for(timeout=15_000)
    assert toast.first.inner_text() == 'File(s) exceed the maximum allowed size of 1.0 Mb: "huge.png"'
    upload(page, pages["encrypted_pdf"])
    page.locator("#status").get_by_text("locked.pdf: PDF is encrypted (password required)").wait_for(timeout=30_000)
    page.locator("[data-testid=toast-text]").filter(has_text="locked.pdf").first.wait_for(timeout=15_000)
    page.screenshot(path=str(tmp_path / "bad-uploads.png"))

    # A synthetic example, clicked, fills the upload and the ground truth (rendered at once).
    example = app_handle.examples[0]
    page.locator("#examples tbody tr").first.click()
    page.locator("#status").get_by_text(f"{example.image.name}: image, 1 page(s)").wait_for(timeout=30_000)
    assert page.locator("#gt-text textarea").input_value() == example.markdown
    expect(gt.locator("table")).to_have_count(example.markdown.count("<table"), timeout=10_000)
    page.close()
