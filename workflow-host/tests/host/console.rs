//! The web console: in a real browser (Debian's chromium driven by Playwright for
//! Python, `tests/browser/console.py`) against a real `aduan serve`, and through the
//! router for what a browser cannot show (headers, the policy, the rules).

use serde_json::json;

use crate::support::{self, Aduan};

/// A liaison officer sets their password through their link, signs in (a wrong
/// password refused first), sees the complaint disposed to them among their tasks,
/// reviews it through step 2's form and sees the review in the timeline; a form
/// without the session's token is refused, and after signing out the pages need a
/// sign-in again. On a phone's width, with no horizontal scrolling and no serious
/// accessibility violation (axe-core) on any page.
#[test]
fn the_console_in_a_real_browser() {
    let Some(python) = crate::support::browser::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("aduan.db").display());
    let upp = support::token(d, &url, "sari", "upp", None);
    support::ok(&Aduan::on(d, &url).run(&[
        "agency",
        "add",
        "PUPR",
        "Dinas Pekerjaan Umum dan Penataan Ruang",
    ]));
    let server = support::Server::start(d, &url);
    let registered = server.post(
        "/api/v1/complaints",
        &upp,
        &json!({"id": "ADU-WEB-1", "lapor_id": "LAP-WEB-1", "title": "Jalan berlubang di Selat",
            "description": "Lubang besar", "category": "infrastruktur",
            "reported_at": support::an_hour_ago(), "complainant": {"name": "Budi"},
            "upp_review": "Kewenangan PUPR"}),
    );
    assert_eq!(registered.status, 201, "{}", registered.text());
    let disposed = server.post(
        "/api/v1/complaints/ADU-WEB-1/dispose",
        &upp,
        &json!({"agency": "PUPR", "liaison_officer": "penghubung.pupr"}),
    );
    assert_eq!(disposed.status, 200, "{}", disposed.text());
    let base = format!("http://{}", server.addr);
    let link = support::ok(&Aduan::on(d, &url).run(&[
        "user",
        "add",
        "penghubung.pupr",
        "--role",
        "liaison",
        "--agency",
        "PUPR",
        "--base-url",
        &base,
    ]));
    let mut command = support::browser::script(&python, "console.py");
    command
        .env("BASE", &base)
        .env("LINK", link.trim())
        .env("USER_NAME", "penghubung.pupr")
        .env("COMPLAINT", "ADU-WEB-1");
    support::browser::run(command);
    assert!(server.stop().success());
}

/// The whole SOP through the screens (`tests/browser/walk.py`): UPP, a liaison officer,
/// the head of the agency and APIP each signed in in a browser of their own, from the
/// registration with an attachment to the closing, with a photo from a file input, the
/// BA's print view and an APIP verification; every screen at a phone's width, scanned
/// by axe-core. On SQLite the screenshots land in `target/screens`.
async fn walk(backend: workflow_store::testing::Backend, name: &str) {
    let Some(python) = crate::support::browser::python() else {
        return;
    };
    let aduan = support::Installation::new(backend, name).await;
    support::ok(&aduan.run(&[
        "agency",
        "add",
        "PUPR",
        "Dinas Pekerjaan Umum dan Penataan Ruang",
        "--head-name",
        "Ir. Hendra Saputra, M.T.",
        "--head-nip",
        "197205141998031007",
    ]));
    let server = aduan.serve(&[]);
    let base = format!("http://{}", server.addr);
    let mut people = serde_json::Map::new();
    for (role, user, agency) in [
        ("upp", "sari.upp", None),
        ("liaison", "penghubung.pupr", Some("PUPR")),
        ("head", "kepala.pupr", Some("PUPR")),
        ("apip", "auditor.apip", None),
    ] {
        let mut args = vec!["user", "add", user, "--role", role, "--base-url", &base];
        if let Some(agency) = agency {
            args.extend(["--agency", agency]);
        }
        let link = support::ok(&aduan.run(&args));
        people.insert(role.into(), json!([user, link.trim()]));
    }
    let photo = aduan.path().join("jembatan.jpg");
    let mut command = support::browser::script(&python, "walk.py");
    command
        .env("BASE", &base)
        .env("PEOPLE", serde_json::Value::Object(people).to_string())
        .env("PHOTO", &photo);
    if backend != workflow_store::testing::Backend::Sqlite {
        // Screenshots once, from the SQLite walk.
        command.env("SHOTS", "");
    }
    support::browser::run_within(command, std::time::Duration::from_secs(300));
    assert!(server.stop().success());
}

on_each_backend!(walk: the_whole_sop_through_the_screens_on_sqlite, the_whole_sop_through_the_screens_on_postgres);
