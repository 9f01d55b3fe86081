"""The auditors' screens (APIP) in a real browser: Debian's chromium driven by Playwright.

Run by the host test `console_apip::the_audit_screens_in_a_real_browser` with:
    BASE       the server, http://127.0.0.1:PORT
    LINK       an auditor's one-time set-password link
    USER_NAME  that auditor's name
    COMPLAINT  a complaint in the log
    SHOTS      a folder for screenshots
    AXE        the path of axe.min.js; by default the one the PyPI package
               axe-playwright-python ships (without either the scan is skipped,
               except in CI)
Exits non-zero, naming the step, when anything is not as it should be. Every wait is
bounded.
"""
import os
import sys
import time

from playwright.sync_api import sync_playwright

from common import AXE, check, no_horizontal_scroll, accessible, shown

BASE = os.environ["BASE"]
LINK = os.environ["LINK"]
USER = os.environ["USER_NAME"]
COMPLAINT = os.environ["COMPLAINT"]
SHOTS = os.environ["SHOTS"]
PASSWORD = "pengawas-kapuas-2026"
WAIT_MS = 30_000








def screen(page, name):
    """The checks of every screen on the phone, and its screenshot."""
    size = len(page.request.get(page.url).body())
    check(size < 50 * 1024, f"{name}: {size} bytes, under 50 KB before images")
    page.screenshot(path=f"{SHOTS}/{name}-ponsel.png", full_page=True)
    no_horizontal_scroll(page, name)
    accessible(page, name)


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    phone = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=bool(AXE))
    phone.set_default_timeout(WAIT_MS)
    page = phone.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # The one-time link, then sign in.
    page.goto(LINK)
    page.get_by_label("Kata sandi baru").fill(PASSWORD)
    page.get_by_role("button", name="Simpan").click()
    check(page.url.endswith("/konsol/masuk"), "a set password leads to sign-in")
    page.get_by_label("Nama pengguna").fill(USER)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    check(page.url.endswith("/konsol/tugas"), "signed in")

    # The index, from the navigation.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Jejak audit").click()
    check(shown(page.get_by_role("heading", name="Jejak audit", exact=True)), "the audit index")
    screen(page, "audit")

    # The complaint's trail, through the search box.
    page.get_by_label("Nomor aduan").fill(COMPLAINT)
    page.get_by_role("button", name="Buka").click()
    check(page.url.endswith(f"/konsol/audit/aduan/{COMPLAINT}"), "the search box opens the trail")
    hashes = page.locator(".event-hash").all_inner_texts()
    check(len(hashes) >= 2 and all(len(h) == 64 for h in hashes), f"every event with its hash ({len(hashes)})")
    prevs = page.locator(".prev-hash").all_inner_texts()
    check(prevs[0] == "0" * 64 and prevs[1:] == hashes[:-1], "each event links to the one before")
    check(page.locator("#rantai").inner_text().startswith("Rantai hash aduan ini utuh"), "the complaint's chain holds")
    screen(page, "audit-jejak")

    # As of an instant: the form starts at now (the policy's zone), where every event is.
    check(page.get_by_label("Jam (WIB)").input_value() != "", "the form starts at now")
    page.get_by_role("button", name="Tampilkan keadaan").click()
    check("/keadaan?tanggal=" in page.url, "the as-of form is a GET")
    check(shown(page.get_by_text(f"{len(hashes)} dari {len(hashes)} peristiwa")), "as of now, every event")
    check(page.locator(".riwayat li").count() == len(hashes), "the timeline as of then")
    screen(page, "audit-keadaan")

    # The verification: started by a button, its page follows the run to its end.
    page.goto(BASE + "/konsol/audit")
    page.get_by_role("button", name="Verifikasi sekarang").click()
    check("/konsol/audit/verifikasi/" in page.url, "the run has its page")
    deadline = time.monotonic() + WAIT_MS / 1000
    while page.locator("#hasil").count() == 0:
        check(time.monotonic() < deadline, "the verification ends within 30 s")
        # The page reloads itself while the run goes on: the run may end, and the page
        # show its result, between the loop's test and this one.
        page.wait_for_load_state()
        check(page.get_by_text("peristiwa diperiksa").count() == 1 or page.locator("#hasil").count() == 1,
              "a running verification shows its progress")
        page.wait_for_timeout(250)
    check(page.locator("#hasil").inner_text().startswith("Log utuh"), "the log verifies")
    screen(page, "audit-verifikasi")

    # The identity reads: this auditor's own read of the trail is among them.
    page.goto(BASE + "/konsol/audit/identitas")
    page.get_by_label("Pembaca (nama pengguna)").fill(USER)
    page.get_by_role("button", name="Saring").click()
    check(shown(page.get_by_text("GET /konsol/audit/aduan/{id}").first), "the trail's read of the identity is recorded")
    screen(page, "audit-identitas")

    # Downloads: files, named as files.
    page.goto(BASE + "/konsol/audit/unduh")
    screen(page, "audit-unduh")
    with page.expect_download(timeout=WAIT_MS) as d:
        page.get_by_role("link", name="Unduh checkpoint (JSON)").click()
    check(d.value.suggested_filename.startswith("checkpoint-"), f"a checkpoint file ({d.value.suggested_filename})")
    checkpoint_path = d.value.path()
    check('"signature"' in open(checkpoint_path, encoding="utf-8").read(), "the checkpoint is signed")
    with page.expect_download(timeout=WAIT_MS) as d:
        page.get_by_role("link", name="Unduh seluruh log").click()
    check(d.value.suggested_filename.endswith(".jsonl"), f"an export file ({d.value.suggested_filename})")
    lines = open(d.value.path(), encoding="utf-8").read().splitlines()
    check(len(lines) >= 2 and all(l.startswith("{") for l in lines), f"the export is JSON Lines ({len(lines)} events)")

    # Desktop width, with the pages' own policy (no bypass): the same screens.
    desk = browser.new_context(viewport={"width": 1280, "height": 800}, storage_state=phone.storage_state())
    desk.set_default_timeout(WAIT_MS)
    d = desk.new_page()
    d.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for name, path in [
        ("audit", "/konsol/audit"),
        ("audit-jejak", f"/konsol/audit/aduan/{COMPLAINT}"),
        ("audit-keadaan", f"/konsol/audit/aduan/{COMPLAINT}/keadaan?tanggal=2026-11-27&jam=12:00"),
        ("audit-identitas", "/konsol/audit/identitas"),
        ("audit-unduh", "/konsol/audit/unduh"),
    ]:
        d.goto(BASE + path)
        no_horizontal_scroll(d, f"{name} (desktop)", 1280)
        d.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
    d.goto(BASE + "/konsol/audit")
    d.get_by_role("button", name="Verifikasi sekarang").click()
    d.locator("#hasil").wait_for(timeout=WAIT_MS)
    run_url = d.url
    d.screenshot(path=f"{SHOTS}/audit-verifikasi-desktop.png", full_page=True)

    # A running verification's page reloads itself: the markup the server sends while a
    # run goes on (a link marked data-muat-ulang, which the console's own script
    # follows), under the console's own policy, is reloaded by the browser on its own,
    # with no serious accessibility violation (a meta refresh would be one). (The
    # server's own answer is the model: a page a screenshot was taken of carries
    # Playwright's traces, a style attribute the policy refuses.)
    served = d.request.get(run_url)
    policy = served.headers["content-security-policy"]
    check("unsafe-inline" not in policy and "default-src 'none'" in policy, f"the page's policy allows nothing inline ({policy})")
    check("data-muat-ulang" not in served.text(), "a finished run's page does not reload")
    running = served.text().replace("<main>", '<main>\n<p><a href="" id="perbarui" data-muat-ulang="1">Perbarui sekarang</a></p>', 1)
    loads = []

    def serve_running(route):
        loads.append(time.monotonic())
        route.fulfill(status=200, headers={"content-type": "text/html; charset=utf-8", "content-security-policy": policy}, body=running)

    d.route(BASE + "/konsol/audit/verifikasi/berjalan", serve_running)
    d.goto(BASE + "/konsol/audit/verifikasi/berjalan")
    deadline = time.monotonic() + 10
    while len(loads) < 3 and time.monotonic() < deadline:
        d.wait_for_timeout(200)
    check(len(loads) >= 3, f"the page reloads itself under the console's policy ({len(loads)} loads in 10 s)")

    # The refusals above answer 4xx on purpose only when asked; anything logged is a fault.
    check(not errors, f"no browser console errors ({errors})")
    browser.close()
print("apip: every check held")
