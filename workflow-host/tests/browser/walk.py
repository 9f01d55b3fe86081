"""The whole SOP through the console's screens: four people, each in a browser of their
own (Debian's chromium driven by Playwright), at a phone's width.

UPP registers a complaint from LAPOR! with an attachment and disposes it; the liaison
officer reviews it, concludes that the field must be checked, records the visit with a
photo from a file input (previewed before it is sent), issues the BA and prints it; the
head of the agency acknowledges the BA; the officer answers the complainant; UPP
records the complainant's feedback and closes the complaint after confirming; APIP
reads the audit trail with its hashes and runs a verification to its result.

Run by the host test `console::the_whole_sop_through_the_screens_*` with:
    BASE     the server, http://127.0.0.1:PORT
    PEOPLE   JSON: {"upp": [name, set-password link], "liaison": …, "head": …, "apip": …}
    PHOTO    where to write the photo (a real JPEG the browser draws)
    SHOTS    a folder for screenshots (empty: none taken)
    AXE      the path of axe.min.js (else the one axe-playwright-python ships)
Every screen is checked at 360 px for horizontal scrolling and scanned by axe-core.
Exits non-zero, naming the step, when anything is not as it should be.
"""
import json
import os
import sys

from playwright.sync_api import sync_playwright

from common import AXE, accessible, check, no_horizontal_scroll, shown

BASE = os.environ["BASE"]
PEOPLE = json.loads(os.environ["PEOPLE"])
PHOTO = os.environ["PHOTO"]
SHOTS = os.environ.get("SHOTS", "")
PASSWORD = "jembatan-kapuas-2026"
LAPOR_ID = "LAP-2026-7781"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}




def screen(page, name, fetched=True):
    """One screen: under 50 KB before images, no horizontal scrolling at 360 px, no
    serious accessibility violation, and its screenshots at phone and desktop width."""
    if fetched:
        size = len(page.request.get(page.url).body())
        check(size < 50 * 1024, f"{name}: {size} bytes, under 50 KB before images")
    no_horizontal_scroll(page, name, PHONE["width"])
    accessible(page, name)
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}-ponsel.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)


def status(page):
    return page.locator(".status-aduan").inner_text()


def sign_in(browser, role):
    name, link = PEOPLE[role]
    context = browser.new_context(viewport=PHONE, bypass_csp=bool(AXE))
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(link)
    page.get_by_label("Kata sandi baru").fill(PASSWORD)
    page.get_by_role("button", name="Simpan").click()
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    check(page.url.endswith("/konsol/tugas"), f"{role} signed in")
    page.errors = errors
    return page


def action(page, slug):
    form = page.locator(f"#aksi-{slug}")
    check(form.count() == 1, f"the form `{slug}` is offered")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    return form


def yes_no(form, question, answer):
    form.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    # A photo as a phone would take it: a real JPEG, drawn by the browser.
    camera = browser.new_page(viewport={"width": 640, "height": 480})
    camera.set_content("<body style='margin:0;background:linear-gradient(#7aa7d8,#5b3a1e)'>"
                       "<h1 style='color:#fff;font:48px sans-serif;padding:180px 40px'>Jembatan Anjir</h1></body>")
    camera.screenshot(path=PHOTO, type="jpeg", quality=70)
    camera.close()
    upp = sign_in(browser, "upp")
    liaison = sign_in(browser, "liaison")
    head = sign_in(browser, "head")
    apip = sign_in(browser, "apip")
    complaint = f"{BASE}/konsol/aduan/{LAPOR_ID}"

    # UPP: the board, then the registration with an attachment.
    screen(upp, "papan-upp")
    upp.get_by_role("link", name="Daftarkan aduan").click()
    screen(upp, "daftar")
    form = upp.locator("#aksi-register")
    form.locator("[name='lapor_id']").fill(LAPOR_ID)
    form.get_by_label("Judul").fill("Jembatan kayu di Desa Anjir rusak")
    form.get_by_label("Isi aduan").fill("Papan jembatan lapuk, anak sekolah memutar 3 km")
    form.get_by_label("Kategori").fill("infrastruktur")
    form.get_by_label("Lokasi").fill("Desa Anjir Serapat, Kapuas Timur")
    form.get_by_label("Nama pelapor").fill("Rahmat Hidayat")
    form.get_by_label("Telepon pelapor").fill("081234567890")
    form.get_by_label("Hasil telaahan UPP").fill("Kewenangan Dinas PUPR")
    form.locator("[name='attachments']").set_input_files(PHOTO)
    form.get_by_role("button", name="Daftarkan").click()
    check(upp.url == complaint, "registered, UPP is on the complaint's page")
    check(status(upp).startswith("diterima UPP"), "the complaint waits for its disposition")
    screen(upp, "aduan-upp")

    # UPP: the door, disposed to PUPR's liaison officer.
    form = action(upp, "dispose")
    form.get_by_label("Perangkat daerah").select_option("PUPR")
    form.get_by_label("Pejabat penghubung").fill(PEOPLE["liaison"][0])
    form.get_by_label("Instruksi").fill("Mohon ditinjau minggu ini")
    form.get_by_role("button", name="Disposisikan").click()
    check(status(upp).startswith("didisposisikan"), "disposed")

    # The liaison officer: the task, the review (step 2).
    liaison.reload()
    task = liaison.locator(f"a[href='/konsol/aduan/{LAPOR_ID}']")
    check(task.count() == 1, "the disposed complaint is among the officer's tasks")
    screen(liaison, "tugas")
    task.click()
    screen(liaison, "aduan-penghubung")
    form = action(liaison, "review")
    yes_no(form, "Apakah aduan lengkap?", "Ya")
    yes_no(form, "Apakah aduan jelas?", "Ya")
    form.get_by_label("Catatan").fill("Data dan lokasi jelas")
    form.get_by_role("button", name="Simpan telaah").click()
    check(status(liaison) == "ditelaah", "reviewed")

    # The conclusion of step 2: the field must be checked.
    form = action(liaison, "clarify")
    yes_no(form, "Perlu pemeriksaan lapangan?", "Ya")
    form.get_by_label("Alasan").fill("Kondisi jembatan perlu dilihat langsung")
    form.get_by_role("button", name="Simpan simpulan").click()
    check(status(liaison) == "diklarifikasi", "clarified: a field examination is needed")

    # Step 3: the visit, a photo from the file input, previewed before it is sent.
    form = action(liaison, "field-verification")
    form.get_by_label("Tempat").fill("Jembatan Desa Anjir Serapat")
    form.get_by_label("Nama 1").first.fill("Yusran")
    form.get_by_label("Jabatan 1").first.fill("Kepala Desa Anjir Serapat")
    form.get_by_label("Temuan").fill("Enam papan lapuk di bentang tengah")
    form.locator("[name='evidence']").set_input_files(PHOTO)
    form.locator("[name='evidence.caption']").fill("Papan lapuk bentang tengah")
    preview = form.locator(".pratinjau img")
    preview.first.wait_for(timeout=5000)
    check(preview.count() == 1, "the chosen photo is previewed before it is sent")
    screen(liaison, "kunjungan")
    form.get_by_role("button", name="Simpan verifikasi").click()
    check(status(liaison).startswith("diverifikasi"), "the visit is recorded")
    photo = liaison.locator(".foto img").first
    photo.scroll_into_view_if_needed()
    liaison.wait_for_function("() => { const i = document.querySelector('.foto img'); return i && i.complete && i.naturalWidth > 0; }", timeout=5000)
    check(photo.evaluate("img => img.naturalWidth > 0"), "the visit's photo is shown (loaded when scrolled to)")

    # The BA, then its print view with the photo.
    form = action(liaison, "ba")
    check(form.locator("[name='addressee.agency']").input_value() == "PUPR", "the BA's addressee agency is filled in")
    check(form.locator("[name='addressee.name']").input_value() != "", "the head's name comes from the registry")
    form.get_by_label("Nomor BA").fill("BA/PUPR/2026/031")
    form.get_by_label("Nama 1").fill("Yusran")
    form.get_by_label("Jabatan 1").fill("Kepala Desa Anjir Serapat")
    form.get_by_label("Temuan").fill("Enam papan lapuk di bentang tengah")
    form.get_by_label("Kesimpulan").fill("Papan perlu diganti")
    form.get_by_label("Solusi bagi pelapor").fill("Papan diganti oleh UPT Jalan dan Jembatan dalam 14 hari")
    form.get_by_role("button", name="Terbitkan BA").click()
    check(status(liaison).startswith("BA terbit"), "the BA is issued")
    liaison.get_by_role("link", name="Cetak Berita Acara").click()
    check(liaison.get_by_text("BA/PUPR/2026/031").count() >= 1, "the print view shows the BA's number")
    check(liaison.locator("img").count() >= 1, "the print view carries the photo")
    screen(liaison, "ba-cetak")
    liaison.go_back()

    # The head of the agency acknowledges the BA.
    head.goto(complaint)
    screen(head, "aduan-kepala")
    form = action(head, "acknowledge-ba")
    form.get_by_label("Arahan").fill("Segera dikerjakan")
    form.get_by_role("button", name="Terima BA").click()
    check(head.locator(".riwayat").get_by_text("BaAcknowledged").count() == 1, "the acknowledgement is in the timeline")

    # The officer answers the complainant with the BA's solution.
    liaison.reload()
    form = action(liaison, "respond")
    form.get_by_role("button", name="Kirim jawaban").click()
    check(status(liaison).startswith("dijawab"), "the complainant is answered")

    # UPP: the complainant's feedback, then the closing after a confirmation.
    upp.reload()
    form = action(upp, "feedback")
    yes_no(form, "Pelapor puas?", "Ya")
    form.get_by_label("Yang disampaikan pelapor").fill("Terima kasih, sudah diperbaiki")
    form.get_by_role("button", name="Simpan tanggapan").click()
    form = action(upp, "close")
    form.get_by_label("Catatan penutup").fill("Selesai")
    form.get_by_role("button", name="Tutup").click()
    check(shown(upp.get_by_role("heading", name="Konfirmasi: Tutup aduan")), "closing asks first")
    screen(upp, "konfirmasi", fetched=False)
    upp.get_by_role("button", name="Ya, tutup").click()
    check(status(upp) == "ditutup", "closed")
    left = [d.get_attribute("id") for d in upp.locator("details.aksi").all()]
    check(left == ["aksi-erase-identity"], f"a closed complaint offers only the erasure of the identity ({left})")

    # APIP: read-only; the audit trail with hashes, then a verification to its result.
    apip.goto(complaint)
    check(apip.locator("details.aksi").count() == 0, "APIP gets no form")
    apip.goto(f"{BASE}/konsol/audit/aduan/{LAPOR_ID}")
    hashes = apip.locator(".event-hash").all_inner_texts()
    check(len(hashes) >= 10 and all(len(h.strip()) == 64 for h in hashes), f"the audit trail shows each event's hash ({len(hashes)})")
    previous = apip.locator(".prev-hash").all_inner_texts()
    check([p.strip() for p in previous[1:]] == [h.strip() for h in hashes[:-1]], "each event links to the hash before it")
    screen(apip, "audit-aduan")
    apip.goto(f"{BASE}/konsol/audit")
    apip.get_by_role("button", name="Verifikasi sekarang").click()
    apip.locator("#hasil").wait_for(timeout=60000)
    check(apip.locator("#hasil").inner_text().startswith("Log utuh"), "APIP's verification finds the log whole")
    screen(apip, "audit-verifikasi")

    for who, page in (("upp", upp), ("liaison", liaison), ("head", head), ("apip", apip)):
        faults = [e for e in page.errors if "status of 4" not in e]
        check(not faults, f"no browser console errors for {who} ({faults})")
    browser.close()
print("walk: every step held")
