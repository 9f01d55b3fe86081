//! Open311 GeoReport v2 read by an independent client against a real `aduan serve`:
//! `tests/open311/georeport_client.py`, with the PyPI package `georeport` (its GETs) and
//! `requests` (the POST, which `georeport` lacks); and the tracking page in a real
//! browser (`tests/browser/lacak.py`). The router tests (`api::open311`) cover the rest
//! on both backends.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::{self, run_bounded};

const NAME: &str = "Rina Kartika";
const PHONE: &str = "+62 813 4444 2727";
const PROGRESS: &str = "Tim sudah meninjau lokasi";

/// The Python with `georeport`: `OPEN311_PYTHON`, or the venv CI makes
/// (`target/open311-venv`). Skipped, said on stderr, where the browser tests are
/// (`ADUAN_BROWSER_TESTS=skip`) or, outside CI, when there is none; in CI without one
/// the test fails.
fn python() -> Option<PathBuf> {
    crate::support::browser::venv_python(
        "OPEN311_PYTHON",
        "open311-venv",
        "georeport",
        "the Open311 client test",
    )
}

/// The two complaints of these tests on a fresh SQLite database behind `aduan serve`:
/// `LAP-O311-1` public, disposed, reviewed, with a progress report; `LAP-O311-2`
/// confidential. The server and the UPP token.
fn served(d: &std::path::Path) -> (support::Server, String) {
    let url = format!("sqlite://{}", d.join("aduan.db").display());
    let upp = support::token(d, &url, "sari", "upp", None);
    let liaison = support::token(d, &url, "penghubung.pupr", "liaison", Some("PUPR"));
    let server = support::Server::start(d, &url);
    for (id, confidentiality) in [("LAP-O311-1", "public"), ("LAP-O311-2", "confidential")] {
        let r = server.post(
            "/api/v1/complaints",
            &upp,
            &json!({"lapor_id": id, "title": "Jalan berlubang di Selat",
                "description": "Lubang besar", "category": "infrastruktur",
                "location": "Jl. Tambun Bungai",
                "reported_at": support::an_hour_ago(),
                "complainant": {"name": NAME, "phone": PHONE, "confidentiality": confidentiality},
                "upp_review": "Kewenangan PUPR"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    for (path, token, body) in [
        (
            "dispose",
            &upp,
            json!({"agency": "PUPR", "liaison_officer": "penghubung.pupr"}),
        ),
        (
            "review",
            &liaison,
            json!({"complete": true, "clear": true, "notes": "Lengkap"}),
        ),
        ("progress", &liaison, json!({"text": PROGRESS})),
    ] {
        let r = server.post(
            &format!("/api/v1/complaints/LAP-O311-1/{path}"),
            token,
            &body,
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    (server, upp)
}

/// The tracking page at a phone's width (`tests/browser/lacak.py`): the number typed
/// into the form finds the complaint, its status and progress shown, no horizontal
/// scrolling, no serious accessibility violation (axe-core); a confidential number is
/// not found. The screenshots land in `target/screens`.
#[test]
fn the_tracking_page_in_a_real_browser() {
    let Some(python) = crate::support::browser::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = served(dir.path());
    let mut command = crate::support::browser::script(&python, "lacak.py");
    command
        .env("BASE", format!("http://{}", server.addr))
        .env("NOMOR", "LAP-O311-1")
        .env("PROGRESS", PROGRESS)
        .env("SECRET", "LAP-O311-2");
    crate::support::browser::run(command);
    assert!(server.stop().success());
}

/// A public complaint with a progress report and a confidential one, read through
/// `georeport`; a request posted with and without a UPP token's key.
#[test]
fn an_independent_georeport_client_reads_and_posts() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, upp) = served(dir.path());
    let mut command = Command::new(python);
    command
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/open311/georeport_client.py"))
        .env("BASE", format!("http://{}", server.addr))
        .env("API_KEY", &upp)
        .env("PUBLIC", "LAP-O311-1")
        .env("SECRET", "LAP-O311-2")
        .env("NAME", NAME)
        .env("PHONE", PHONE);
    let out = run_bounded(command).expect("python runs");
    assert!(
        out.status.success(),
        "the GeoReport client failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.stop().success());
}
