"""The boards of the head of an agency and of the coordinator in a real browser:
Debian's chromium driven by Playwright.

Run by the host test `console_boards::the_boards_in_a_real_browser` with:
    BASE        the server, http://127.0.0.1:PORT
    HEAD_LINK   the one-time set-password link of the head of PUPR
    HEAD_USER   that head's name
    COORD_LINK  the coordinator's one-time link
    COORD_USER  the coordinator's name
    SHOTS       a folder for screenshots (<screen>-ponsel.png, <screen>-desktop.png)
    AXE         the path of axe.min.js; by default the one the PyPI package
                axe-playwright-python ships
Every screen at 360 px: no horizontal scrolling, no serious or critical axe-core
violation; screenshots at 360 and 1280 px. Exits non-zero naming the step that failed.
"""
import os
import sys

from playwright.sync_api import sync_playwright

from common import AXE, check, no_horizontal_scroll, accessible

BASE = os.environ["BASE"]
SHOTS = os.environ["SHOTS"]
PASSWORD = "jembatan-kapuas-2026"








def screen(page, path, name, heading):
    """Opens a screen at 360 px, checks it, and shoots it at 360 and 1280 px."""
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(BASE + path)
    check(page.get_by_role("heading", name=heading, exact=True).first.is_visible(), f"{name}: the heading {heading!r}")
    no_horizontal_scroll(page, name)
    size = len(page.request.get(page.url).body())
    check(size < 50 * 1024, f"{name}: {size} bytes, under 50 KB before images")
    page.screenshot(path=f"{SHOTS}/{name}-ponsel.png", full_page=True)
    accessible(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})


def sign_in(browser, link, user):
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=bool(AXE))
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(link)
    page.get_by_label("Kata sandi baru").fill(PASSWORD)
    page.get_by_role("button", name="Simpan").click()
    page.get_by_label("Nama pengguna").fill(user)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    check(not page.url.endswith("/konsol/masuk"), f"{user} signed in")
    return context, page


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    errors = []

    # The head of PUPR: the agency's board and the BAs waiting, from the navigation.
    context, page = sign_in(browser, os.environ["HEAD_LINK"], os.environ["HEAD_USER"])
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    nav = page.get_by_role("navigation", name="Menu")
    check(nav.get_by_role("link", name="BA menunggu").count() == 1, "the head's navigation names the BAs waiting")
    screen(page, "/konsol/papan-opd", "papan-opd", "Papan perangkat daerah PUPR")
    check(page.get_by_text("aduan terbuka").is_visible(), "the agency's open work")
    screen(page, "/konsol/ba-menunggu", "ba-menunggu", "BA menunggu")
    answer = page.request.get(BASE + "/konsol/papan")
    check(answer.status == 403, f"the coordinator's board is not the head's ({answer.status})")
    context.close()

    # The coordinator: the board with its filters, breaches, returns, statistics.
    context, page = sign_in(browser, os.environ["COORD_LINK"], os.environ["COORD_USER"])
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    screen(page, "/konsol/papan", "papan", "Papan tenggat")
    check(page.locator("a[href^='/konsol/aduan/']").count() >= 2, "the board lists every agency's duties")
    page.get_by_label("Perangkat daerah").select_option("DINKES")
    page.get_by_role("button", name="Tampilkan").click()
    check("opd=DINKES" in page.url, "the filter is a GET form")
    rows = page.locator("a[href^='/konsol/aduan/']")
    check(rows.count() >= 1 and all("DINKES" in rows.nth(i).inner_text() for i in range(rows.count())),
          "the board filtered to one agency")
    no_horizontal_scroll(page, "filtered board")
    screen(page, "/konsol/pelanggaran", "pelanggaran", "Pelanggaran untuk diputuskan")
    screen(page, "/konsol/eskalasi", "eskalasi", "Pengembalian ke koordinator")
    screen(page, "/konsol/statistik", "statistik", "Statistik")
    charts = page.locator("figure.grafik img")
    check(charts.count() == 2, "two charts")
    for i in range(charts.count()):
        loaded = charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
        check(loaded, f"chart {i + 1} is drawn (an image of the console's own)")
    check(page.locator("table caption").first.is_visible(), "the charts' numbers as a table")
    context.close()

    check(not errors, f"no browser console errors ({errors})")
    browser.close()
print("boards: every check held")
