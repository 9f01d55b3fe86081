//! The operator's registry verbs on a real SQLite file: `aduan agency` adds, lists,
//! changes, retires and removes agencies; `aduan token` issues tokens only for a
//! registered agency in service, with an optional expiry, and lists them without
//! their secret.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::support::{aduan, ok, refused};

struct Operator {
    dir: tempfile::TempDir,
    url: String,
}

impl Operator {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
        Self { dir, url }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        aduan(self.dir.path(), &self.url, args)
    }

    /// A verb that must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        ok(&self.run(args))
    }

    /// A verb that must fail with one line on stderr and nothing on stdout; the line.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
        refused(&out)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

const PUPR: &str = "Dinas Pekerjaan Umum dan Penataan Ruang";

#[test]
fn the_operator_adds_lists_changes_and_retires_agencies() {
    let op = Operator::new();
    assert!(op
        .ok(&["agency", "list"])
        .contains("no agency is registered yet"));
    assert_eq!(
        op.json(&["agency", "list"])["agencies"],
        serde_json::json!([])
    );

    let lower = op.refused(&["agency", "add", "pupr", PUPR]);
    assert!(
        lower.contains("`PUPR`"),
        "suggests the upper-case code: {lower}"
    );
    assert!(!op
        .run(&[
            "agency",
            "add",
            "DINKES",
            "Dinas Kesehatan",
            "--time-zone",
            "wib"
        ])
        .status
        .success());
    assert!(
        !op.run(&[
            "agency",
            "add",
            "DINKES",
            "Dinas Kesehatan",
            "--head-name",
            "Rina"
        ])
        .status
        .success(),
        "a head has a name and an NIP"
    );
    let nip = op.refused(&[
        "agency",
        "add",
        "DINKES",
        "Dinas Kesehatan",
        "--head-name",
        "Rina",
        "--head-nip",
        "1234",
    ]);
    assert!(nip.contains("18 digits"), "{nip}");

    let add = [
        "agency",
        "add",
        "PUPR",
        PUPR,
        "--time-zone",
        "WIB",
        "--head-name",
        "Ir. Hendra Wijaya, M.T.",
        "--head-nip",
        "197205121998031004",
    ];
    op.ok(&add);
    op.ok(&add); // a script that runs twice
    let other = op.refused(&["agency", "add", "PUPR", "Dinas PU"]);
    assert!(other.contains("aduan agency update PUPR"), "{other}");
    op.ok(&["agency", "add", "DINKES", "Dinas Kesehatan"]);

    let table = op.ok(&["agency", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two agencies: {table}");
    assert!(
        lines[1].starts_with("DINKES") && lines[2].starts_with("PUPR"),
        "{table}"
    );
    assert!(
        lines[2].contains(PUPR) && lines[2].contains("WIB"),
        "{table}"
    );
    let listed = op.json(&["agency", "list"]);
    let pupr = &listed["agencies"][1];
    assert_eq!(pupr["code"], "PUPR");
    assert_eq!(pupr["name"], PUPR);
    assert_eq!(pupr["time_zone"], "WIB");
    assert_eq!(pupr["head"]["nip"], "197205121998031004");
    assert_eq!(pupr["retired_at"], Value::Null);

    op.ok(&[
        "agency",
        "update",
        "PUPR",
        "--address",
        "Jl. Tambun Bungai 1",
    ]);
    let pupr = &op.json(&["agency", "list"])["agencies"][1];
    assert_eq!(pupr["address"], "Jl. Tambun Bungai 1");
    assert_eq!(pupr["head"]["name"], "Ir. Hendra Wijaya, M.T.", "kept");
    op.ok(&["agency", "update", "PUPR", "--no-head"]);
    assert_eq!(
        op.json(&["agency", "list"])["agencies"][1]["head"],
        Value::Null
    );
    let unknown = op.refused(&["agency", "update", "DISHUB", "--name", "Dinas Perhubungan"]);
    assert!(unknown.contains("not registered"), "{unknown}");

    // In use: retired, not removed; retired, it takes no new token until reinstated.
    op.ok(&[
        "token", "create", "--user", "andi", "--role", "liaison", "--agency", "PUPR",
    ]);
    let in_use = op.refused(&["agency", "remove", "PUPR"]);
    assert!(
        in_use.contains("1 token") && in_use.contains("--retire"),
        "{in_use}"
    );
    op.ok(&["agency", "remove", "PUPR", "--retire"]);
    assert!(op.json(&["agency", "list"])["agencies"][1]["retired_at"].is_string());
    let retired = op.refused(&[
        "token", "create", "--user", "hendra", "--role", "head", "--agency", "PUPR",
    ]);
    assert!(retired.contains("retired"), "{retired}");
    op.ok(&["agency", "update", "PUPR", "--reinstate"]);
    op.ok(&[
        "token", "create", "--user", "hendra", "--role", "head", "--agency", "PUPR",
    ]);

    // A slip, named by nothing: removed.
    op.ok(&["agency", "add", "PUPRR", "salah ketik"]);
    op.ok(&["agency", "remove", "PUPRR"]);
    let codes: Vec<String> = op.json(&["agency", "list"])["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["DINKES", "PUPR"]);
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("an instant: {v}"))
        .parse()
        .unwrap()
}

#[test]
fn tokens_name_a_registered_agency_expire_and_are_listed_without_their_secret() {
    let op = Operator::new();
    let liaison = [
        "token", "create", "--user", "andi", "--role", "liaison", "--agency",
    ];
    let unknown = op.refused(&[&liaison[..], &["PUPR"]].concat());
    assert!(
        unknown.contains("not registered") && unknown.contains("aduan agency add"),
        "{unknown}"
    );
    let lower = op.refused(&[&liaison[..], &["pupr"]].concat());
    assert!(lower.contains("write `PUPR`"), "{lower}");
    let none = op.refused(&["token", "create", "--user", "andi", "--role", "liaison"]);
    assert!(none.contains("--agency"), "{none}");
    op.ok(&["agency", "add", "PUPR", PUPR]);
    let upp_of = op.refused(&[
        "token", "create", "--user", "sari", "--role", "upp", "--agency", "PUPR",
    ]);
    assert!(upp_of.contains("leave out --agency"), "{upp_of}");
    assert_eq!(
        op.json(&["token", "list"])["tokens"],
        serde_json::json!([]),
        "none written"
    );

    let before = Utc::now();
    let andi = op.ok(&[&liaison[..], &["PUPR", "--expires-in", "90d"]].concat());
    let after = Utc::now();
    let apip = op.ok(&[
        "token",
        "create",
        "--user",
        "budi",
        "--role",
        "apip",
        "--expires-at",
        "2099-12-31",
    ]);
    let sari = op.ok(&["token", "create", "--user", "sari", "--role", "upp"]);
    let past = op.refused(&[
        "token",
        "create",
        "--user",
        "sari",
        "--role",
        "upp",
        "--expires-at",
        "2020-01-01",
    ]);
    assert!(past.contains("expiry"), "{past}");
    for bad in ["0d", "soon", "-3d"] {
        assert!(
            !op.run(&[
                "token",
                "create",
                "--user",
                "x",
                "--role",
                "upp",
                "--expires-in",
                bad
            ])
            .status
            .success(),
            "--expires-in {bad}"
        );
    }
    assert!(
        !op.run(&[
            "token",
            "create",
            "--user",
            "x",
            "--role",
            "upp",
            "--expires-in",
            "1d",
            "--expires-at",
            "2099-01-01"
        ])
        .status
        .success(),
        "one expiry or the other"
    );

    let listed = op.json(&["token", "list"]);
    let tokens = listed["tokens"].as_array().unwrap();
    let users: Vec<&str> = tokens.iter().map(|t| t["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["andi", "budi", "sari"], "by user: {listed}");
    let expires = instant(&tokens[0]["expires_at"]);
    assert!(
        expires >= before + TimeDelta::days(90) && expires <= after + TimeDelta::days(90),
        "{expires}"
    );
    assert_eq!(tokens[0]["agency"], "PUPR");
    assert_eq!(tokens[0]["role"], "liaison");
    // The last day accepted, in the policy's zone (WIB): refused from midnight WIB.
    assert_eq!(
        instant(&tokens[1]["expires_at"]),
        "2099-12-31T17:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(tokens[2]["expires_at"], Value::Null);
    for t in tokens {
        assert_eq!(t["last_used_at"], Value::Null);
        assert_eq!(t["revoked_at"], Value::Null);
    }
    let table = op.ok(&["token", "list"]);
    assert!(table.starts_with("user"), "{table}");
    assert!(
        table.lines().next().unwrap().contains("last used"),
        "{table}"
    );
    for secret in [&andi, &apip, &sari] {
        let secret = secret.trim();
        assert!(secret.starts_with("aduan_"), "{secret}");
        let part = &secret[6..22];
        assert!(!table.contains(part), "the table shows no secret");
        assert!(!listed.to_string().contains(part), "nor the JSON");
    }

    op.ok(&["token", "revoke", "--user", "sari"]);
    let listed = op.json(&["token", "list"]);
    assert!(listed["tokens"][2]["revoked_at"].is_string(), "{listed}");
    assert_eq!(listed["tokens"][0]["revoked_at"], Value::Null);
}
