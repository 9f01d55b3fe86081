//! Open311 GeoReport v2 read by an independent client against a real `aduan serve`:
//! `tests/open311/georeport_client.py`, with the PyPI package `georeport` (its GETs) and
//! `requests` (the POST, which `georeport` lacks). The router tests (`api::open311`)
//! cover the rest on both backends.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::{self, run_bounded};

const NAME: &str = "Rina Kartika";
const PHONE: &str = "+62 813 4444 2727";

/// The Python with `georeport`: `OPEN311_PYTHON`, or the venv CI makes
/// (`target/open311-venv`). Skipped, said on stderr, where the browser tests are
/// (`ADUAN_BROWSER_TESTS=skip`: CI's runs of one backend's build) or, outside CI, when
/// there is none; in CI without one the test fails.
fn python() -> Option<PathBuf> {
    if std::env::var("ADUAN_BROWSER_TESTS").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: ADUAN_BROWSER_TESTS=skip");
        return None;
    }
    if let Some(p) = std::env::var_os("OPEN311_PYTHON") {
        return Some(p.into());
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/open311-venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install georeport (target/open311-venv) for the Open311 client test"
    );
    eprintln!("SKIPPED: no georeport (python3 -m venv target/open311-venv && target/open311-venv/bin/pip install georeport)");
    None
}

/// A public complaint with a progress report and a confidential one, read through
/// `georeport`; a request posted with and without a UPP token's key.
#[test]
fn an_independent_georeport_client_reads_and_posts() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
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
                "reported_at": "2026-11-27T01:00:00Z",
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
        (
            "progress",
            &liaison,
            json!({"text": "Tim sudah meninjau lokasi"}),
        ),
    ] {
        let r = server.post(
            &format!("/api/v1/complaints/LAP-O311-1/{path}"),
            token,
            &body,
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
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
