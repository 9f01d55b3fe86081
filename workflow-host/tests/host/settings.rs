//! The holiday table amendment and the SLA policy are settings in the database, changed
//! by `aduan calendar import` and `aduan policy set` alone: recorded with their history,
//! judged with by every process on the database (a running server too), and left alone
//! by every other verb.

use serde_json::{json, Value};
use sqlx::{Connection, Row};
use workflow_store::testing::Backend;

use crate::support::{ok, refused, Installation};

/// 22 December 2026 off: with Christmas and the cuti bersama of 24 December in the
/// shipped table, a disposition due on 23 December is due on 28 December instead.
const AMENDMENT: &str = "date,kind,name_id,name_en,source\n\
    2026-12-22,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan 2026\n";

/// 24 November 2026 off: a complaint reported on Friday 20 November, due on Wednesday
/// 25 November, is due on Thursday 26 November instead.
const NOVEMBER_AMENDMENT: &str = "date,kind,name_id,name_en,source\n\
    2026-11-24,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan 2026\n";

/// The bus complaint of the demo's weeks ending on 21 December 2026, whose disposition
/// is due on 23 December by the shipped table.
const BUS: &str = "ADU-2026-0006";

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON")
}

/// The disposition deadline of `id` as stored in the SLA index, read behind the
/// binary's back.
async fn stored_due(aduan: &Installation, id: &str) -> String {
    let mut raw = aduan.db.raw().await;
    let due: String = sqlx::query(
        "SELECT due_at FROM sla_deadlines WHERE complaint_id = $1 AND step = 'disposition'",
    )
    .bind(id)
    .fetch_one(&mut raw)
    .await
    .unwrap()
    .try_get("due_at")
    .unwrap();
    raw.close().await.unwrap();
    due
}

/// The disposition deadline of `id` as `aduan sla --json` shows it.
fn board_due(aduan: &Installation, id: &str) -> String {
    let board = json_of(&aduan.run(&["sla", "--json", "--at", "2026-12-21T03:00:00Z"]));
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["complaint_id"] == id && e["step"] == "disposition")
        .unwrap_or_else(|| panic!("{id} on the board: {board}"))["due_at"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn verbs_without_the_servers_settings_leave_the_stored_deadlines_alone(
    backend: Backend,
    name: &str,
) {
    let aduan = Installation::new(backend, name).await;
    std::fs::write(aduan.path().join("amend.csv"), AMENDMENT).unwrap();
    ok(&aduan.run(&["demo", "--ends", "2026-12-21"]));
    assert_eq!(stored_due(&aduan, BUS).await, "2026-12-23T16:59:59.000000Z");
    ok(&aduan.run(&["calendar", "import", "amend.csv", "--as", "sari"]));
    let moved = "2026-12-28T16:59:59.000000Z";
    assert_eq!(stored_due(&aduan, BUS).await, moved);

    // A server judging with the setting, and beside it every other verb, none of them
    // told anything about holidays.
    let server = aduan.serve(&[]);
    for verb in [
        &["sla"][..],
        &["demo"],
        &["migrate"],
        &["status"],
        &["history", BUS],
        &["verify"],
        &["replay"],
        &["calendar", "show"],
        &["policy", "history"],
    ] {
        ok(&aduan.run(verb));
        assert_eq!(stored_due(&aduan, BUS).await, moved, "after aduan {verb:?}");
    }
    assert!(board_due(&aduan, BUS).starts_with("2026-12-28T16:59:59"));

    // The flags and variables that once named the files stop aduan, saying where the
    // settings are now; nothing is written.
    let flag = refused(&aduan.run(&["--holidays", "amend.csv", "demo"]));
    assert!(flag.contains("aduan calendar import"), "{flag}");
    let mut sla = aduan.run_with_env(&["sla"], "ADUAN_SLA_POLICY", "policy.json");
    let variable = refused(&sla);
    assert!(variable.contains("aduan policy set"), "{variable}");
    sla = aduan.run_with_env(&["migrate"], "ADUAN_HOLIDAYS", "amend.csv");
    refused(&sla);
    std::fs::write(
        aduan.path().join("aduan.toml"),
        "holidays = \"amend.csv\"\n",
    )
    .unwrap();
    let file = refused(&aduan.run(&["--config", "aduan.toml", "demo"]));
    assert!(file.contains("configuration file"), "{file}");
    assert_eq!(stored_due(&aduan, BUS).await, moved);
    let history = json_of(&aduan.run(&["--json", "calendar", "history"]));
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "{history}"
    );

    assert!(server.stop().success());
    assert_eq!(stored_due(&aduan, BUS).await, moved);
}
on_each_backend!(verbs_without_the_servers_settings_leave_the_stored_deadlines_alone:
    verbs_leave_the_stored_deadlines_alone_on_sqlite,
    verbs_leave_the_stored_deadlines_alone_on_postgres);

async fn a_running_server_judges_with_a_calendar_imported_beside_it(backend: Backend, name: &str) {
    let aduan = Installation::new(backend, name).await;
    std::fs::write(aduan.path().join("amend.csv"), NOVEMBER_AMENDMENT).unwrap();
    let upp = aduan.token("sari", "upp", None);
    ok(&aduan.run(&["agency", "add", "DISHUB", "Dinas Perhubungan"]));
    let server = aduan.serve(&[]);
    // Reported on Friday 20 November: the disposition is due on Wednesday 25 November.
    let r = server.call(
        "POST",
        "/api/v1/complaints",
        Some(&upp),
        Some(&json!({
        "id": "ADU-S1", "lapor_id": "LAP-S1", "title": "Lampu padam", "description": "Tiga lampu",
        "category": "penerangan", "reported_at": "2026-11-20T01:00:00Z",
        "complainant": {"name": "Siti", "confidentiality": "public"},
        "upp_review": "Kewenangan Dishub"})),
        Some("reg-s1"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(board_due(&aduan, "ADU-S1").starts_with("2026-11-25T16:59:59"));

    let import = json_of(&aduan.run(&[
        "--json",
        "calendar",
        "import",
        "amend.csv",
        "--as",
        "budi",
        "--note",
        "SKB perubahan 2026",
    ]));
    assert_eq!(import["recorded"], true, "{import}");
    assert_eq!(import["recomputed"], 1, "{import}");
    assert!(board_due(&aduan, "ADU-S1").starts_with("2026-11-26T16:59:59"));

    // The server disposes: the verdict on step 1 is judged with the imported table, and
    // cites the fingerprint the history lists with who imported it.
    let r = server.post(
        "/api/v1/complaints/ADU-S1/dispose",
        &upp,
        &json!({"agency": "DISHUB", "liaison_officer": "dedi"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(server.stop().success());
    let history = json_of(&aduan.run(&["history", "ADU-S1", "--json"]));
    let verdict = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["event"]["verdicts"].as_array().into_iter().flatten())
        .find(|v| v["step"] == "disposition")
        .unwrap_or_else(|| panic!("a verdict on the disposition: {history}"))
        .clone();
    assert_eq!(verdict["due_date"], "2026-11-26", "{verdict}");
    let calendars = json_of(&aduan.run(&["--json", "calendar", "history"]));
    let versions = calendars["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "{calendars}");
    assert_eq!(versions[0]["fingerprint"], verdict["judged_by"]["calendar"]);
    assert_eq!(versions[0]["changed_by"], "budi");
    assert_eq!(versions[0]["note"], "SKB perubahan 2026");
    assert_ne!(
        calendars["built_in"]["fingerprint"],
        versions[0]["fingerprint"]
    );
    let policies = json_of(&aduan.run(&["--json", "policy", "history"]));
    assert_eq!(
        policies["built_in"]["fingerprint"],
        verdict["judged_by"]["policy"]
    );
}
on_each_backend!(a_running_server_judges_with_a_calendar_imported_beside_it:
    a_running_server_takes_up_an_import_on_sqlite,
    a_running_server_takes_up_an_import_on_postgres);

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_versions_are_recorded_shown_and_refused_in_text_and_json() {
    let aduan = Installation::new(Backend::Sqlite, "calendar_versions").await;
    let file = |name: &str, text: &str| std::fs::write(aduan.path().join(name), text).unwrap();
    file("amend.csv", AMENDMENT);
    file(
        "amend2.csv",
        &format!("{AMENDMENT}2026-12-31,cuti_bersama,Cuti Akhir Tahun,Year-end leave,SKB 2026\n"),
    );
    file(
        "bad.csv",
        "date,kind,name_id,name_en,source\n2026-12-22,cuti_bersama,A,B,C\n2026-12-32,libur_nasional,A,B,C\n",
    );
    ok(&aduan.run(&["migrate"]));
    let shown = ok(&aduan.run(&["calendar", "show"]));
    assert!(shown.contains("no amendment recorded"), "{shown}");

    let first = ok(&aduan.run(&[
        "calendar",
        "import",
        "amend.csv",
        "--as",
        "sari",
        "--note",
        "SKB 1",
    ]));
    assert!(first.contains("recorded calendar version 1"), "{first}");
    assert!(first.contains("set by sari"), "{first}");
    let second =
        json_of(&aduan.run(&["--json", "calendar", "import", "amend2.csv", "--as", "budi"]));
    assert_eq!(second["recorded"], true);
    assert_eq!(second["in_force"]["version"], 2);
    assert_eq!(second["in_force"]["changed_by"], "budi");
    let same = ok(&aduan.run(&["calendar", "import", "amend2.csv", "--as", "sari"]));
    assert!(
        same.starts_with("unchanged, nothing was recorded"),
        "{same}"
    );
    assert!(same.contains("calendar version 2"), "{same}");
    let same = json_of(&aduan.run(&["--json", "calendar", "import", "amend2.csv", "--as", "sari"]));
    assert_eq!(same["recorded"], false);
    let bad = refused(&aduan.run(&["calendar", "import", "bad.csv", "--as", "sari"]));
    assert!(bad.contains("bad.csv") && bad.contains("line 3"), "{bad}");
    assert!(bad.contains("nothing was recorded"), "{bad}");
    let nobody = aduan.run(&["calendar", "import", "amend.csv"]);
    assert!(!nobody.status.success(), "--as is required");

    let history = json_of(&aduan.run(&["--json", "calendar", "history"]));
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["changed_by"], "sari");
    assert_eq!(versions[0]["note"], "SKB 1");
    assert_eq!(versions[1]["version"], 2);
    assert!(versions[1]["changed_at"]
        .as_str()
        .unwrap()
        .starts_with("20"));
    assert_ne!(versions[0]["fingerprint"], versions[1]["fingerprint"]);
    let text = ok(&aduan.run(&["calendar", "history"]));
    for needle in [
        "judged_by.calendar",
        versions[0]["fingerprint"].as_str().unwrap(),
        versions[1]["fingerprint"].as_str().unwrap(),
        "in force",
        "SKB 1",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }

    let shown = json_of(&aduan.run(&["--json", "calendar", "show", "--year", "2026"]));
    assert_eq!(shown["setting"]["version"], 2);
    assert_eq!(shown["amendment"].as_array().unwrap().len(), 2);
    let days = shown["days"].as_array().unwrap();
    assert!(days.iter().any(|d| d["date"] == "2026-12-31"), "{shown}");
    assert!(
        days.iter().any(|d| d["date"] == "2026-12-25"),
        "the shipped Christmas: {shown}"
    );
    assert!(days
        .iter()
        .all(|d| d["date"].as_str().unwrap().starts_with("2026")));
    let first = json_of(&aduan.run(&["--json", "calendar", "show", "--version", "1"]));
    assert_eq!(first["setting"]["fingerprint"], versions[0]["fingerprint"]);
    assert_eq!(first["content"], AMENDMENT);
    let text = ok(&aduan.run(&["calendar", "show"]));
    assert!(
        text.contains("calendar version 2") && text.contains("Cuti Akhir Tahun"),
        "{text}"
    );
    refused(&aduan.run(&["calendar", "show", "--version", "9"]));
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_versions_are_recorded_shown_and_refused_in_text_and_json() {
    let aduan = Installation::new(Backend::Sqlite, "policy_versions").await;
    let file = |name: &str, text: &str| std::fs::write(aduan.path().join(name), text).unwrap();
    file(
        "policy.json",
        r#"{"steps": {"disposition": {"days": 5, "count": "working_days"}},
            "at_risk_days": 1, "time_zone": "Asia/Makassar", "identity_retention_years": 5}"#,
    );
    file("broken.json", r#"{"steps": {"#);
    file(
        "misspelt.json",
        r#"{"steps": {}, "at_risk_days": 1, "time_zone": "Asia/Jakarta", "identity_retention_year": 5}"#,
    );
    let set = json_of(&aduan.run(&[
        "--json",
        "policy",
        "set",
        "policy.json",
        "--as",
        "sari",
        "--note",
        "Perbup 12/2026",
    ]));
    assert_eq!(set["recorded"], true, "{set}");
    assert_eq!(set["in_force"]["version"], 1);
    let again = ok(&aduan.run(&["policy", "set", "policy.json", "--as", "budi"]));
    assert!(again.contains("unchanged"), "{again}");
    for bad in ["broken.json", "misspelt.json"] {
        let refusal = refused(&aduan.run(&["policy", "set", bad, "--as", "sari"]));
        assert!(
            refusal.contains(bad) && refusal.contains("SLA policy"),
            "{refusal}"
        );
    }
    let misspelt = refused(&aduan.run(&["policy", "set", "misspelt.json", "--as", "sari"]));
    assert!(misspelt.contains("identity_retention_year"), "{misspelt}");

    let shown = json_of(&aduan.run(&["--json", "policy", "show"]));
    assert_eq!(shown["setting"]["version"], 1);
    assert_eq!(shown["setting"]["note"], "Perbup 12/2026");
    assert_eq!(shown["policy"]["identity_retention_years"], 5);
    assert_eq!(shown["policy"]["steps"]["disposition"]["days"], 5);
    let text = ok(&aduan.run(&["policy", "show"]));
    assert!(
        text.contains("policy version 1") && text.contains("Asia/Makassar"),
        "{text}"
    );
    let history = json_of(&aduan.run(&["--json", "policy", "history"]));
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "{history}");
    assert_eq!(versions[0]["fingerprint"], shown["setting"]["fingerprint"]);
    let text = ok(&aduan.run(&["policy", "history"]));
    assert!(
        text.contains("judged_by.policy") && text.contains("sari"),
        "{text}"
    );
}
