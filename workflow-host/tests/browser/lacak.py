"""The public tracking page in a real browser: Debian's chromium driven by Playwright.

Run by the host test `open311_client::the_tracking_page_in_a_real_browser` with:
    BASE        the server, http://127.0.0.1:PORT
    NOMOR       the LAPOR! tracking number of a public complaint with a progress report
    PROGRESS    that report's text
    SECRET      the tracking number of a confidential complaint
    SHOTS       a folder for screenshots (lacak-ponsel.png, lacak-desktop.png)
    AXE         the path of axe.min.js; by default the one the PyPI package
                axe-playwright-python ships
At 360 px: the number typed into the form finds the complaint, with its status and its
progress; no horizontal scrolling, no serious or critical axe-core violation; the
confidential number is not found. Exits non-zero naming the step that failed.
"""
import os

from playwright.sync_api import sync_playwright

from common import AXE, check, no_horizontal_scroll, accessible

BASE = os.environ["BASE"]
SHOTS = os.environ["SHOTS"]

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=bool(AXE))
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(BASE + "/lacak")
    check(page.get_by_role("heading", name="Lacak aduan").is_visible(), "the form's heading")
    page.get_by_label("Nomor pelacakan LAPOR!").fill(os.environ["NOMOR"])
    page.get_by_role("button", name="Lacak").click()
    check(page.get_by_text("Sedang ditelaah perangkat daerah").is_visible(), "the status in plain words")
    check(page.get_by_text(os.environ["PROGRESS"]).is_visible(), "the progress report")
    no_horizontal_scroll(page, "the tracking page")
    size = len(page.request.get(page.url).body())
    check(size < 50 * 1024, f"the tracking page: {size} bytes, under 50 KB")
    page.screenshot(path=f"{SHOTS}/lacak-ponsel.png", full_page=True)
    accessible(page, "the tracking page")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=f"{SHOTS}/lacak-desktop.png", full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    response = page.goto(BASE + "/lacak/" + os.environ["SECRET"])
    check(response.status == 404, f"the confidential number is not found ({response.status})")
    check(page.get_by_role("alert").is_visible(), "the not-found message")
    no_horizontal_scroll(page, "the not-found page")
    accessible(page, "the not-found page")
    browser.close()
