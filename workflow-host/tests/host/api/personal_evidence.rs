//! Evidence marked personal (an ID scan): sealed with its complaint's key before it is
//! written, citable by that complaint alone, handed out only to those who may see the
//! complainant (each download recorded), and gone for everyone once the identity is
//! erased, with nothing of it left in the database files, the evidence folder or an
//! export.

use axum::http::StatusCode;
use serde_json::json;
use workflow_core::fixtures::{self as fx, cid, wib};

use super::{now, TestApp};
use workflow_store::testing::assert_nowhere;

use crate::support::JPEG;

/// A name and a scan's bytes found nowhere else, so that a scan for them means something.
const NAME: &str = "Siti Kartikasari Wulandadari";
const SCAN_MARK: &str = "KTP-3201-0912-8877-SCAN-UNIQUE";

fn scan() -> Vec<u8> {
    let mut bytes = JPEG.to_vec();
    bytes.extend_from_slice(SCAN_MARK.as_bytes());
    bytes
}

fn registration(id: &str, sha256: &str) -> serde_json::Value {
    json!({"id": id, "lapor_id": id, "title": "Jalan rusak", "description": "d", "category": "c",
        "reported_at": "2026-11-30T01:00:00Z",
        "complainant": {"name": NAME, "confidentiality": "confidential"},
        "upp_review": "r", "attachments": [{"sha256": sha256, "caption": "KTP"}]})
}

/// Every file under `dir` (the evidence folder: blobs one folder down), with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, depth: usize, out: &mut Vec<(String, Vec<u8>)>) {
        assert!(
            depth <= 4,
            "the evidence folder is deeper than it should be: {dir:?}"
        );
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, depth + 1, out);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, 0, &mut out);
    out
}

/// The upload is sealed from its first byte on disk; only its own complaint cites it;
/// UPP and APIP download it (each download a recorded read of the identity), no one
/// else; after the erasure it is 410 for everyone, no new personal upload is taken for
/// the complaint, and neither the name nor the scan's bytes nor the key are in the
/// database files, the evidence folder or a fresh export; the chain and a checkpoint
/// taken before still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_scan_is_sealed_for_its_complaint_and_gone_after_erasure() {
    let t = TestApp::new(now()).await;
    let evidence_dir = t.dir.path().join("evidence");

    // Uploaded before the registration, for the complaint to come.
    let r = t
        .post_bytes(
            "/api/v1/evidence?complaint=ADU-PDP&personal=true",
            "upp",
            Some("image/jpeg"),
            scan(),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["personal"], true, "{}", r.text);
    assert_eq!(r.json()["media_type"], "image/jpeg");
    let sha256 = r.json()["sha256"].as_str().unwrap().to_owned();
    let stored = files_under(&evidence_dir);
    assert_eq!(stored.len(), 1, "one sealed copy is kept");
    assert_nowhere(&stored, SCAN_MARK.as_bytes(), "the scan's bytes");
    assert_nowhere(&stored, &JPEG[..8], "the plaintext's JPEG header");
    assert!(
        stored[0].1.starts_with(b"aduan-sealed-evidence/1\n"),
        "the kept file is a sealed blob"
    );

    t.post(
        "/api/v1/complaints",
        "upp",
        registration("ADU-PDP", &sha256),
    )
    .await
    .assert_status(StatusCode::CREATED);
    // Sealed for ADU-PDP: no other complaint may cite it.
    t.post(
        "/api/v1/complaints",
        "upp",
        registration("ADU-LAIN", &sha256),
    )
    .await
    .assert_refused_by("evidence.not_yours_to_cite");
    t.post(
        "/api/v1/complaints/ADU-PDP/dispose",
        "upp",
        json!({"agency": "PUPR", "liaison_officer": fx::liaison("PUPR").user.0}),
    )
    .await
    .assert_status(StatusCode::OK);
    t.store.projector().catch_up().await.unwrap();

    // Who may see a confidential complainant may download it, and gets the bytes.
    for caller in ["upp", "apip"] {
        let r = t.get(&format!("/api/v1/evidence/{sha256}"), caller).await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.content_type(), "image/jpeg", "{caller}");
        assert_eq!(r.header("cache-control"), "no-store", "{caller}");
        assert!(r.text.contains(SCAN_MARK), "{caller} gets the plaintext");
    }
    for caller in ["coordinator", "liaison_pupr", "head_pupr", "liaison_dinkes"] {
        t.get(&format!("/api/v1/evidence/{sha256}"), caller)
            .await
            .assert_problem(StatusCode::NOT_FOUND, caller);
    }
    let readers: Vec<(String, String)> = t
        .store
        .identity_reads(&cid("ADU-PDP"))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.via == "GET /evidence/{sha256}")
        .map(|r| (r.user, r.via))
        .collect();
    assert_eq!(
        readers,
        [
            (fx::upp().user.0, "GET /evidence/{sha256}".to_owned()),
            (fx::apip().user.0, "GET /evidence/{sha256}".to_owned()),
        ],
        "each download is a recorded read of the identity"
    );

    let key: String = {
        use workflow_store::sqlx::Row;
        let mut raw = t.db.raw().await;
        workflow_store::sqlx::query("SELECT wrapped_key FROM subject_keys WHERE complaint_id = $1")
            .bind("ADU-PDP")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get("wrapped_key")
    };
    let signing = workflow_store::audit::generate_signing_key().unwrap();
    let before = t
        .store
        .checkpoint(&signing, wib("2026-11-30 10:00"), |_| {})
        .await
        .unwrap();

    t.post(
        "/api/v1/complaints/ADU-PDP/erase-identity",
        "upp",
        json!({"legal_basis": "Permintaan pelapor, Pasal 8 UU 27/2022"}),
    )
    .await
    .assert_status(StatusCode::OK);

    for caller in ["upp", "apip"] {
        let r = t.get(&format!("/api/v1/evidence/{sha256}"), caller).await;
        r.assert_problem(StatusCode::GONE, caller);
        assert!(r.text.contains("dihapus sesuai UU PDP"), "{}", r.text);
    }
    // No key is made again for the erased complaint.
    let again = t
        .post_bytes(
            "/api/v1/evidence?complaint=ADU-PDP&personal=true",
            "upp",
            Some("image/jpeg"),
            scan(),
        )
        .await;
    again.assert_problem(StatusCode::CONFLICT, "a personal upload after the erasure");
    assert_eq!(again.json()["rule"], "pdp.identity_already_erased");

    let mut export = Vec::new();
    t.store
        .export(
            None,
            workflow_store::audit::ExportFormat::Jsonl,
            &mut export,
            |_| {},
        )
        .await
        .unwrap();
    assert!(!export.is_empty());
    let mut everything = t.db.stored_bytes();
    everything.extend(files_under(&evidence_dir));
    everything.push(("a fresh export".into(), export));
    assert_nowhere(&everything, NAME.as_bytes(), "the complainant's name");
    assert_nowhere(&everything, SCAN_MARK.as_bytes(), "the scan's bytes");
    assert_nowhere(&everything, key.as_bytes(), "the wrapped data key");
    let report = t.store.verify(Some(&before), None, |_| {}).await.unwrap();
    assert_eq!(report.failures_total, 0, "{:?}", report.failures);
}

/// A personal upload names its complaint; a liaison officer may seal only for a
/// complaint they may see (not one still to be registered); the same bytes kept in
/// clear and sealed are two copies, each cited under its own rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_upload_names_a_complaint_its_uploader_may_seal_for() {
    let t = TestApp::with("ADU-1", super::clarified(true)).await;
    t.post_bytes(
        "/api/v1/evidence?personal=true",
        "upp",
        Some("image/jpeg"),
        scan(),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "personal without a complaint");
    t.post_bytes(
        "/api/v1/evidence?complaint=ADU-404&personal=true",
        "liaison_pupr",
        Some("image/jpeg"),
        scan(),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "a liaison sealing for no complaint");
    t.post_bytes(
        "/api/v1/evidence?complaint=ADU-1&personal=true",
        "liaison_dinkes",
        Some("image/jpeg"),
        scan(),
    )
    .await
    .assert_problem(
        StatusCode::FORBIDDEN,
        "sealing for another agency's complaint",
    );
    t.post_bytes(
        "/api/v1/evidence?complaint=ADU-1&personal=true",
        "coordinator",
        Some("image/jpeg"),
        scan(),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "the coordinator uploads nothing");

    // PUPR's liaison photographs an ID in the field for ADU-1, sealed, and cites it.
    let r = t
        .post_bytes(
            "/api/v1/evidence?complaint=ADU-1&personal=true",
            "liaison_pupr",
            Some("image/jpeg"),
            scan(),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let sha256 = r.json()["sha256"].as_str().unwrap().to_owned();
    let visit = json!({"visit_date": "2026-12-01", "location": "l",
        "parties_summoned": [{"name": "n", "position": "p"}], "findings": "f",
        "evidence": [{"sha256": sha256, "caption": "KTP"}]});
    t.given("ADU-2", super::clarified(true)).await;
    t.post(
        "/api/v1/complaints/ADU-2/field-verification",
        "liaison_pupr",
        visit.clone(),
    )
    .await
    .assert_refused_by("evidence.not_yours_to_cite");
    let r = t
        .post(
            "/api/v1/complaints/ADU-1/field-verification",
            "liaison_pupr",
            visit,
        )
        .await;
    r.assert_status(StatusCode::OK);
    t.store.projector().catch_up().await.unwrap();
    let attached = &t
        .store
        .views()
        .detail(&cid("ADU-1"))
        .await
        .unwrap()
        .unwrap();
    let cited = serde_json::to_string(&attached.state).unwrap();
    assert!(cited.contains(&sha256), "the visit cites the sealed scan");
    // The uploader has it; the anonymous complainant's identity is not the head's to see.
    let r = t
        .get(&format!("/api/v1/evidence/{sha256}"), "liaison_pupr")
        .await;
    r.assert_status(StatusCode::OK);
    assert!(r.text.contains(SCAN_MARK));
    t.get(&format!("/api/v1/evidence/{sha256}"), "head_pupr")
        .await
        .assert_problem(
            StatusCode::NOT_FOUND,
            "the head, for an anonymous complainant",
        );

    // The same bytes uploaded in clear by UPP: a copy of their own, which a registration
    // may cite, and which the sealed copy's erasure does not reach.
    let plain = t
        .post_bytes("/api/v1/evidence", "upp", Some("image/jpeg"), scan())
        .await;
    plain.assert_status(StatusCode::CREATED);
    assert_eq!(plain.json()["sha256"], sha256.as_str());
    assert_eq!(plain.json()["personal"], false);
    t.post("/api/v1/complaints", "upp", registration("ADU-3", &sha256))
        .await
        .assert_status(StatusCode::CREATED);
}
