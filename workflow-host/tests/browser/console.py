"""The web console in a real browser: Debian's chromium driven by Playwright.

Run by the host test `console::the_console_in_a_real_browser` with:
    BASE       the server, http://127.0.0.1:PORT
    LINK       a liaison officer's one-time set-password link
    USER       that liaison officer's name
    COMPLAINT  a complaint disposed to them
    SHOTS      a folder for screenshots
    AXE        the path of axe.min.js; by default the one the PyPI package
               axe-playwright-python ships (without either the scan is skipped,
               except in CI)
Exits non-zero, naming the step, when anything is not as it should be.
"""
import json
import os
import sys

from playwright.sync_api import sync_playwright

from common import AXE, check, no_horizontal_scroll, accessible, shown

BASE = os.environ["BASE"]
LINK = os.environ["LINK"]
USER = os.environ["USER_NAME"]
COMPLAINT = os.environ["COMPLAINT"]
SHOTS = os.environ["SHOTS"]
PASSWORD = "jembatan-kapuas-2026"








with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    phone = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=bool(AXE))
    page = phone.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # The one-time link: set a password, then it is used up.
    page.goto(LINK)
    check(page.get_by_role("heading", name="Atur kata sandi").is_visible(), "the link opens the form")
    accessible(page, "set-password page")
    page.get_by_label("Kata sandi baru").fill(PASSWORD)
    page.get_by_role("button", name="Simpan").click()
    check(page.url.endswith("/konsol/masuk"), "a set password leads to sign-in")
    page.goto(LINK)
    check(page.get_by_text("tidak berlaku").is_visible(), "a used link is refused")

    # Sign in; a wrong password is refused next to the form.
    page.goto(BASE + "/konsol/masuk")
    page.screenshot(path=f"{SHOTS}/masuk-ponsel.png", full_page=True)
    no_horizontal_scroll(page, "sign-in")
    accessible(page, "sign-in page")
    page.get_by_label("Nama pengguna").fill(USER)
    page.get_by_label("Kata sandi").fill("salah-sekali")
    page.get_by_role("button", name="Masuk").click()
    check(page.get_by_role("alert").inner_text().startswith("Nama pengguna atau kata sandi salah"), "a wrong password is refused")
    # Then by keyboard alone: Tab from the name to the password, the focus visible,
    # Enter sends the form.
    page.get_by_label("Nama pengguna").focus()
    page.keyboard.press("Tab")
    check(page.evaluate("document.activeElement.id") == "sandi", "Tab moves from the name to the password")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    check(outline not in ("none", ""), f"the keyboard's focus is visible (outline {outline})")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/konsol/tugas", timeout=30000)
    check(page.url.endswith("/konsol/tugas"), "signed in by keyboard, the tasks are the first page")
    cookies = {c["name"]: c for c in phone.cookies()}
    session = cookies.get("aduan_sesi")
    check(session and session["httpOnly"] and session["sameSite"] == "Strict", "the session cookie is HttpOnly and SameSite=Strict")

    # "Tugas saya": the complaint, its deadline marked in words.
    check(page.get_by_role("heading", name="Tugas saya").is_visible(), "the liaison officer's tasks")
    task = page.locator(f"a[href='/konsol/aduan/{COMPLAINT}']")
    check(task.count() == 1, "the disposed complaint is a task")
    check(task.locator(".status").inner_text() in ("Sesuai jadwal", "Hampir jatuh tempo", "Terlambat"), "its state in words")
    page.screenshot(path=f"{SHOTS}/tugas-ponsel.png", full_page=True)
    no_horizontal_scroll(page, "tasks")
    accessible(page, "tasks page")

    # The complaint: step 2's form, answered; the timeline shows the review.
    task.click()
    check(page.locator("#aksi-review[open]").count() == 1, "the current step's form, open")
    page.screenshot(path=f"{SHOTS}/aduan-ponsel.png", full_page=True)
    no_horizontal_scroll(page, "complaint")
    accessible(page, "complaint page")
    page.locator("#aksi-review").get_by_label("Catatan").fill("Lokasi dan foto jelas")
    page.get_by_role("button", name="Simpan telaah").click()
    check(shown(page.locator(".riwayat").get_by_text("Reviewed")), "the review is in the timeline")
    check(page.locator("#aksi-review").count() == 0, "the step's form is gone once done")

    # A form posted without the session's token (another site's) is refused.
    answer = page.request.post(BASE + f"/konsol/aduan/{COMPLAINT}/aksi/clarify",
                               form={"csrf": "0" * 64, "kunci": "x", "field_examination_needed": "ya", "reasoning": "x"})
    check(answer.status == 403, f"a form without the session's token is refused ({answer.status})")

    # Sign out: the session is over, pages send to sign-in again.
    page.get_by_role("button", name="Keluar").click()
    check(page.url.endswith("/konsol/masuk"), "signed out")
    page.goto(BASE + "/konsol/tugas")
    check(page.url.endswith("/konsol/masuk"), "after sign-out the tasks need a sign-in")

    # Desktop width, for the screenshots.
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    d = desk.new_page()
    d.goto(BASE + "/konsol/masuk")
    d.screenshot(path=f"{SHOTS}/masuk-desktop.png", full_page=True)
    # The refusals above answer 401 and 404 on purpose; anything else logged is a fault.
    faults = [e for e in errors if "status of 401" not in e and "status of 404" not in e]
    check(not faults, f"no browser console errors ({faults})")
    browser.close()
print("console: every check held")
