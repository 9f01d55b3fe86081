//! The BA as an agency head prints it: the page is printed to PDF by a real headless
//! Chromium (Debian's `chromium`), and the PDF is read back with poppler's tools: the
//! paper size, the text on each page, and the photo embedded as an image.

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;

use super::{clarified, TestApp};
use crate::support::run_bounded;
use workflow_core::fixtures::wib;

/// A 1×1 PNG: a real image the browser decodes and prints.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

fn tool(program: &str, args: &[&str]) -> String {
    let mut command = Command::new(program);
    command.args(args);
    crate::support::on_the_machines_clock(&mut command);
    let out = run_bounded(command).unwrap_or_else(|e| {
        panic!("{program} runs (CI installs it; apt-get install chromium poppler-utils): {e}")
    });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prints `html` to a PDF with headless Chromium; the PDF's path.
fn print(dir: &Path, name: &str, html: &str) -> String {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    tool(
        "chromium",
        &[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", page.display()),
        ],
    );
    pdf.display().to_string()
}

/// The first page's size in points, as `pdfinfo` reports it.
fn page_size(info: &str) -> (f64, f64) {
    let line = info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap_or_else(|| panic!("no page size: {info}"));
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// A complaint with a field visit citing a real photo, and a BA with NIPs and a place.
async fn with_ba(t: &TestApp) {
    // The registry gives the letterhead its address, and the head's NIP.
    t.store
        .update_agency(
            &workflow_core::AgencyCode("PUPR".into()),
            &workflow_store::agency::AgencyChange {
                address: Some(Some("Jl. Tambun Bungai No. 1, Kuala Kapuas".into())),
                head: Some(Some(workflow_store::agency::AgencyHead {
                    name: "Ir. Hendra Wijaya, M.T.".into(),
                    nip: "197005121998031007".into(),
                })),
                ..Default::default()
            },
            wib("2026-12-04 12:00"),
        )
        .await
        .unwrap();
    t.given("ADU-BA", clarified(true)).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    let r = t
        .post_bytes(
            "/api/v1/evidence?complaint=ADU-BA",
            "liaison_pupr",
            Some("image/png"),
            png,
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let photo = r.json()["sha256"].as_str().unwrap().to_owned();
    t.post(
        "/api/v1/complaints/ADU-BA/field-verification",
        "liaison_pupr",
        json!({"visit_date": "2026-12-03", "location": "Jl. Tambun Bungai depan SDN 3 Selat",
            "parties_summoned": [{"name": "Rahmat", "position": "Kepala Seksi Pemeliharaan Jalan"}],
            "parties_confirmed": [{"name": "Rahmat", "position": "Kepala Seksi Pemeliharaan Jalan"}],
            "findings": "Lubang 1,2 x 0,8 m", "evidence": [{"sha256": photo, "caption": "Lubang diukur"}]}),
    )
    .await
    .assert_status(StatusCode::OK);
    t.post(
        "/api/v1/complaints/ADU-BA/ba",
        "liaison_pupr",
        json!({"number": "BA/045/PUPR/XII/2026", "date": "2026-12-04",
            "addressee": {"name": "Ir. Hendra Wijaya, M.T.", "position": "Kepala Dinas PUPR",
                          "agency": "PUPR"},
            "signatories": [
                {"name": "Andi Pratama", "position": "Pejabat Penghubung", "nip": "19850317 201001 1 004"},
                {"name": "Rahmat", "position": "Kepala Seksi Pemeliharaan Jalan", "nip": "19780904 200501 1 012"}],
            "findings": "Lubang terkonfirmasi", "conclusion": "Perlu penambalan",
            "solution": "Penambalan 7 Desember 2026", "place": "Kuala Kapuas"}),
    )
    .await
    .assert_status(StatusCode::OK);
    t.store.projector().catch_up().await.unwrap();
}

/// Printed on A4 (and F4): the letterhead from the registry, the day and date of the visit (Thursday 3 December, not the
/// BA's date), who confirmed the findings, the photo itself, the place-and-date line,
/// and every signature with its NIP on the one page that holds "Mengetahui".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ba_prints_as_a_signable_document() {
    // The visit on Thursday 3 December, the BA the day after.
    let t = TestApp::new(wib("2026-12-04 12:00")).await;
    with_ba(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let page = t.get("/api/v1/complaints/ADU-BA/ba", "head_pupr").await;
    page.assert_status(StatusCode::OK);
    let pdf = print(d, "a4", &page.text);
    let (w, h) = page_size(&tool("pdfinfo", &[&pdf]));
    assert!(
        (w - 595.3).abs() < 1.0 && (h - 841.9).abs() < 1.0,
        "not A4: {w} x {h}"
    );
    let images = tool("pdfimages", &["-list", &pdf]);
    assert!(
        images.lines().count() > 2,
        "the photo is not in the PDF: {images}"
    );
    let text = tool("pdftotext", &["-layout", &pdf, "-"]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "PEMERINTAH KABUPATEN KAPUAS",
        "DINAS PEKERJAAN UMUM DAN PENATAAN RUANG",
        "Jl. Tambun Bungai No. 1, Kuala Kapuas",
        "BERITA ACARA PEMERIKSAAN LAPANGAN",
        "Nomor: BA/045/PUPR/XII/2026",
        "Pada hari ini Kamis, tanggal 3 Desember 2026, bertempat di Jl. Tambun Bungai depan SDN 3 Selat",
        "Temuan dikonfirmasi oleh:",
        "Foto/Dokumen 1: Lubang diukur",
        "Kuala Kapuas, 4 Desember 2026",
    ] {
        assert!(flat.contains(expected), "`{expected}` is not in the printed BA:\n{text}");
    }
    assert!(
        !flat.contains("Jumat, 4 Desember"),
        "the visit is dated by the BA:\n{text}"
    );
    let signatures = text
        .split('\u{c}')
        .find(|p| p.contains("Mengetahui"))
        .expect("a page with the head's signature");
    for name in [
        "Andi Pratama",
        "NIP. 19850317 201001 1 004",
        "NIP. 19780904 200501 1 012",
        "Ir. Hendra Wijaya, M.T.",
        "NIP. 197005121998031007",
    ] {
        assert!(
            signatures.contains(name),
            "`{name}` is not on the page with the head's signature:\n{signatures}"
        );
    }

    let f4 = t
        .get("/api/v1/complaints/ADU-BA/ba?kertas=f4", "head_pupr")
        .await;
    f4.assert_status(StatusCode::OK);
    let (w, h) = page_size(&tool("pdfinfo", &[&print(d, "f4", &f4.text)]));
    // 215 × 330 mm in points.
    assert!(
        (w - 609.4).abs() < 1.0 && (h - 935.4).abs() < 1.0,
        "not F4: {w} x {h}"
    );
    t.get("/api/v1/complaints/ADU-BA/ba?kertas=letter", "head_pupr")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "an unknown paper");
}
