//! `aduan demo` runs the real binary: it must exit 0, print the timeline for people and
//! a JSON document for programs that covers every path of the SOP.

use std::process::Output;

use crate::support::aduan_in;

/// Runs `aduan` on its default database in a folder of its own.
fn aduan(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    aduan_in(dir.path(), args)
}

#[test]
fn the_demo_prints_a_timeline_through_the_whole_sop() {
    let out = aduan(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for event_type in [
        "Received",
        "Disposed",
        "Reviewed",
        "Clarified",
        "FieldVerified",
        "BAIssued",
        "Responded",
        "Closed",
    ] {
        assert!(
            text.contains(event_type),
            "timeline lacks {event_type}:\n{text}"
        );
    }
    assert!(text.contains("SLA clocks as of"));
}

#[test]
fn the_demo_json_covers_every_path_of_the_sop() {
    let out = aduan(&["demo", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let complaints = doc["complaints"].as_array().unwrap();
    let mut event_types: Vec<&str> = complaints
        .iter()
        .flat_map(|c| c["events"].as_array().unwrap())
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    event_types.sort_unstable();
    event_types.dedup();
    let every: Vec<&str> = workflow_core::complaint::event::EVENT_TYPES.to_vec();
    for t in &every {
        assert!(event_types.contains(t), "the demo never shows {t}");
    }
    let statuses: Vec<&str> = complaints
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"closed") && statuses.contains(&"rejected"));
    let breached = complaints
        .iter()
        .flat_map(|c| c["sla"].as_array().unwrap())
        .filter(|a| a["status"] == "breached")
        .count();
    assert!(breached > 0, "the demo should show overdue work");
}

#[test]
fn an_unknown_verb_fails_with_a_reason() {
    let out = aduan(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty());
}

#[test]
fn the_demo_lands_in_the_default_sqlite_file_and_runs_twice_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let first = aduan_in(dir.path(), &["demo"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        dir.path().join("aduan.db").exists(),
        "the embedded default is ./aduan.db"
    );
    let second = aduan_in(dir.path(), &["demo"]);
    assert_eq!(first.stdout, second.stdout, "a second run changes nothing");
}

#[test]
fn the_board_history_and_replay_read_what_the_demo_stored() {
    let dir = tempfile::tempdir().unwrap();
    // The weeks the dates below are written for.
    assert!(aduan_in(dir.path(), &["demo", "--ends", "2026-12-21"])
        .status
        .success());

    let board = aduan_in(
        dir.path(),
        &[
            "sla",
            "--json",
            "--status",
            "breached",
            "--at",
            "2026-12-21T03:00:00Z",
        ],
    );
    assert!(
        board.status.success(),
        "{}",
        String::from_utf8_lossy(&board.stderr)
    );
    let board: serde_json::Value = serde_json::from_slice(&board.stdout).unwrap();
    let mut ids: Vec<(&str, &str)> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["complaint_id"].as_str().unwrap(),
                e["step"].as_str().unwrap(),
            )
        })
        .collect();
    ids.sort_unstable();
    // The clinic is late in step 3 and the drain in step 2; neither agency posted a
    // follow-up within LAPOR!'s five working days (the drain's breach was annulled, but
    // the clock still runs late); the fallen tree's agency decided by the coordinator
    // has not reviewed it.
    assert_eq!(
        ids,
        [
            ("ADU-2026-0003", "field_verification"),
            ("ADU-2026-0003", "follow_up"),
            ("ADU-2026-0005", "follow_up"),
            ("ADU-2026-0005", "review"),
            ("ADU-2026-0011", "review"),
        ]
    );

    let history = aduan_in(
        dir.path(),
        &[
            "history",
            "ADU-2026-0003",
            "--as-of",
            "2026-12-09T00:00:00Z",
            "--json",
        ],
    );
    assert!(history.status.success());
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history["status"], "awaiting_information");
    assert_eq!(history["events"].as_array().unwrap().len(), 4);

    let replay = aduan_in(dir.path(), &["replay", "--json"]);
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let replay: serde_json::Value = serde_json::from_slice(&replay.stdout).unwrap();
    // The complaints, the outbox's assignments, the timeline.
    assert_eq!(replay.as_array().unwrap().len(), 3);

    let missing = aduan_in(dir.path(), &["history", "ADU-NOPE"]);
    assert!(!missing.status.success());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).lines().count(),
        1,
        "a one-line reason"
    );
}

#[test]
fn a_bad_database_url_fails_with_a_one_line_reason() {
    let out = aduan(&["--database-url", "mysql://localhost/aduan", "migrate"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("mysql://"));
}

#[test]
fn a_holiday_amendment_moves_the_deadlines_of_running_duties() {
    let dir = tempfile::tempdir().unwrap();
    assert!(aduan_in(dir.path(), &["demo", "--ends", "2026-12-21"])
        .status
        .success());
    let due = || {
        let out = aduan_in(
            dir.path(),
            &["sla", "--json", "--at", "2026-12-21T03:00:00Z"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let board: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        board["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["complaint_id"] == "ADU-2026-0006")
            .map(|e| e["due_at"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let before = due();
    std::fs::write(
        dir.path().join("amend.csv"),
        "date,kind,name_id,name_en,source\n2026-12-22,cuti_bersama,Cuti Tambahan,Extra leave,SKB perubahan\n",
    )
    .unwrap();
    let import = aduan_in(
        dir.path(),
        &["calendar", "import", "amend.csv", "--as", "sari"],
    );
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let after = due();
    assert!(before.starts_with("2026-12-23"), "{before}");
    assert!(
        after.starts_with("2026-12-28"),
        "with 22 December off and Christmas, due after the weekend: {after}"
    );
    let missing = aduan_in(
        dir.path(),
        &["calendar", "import", "missing.csv", "--as", "sari"],
    );
    assert!(!missing.status.success());
    assert_eq!(due(), after, "nothing changed");
}

/// Without `--ends`, the demo's weeks end on the last Monday on or before today (WIB)
/// whose weeks hold no holiday, so the board "as of now" right after it has work due
/// and overdue; a second run on another day replays the weeks it was loaded with.
#[test]
fn the_demo_ends_by_today_and_a_later_run_replays_its_weeks() {
    use chrono::{Duration, Utc};
    let dir = tempfile::tempdir().unwrap();
    let today = (Utc::now() + Duration::hours(7)).date_naive();
    let out = aduan_in(dir.path(), &["demo", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let as_of: chrono::DateTime<Utc> = doc["as_of"].as_str().unwrap().parse().unwrap();
    let shift =
        workflow_host::demo::Shift::ending_by(today, &workflow_core::WorkingCalendar::builtin());
    assert_eq!(
        (as_of + Duration::hours(7)).date_naive(),
        shift.last_day(),
        "the weeks chosen for today"
    );
    assert!(shift.last_day() <= today);

    // Another day: the database's demo is replayed, not loaded again.
    let again = aduan_in(dir.path(), &["demo", "--json", "--ends", "2025-06-30"]);
    assert!(again.status.success());
    assert_eq!(again.stdout, out.stdout, "nothing changes");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("holds the demo already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // A day whose weeks are moved: the whole script still runs.
    let other = tempfile::tempdir().unwrap();
    let moved = aduan_in(other.path(), &["demo", "--ends", "2025-06-30"]);
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
}

/// Times are shown in the policy's zone, named: WITA when the policy says
/// Asia/Makassar, not WIB.
#[test]
fn times_are_shown_in_the_policys_zone() {
    let dir = tempfile::tempdir().unwrap();
    let policy = workflow_core::SlaPolicy {
        time_zone: workflow_core::TimeZoneSpec::parse("Asia/Makassar").unwrap(),
        ..workflow_core::SlaPolicy::default()
    };
    std::fs::write(
        dir.path().join("wita.json"),
        serde_json::to_string(&policy).unwrap(),
    )
    .unwrap();
    let with = |args: &[&str]| {
        let out = aduan_in(dir.path(), args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    with(&["migrate"]);
    with(&["policy", "set", "wita.json", "--as", "sari"]);
    with(&["demo", "--ends", "2026-12-21"]);
    let board = with(&["sla", "--at", "2026-12-21T03:00:00Z"]);
    assert!(
        board.starts_with("SLA board as of Mon 21 Dec 11:00 WITA"),
        "{board}"
    );
    let history = with(&[
        "history",
        "ADU-2026-0001",
        "--as-of",
        "2026-12-21T03:00:00Z",
    ]);
    assert!(history.contains("when (WITA)"), "{history}");
    // The registration, 08:30 WIB, is 09:30 WITA.
    assert!(history.contains("Mon 30 Nov 09:30  sari.upp"), "{history}");
}

/// The demo registers the agencies it disposes to, and running it again leaves an
/// agency the operator changed as the operator has it.
#[test]
fn the_demo_registers_its_agencies_and_keeps_the_operators() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = aduan_in(dir.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["demo"]);
    let listed: serde_json::Value =
        serde_json::from_slice(&run(&["--json", "agency", "list"])).unwrap();
    let codes: Vec<&str> = listed["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["BPBD", "DINKES", "DISDAG", "DISDIK", "DISHUB", "DLH", "PUPR", "SATPOLPP"]
    );
    // The README's tour adds PUPR as the demo did: nothing changes.
    run(&[
        "agency",
        "add",
        "PUPR",
        "Dinas Pekerjaan Umum dan Penataan Ruang",
        "--time-zone",
        "WIB",
        "--head-name",
        "Ir. Hendra Wijaya, M.T.",
        "--head-nip",
        "197205121998031004",
    ]);
    run(&[
        "agency",
        "update",
        "DINKES",
        "--name",
        "Dinas Kesehatan Kabupaten Kapuas",
    ]);
    run(&["demo"]);
    let listed: serde_json::Value =
        serde_json::from_slice(&run(&["--json", "agency", "list"])).unwrap();
    assert_eq!(
        listed["agencies"][1]["name"], "Dinas Kesehatan Kabupaten Kapuas",
        "{listed}"
    );
}

/// An agency whose office keeps another zone than the policy's sees its own times on
/// the board, named; the others keep the policy's.
#[test]
fn an_agency_in_another_zone_sees_its_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = aduan_in(dir.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["demo", "--ends", "2026-12-21"]);
    run(&["agency", "update", "PUPR", "--time-zone", "WITA"]);
    let board = run(&["sla", "--at", "2026-12-21T03:00:00Z"]);
    let pupr: Vec<&str> = board.lines().filter(|l| l.contains(" PUPR ")).collect();
    assert!(!pupr.is_empty(), "{board}");
    for line in &pupr {
        assert!(line.contains("WITA"), "a PUPR row in WIB: {line}");
    }
    // The drain (PUPR): its review was due Friday 11 December, 23:59 WIB = 00:59 WITA
    // the next day.
    assert!(board.contains("Sat 12 Dec 00:59 WITA"), "{board}");
    for line in board.lines().filter(|l| l.contains(" DINKES ")) {
        assert!(!line.contains("WITA"), "a DINKES row moved: {line}");
    }
}

/// `demo --people` adds one person per actor of the script to the console, each with a
/// link that opens the set-password form; a second run gives new links to the same
/// people, and an old link no longer opens anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_adds_its_people_to_the_console_with_their_links() {
    let dir = tempfile::tempdir().unwrap();
    let links = |out: Output| -> Vec<(String, String)> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["user"].as_str().unwrap().to_owned(),
                    p["set_password_link"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // The demo's document, then the people's (two JSON documents, one per line group).
    let first = aduan_in(
        dir.path(),
        &["demo", "--people", "http://127.0.0.1:8080", "--json"],
    );
    let text = String::from_utf8(first.stdout.clone()).unwrap();
    let people_doc = text.lines().last().unwrap().to_owned();
    let first = links(Output {
        stdout: people_doc.into_bytes(),
        ..first
    });
    let users: Vec<&str> = first.iter().map(|(u, _)| u.as_str()).collect();
    for expected in [
        "sari.upp",
        "ketua.tim",
        "auditor.apip",
        "penghubung.pupr",
        "kepala.pupr",
    ] {
        assert!(users.contains(&expected), "{expected} in {users:?}");
    }
    assert_eq!(
        users.len(),
        3 + 2 * 8,
        "UPP, coordinator, APIP, two per agency: {users:?}"
    );
    assert!(first
        .iter()
        .all(|(_, l)| l.starts_with("http://127.0.0.1:8080/konsol/atur-sandi/")));

    let again = aduan_in(
        dir.path(),
        &["demo", "--people", "http://127.0.0.1:8080", "--json"],
    );
    let text = String::from_utf8(again.stdout.clone()).unwrap();
    let people_doc = text.lines().last().unwrap().to_owned();
    let second = links(Output {
        stdout: people_doc.into_bytes(),
        ..again
    });
    assert_eq!(
        second.iter().map(|(u, _)| u).collect::<Vec<_>>(),
        first.iter().map(|(u, _)| u).collect::<Vec<_>>(),
        "the same people"
    );
    let store = workflow_store::Store::open(
        &format!("sqlite://{}", dir.path().join("aduan.db").display()),
        workflow_store::SettingsSource::Stored,
    )
    .await
    .unwrap();
    let secret = |link: &str| link.rsplit('/').next().unwrap().to_owned();
    let now = chrono::Utc::now();
    for ((user, old), (_, new)) in first.iter().zip(&second) {
        assert_ne!(old, new, "{user} gets a new link");
        assert!(
            store
                .password_link(&secret(old), now)
                .await
                .unwrap()
                .is_none(),
            "{user}'s old link is void"
        );
        let who = store
            .password_link(&secret(new), now)
            .await
            .unwrap()
            .expect("the new link opens");
        assert_eq!(&who.user.0, user);
    }
}

/// One request to a running `aduan serve` with a session cookie (the console's way):
/// the status, the cookie it sets, and the text.
fn console(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &str,
) -> (u16, Option<String>, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        form.len()
    );
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(form.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let set_cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().to_owned())
        })
        .and_then(|c| c.split(';').next().map(str::to_owned));
    (status, set_cookie, body.to_owned())
}

/// With the demo and its people, every screen of the console shows something: the
/// officer's tasks, the head's BA waiting and board, the coordinator's board, breaches,
/// escalated returns and statistics, APIP's trail; and the log of identity reads fills
/// as soon as someone opens an identity.
#[test]
fn the_demo_fills_every_screen_of_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let server = crate::support::Server::start(dir.path(), &url);
    let base = format!("http://{}", server.addr);
    let out = aduan_in(dir.path(), &["demo", "--people", &base, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let people: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let link_of = |user: &str| -> String {
        people["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user"] == user)
            .unwrap()["set_password_link"]
            .as_str()
            .unwrap()
            .trim_start_matches(&base)
            .to_owned()
    };
    let sign_in = |user: &str| -> String {
        let (status, _, _) = console(
            server.addr,
            "POST",
            &link_of(user),
            None,
            "sandi=jembatan-kapuas-2026",
        );
        assert_eq!(status, 303, "{user} sets a password");
        let (status, cookie, _) = console(
            server.addr,
            "POST",
            "/konsol/masuk",
            None,
            &format!("nama={user}&sandi=jembatan-kapuas-2026"),
        );
        assert_eq!(status, 303, "{user} signs in");
        cookie.expect("a session cookie")
    };
    let shows = |cookie: &str, path: &str, what: &str| {
        let (status, _, page) = console(server.addr, "GET", path, Some(cookie), "");
        assert_eq!(status, 200, "{path}: {page}");
        assert!(page.contains(what), "{path} shows {what}: {page}");
    };
    let liaison = sign_in("penghubung.pupr");
    shows(&liaison, "/konsol/tugas", "href=\"/konsol/aduan/ADU-2026-");
    let head = sign_in("kepala.pupr");
    shows(&head, "/konsol/ba-menunggu", "ADU-2026-0012");
    shows(&head, "/konsol/papan-opd", "aduan terbuka");
    let coordinator = sign_in("ketua.tim");
    shows(
        &coordinator,
        "/konsol/papan",
        "href=\"/konsol/aduan/ADU-2026-",
    );
    shows(
        &coordinator,
        "/konsol/pelanggaran",
        "href=\"/konsol/aduan/ADU-2026-",
    );
    shows(&coordinator, "/konsol/eskalasi", "ADU-2026-0013");
    shows(
        &coordinator,
        "/konsol/statistik",
        "/konsol/statistik/grafik.svg",
    );
    let upp = sign_in("sari.upp");
    shows(&upp, "/konsol/tugas", "href=\"/konsol/aduan/ADU-2026-");
    // UPP opens a public complainant's identity: APIP sees the read.
    shows(&upp, "/konsol/aduan/ADU-2026-0001", "Tindakan");
    let apip = sign_in("auditor.apip");
    shows(&apip, "/konsol/audit/aduan/ADU-2026-0001", "event-hash");
    shows(&apip, "/konsol/audit/identitas", "ADU-2026-0001");
    assert!(server.stop().success());
}
