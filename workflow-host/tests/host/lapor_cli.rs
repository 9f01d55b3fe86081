//! `aduan import lapor` and `aduan export lapor` on each backend (a real SQLite file, a
//! real PostgreSQL database): each report registered once whatever is run again, refused
//! lines named with their field while the rest go in, LAPOR!'s own dates on the clocks,
//! identities sealed; follow-ups written once each, batch by batch, and a batch written
//! again byte for byte.

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{EventBody, Status, Step};
use workflow_store::agency::AgencyDetails;
use workflow_store::testing::{assert_nowhere, step, Backend};

use crate::support::{ok, Installation, JPEG};

/// A name that appears nowhere but in the import file.
const REPORTER: &str = "Yohana Impor Tersegel";

fn line(fields: serde_json::Value) -> String {
    fields.to_string() + "\n"
}

fn report(tracking_id: &str) -> serde_json::Value {
    serde_json::json!({
        "tracking_id": tracking_id,
        "title": "Lampu jalan padam",
        "content": "Lampu jalan di Jl. Pemuda padam sejak seminggu.",
        "category": "infrastruktur",
        "reported_at": "2026-11-23 08:00",
        "channel": "aplikasi",
        "privacy": "anonim",
        "status": "Belum Terverifikasi",
        "reporter_name": REPORTER,
        "reporter_phone": "+62 811 0000 0001",
    })
}

async fn a_lapor_export_is_imported_once_with_its_dates_and_its_bad_lines_named(
    backend: Backend,
    name: &str,
) {
    let installation = Installation::new(backend, name).await;
    let dir = &installation.dir;
    {
        let store = installation.open_store().await;
        let now = wib("2026-11-20 09:00");
        store
            .register_agency(
                "PUPR",
                &AgencyDetails::named("Dinas Pekerjaan Umum dan Penataan Ruang"),
                now,
            )
            .await
            .unwrap();
        store.add_person(&liaison("PUPR"), now).await.unwrap();
        store.add_person(&head("PUPR"), now).await.unwrap();
        store.close().await;
    }
    let reports = dir.path().join("lapor").join("laporan.jsonl");
    std::fs::create_dir_all(reports.parent().unwrap()).unwrap();
    std::fs::write(reports.with_file_name("foto-lokasi.jpg"), JPEG).unwrap();
    let mut with_photo = report("LAP-2026-0001");
    with_photo["attachments"] = serde_json::json!(["foto-lokasi.jpg"]);
    let mut disposed = report("LAP-2026-0002");
    disposed["status"] = "Proses".into();
    disposed["institution"] = "dinas pekerjaan umum dan penataan ruang".into();
    disposed["disposed_at"] = "2026-11-25 14:00".into();
    let mut settled = report("LAP-2026-0003");
    settled["status"] = "Selesai".into();
    // Its photo is checked, but never kept: the engine refuses the report.
    let other_photo = [JPEG, &[0u8]].concat();
    std::fs::write(reports.with_file_name("lain.jpg"), &other_photo).unwrap();
    settled["attachments"] = serde_json::json!(["lain.jpg"]);
    let mut elsewhere = report("LAP-2026-0004");
    elsewhere["status"] = "disposed".into();
    elsewhere["institution"] = "DISHUB".into();
    elsewhere["disposed_at"] = "2026-11-24 10:00".into();
    let mut nameless = report("LAP-2026-0005");
    nameless.as_object_mut().unwrap().remove("reporter_name");
    let mut missing_file = report("LAP-2026-0006");
    missing_file["attachments"] = serde_json::json!(["tidak-ada.jpg"]);
    let mut not_a_liaison = report("LAP-2026-0007");
    not_a_liaison["status"] = "disposed".into();
    not_a_liaison["institution"] = "PUPR".into();
    not_a_liaison["disposed_at"] = "2026-11-24 10:00".into();
    not_a_liaison["liaison_officer"] = "kepala.pupr".into();
    let mut twice = report("LAP-2026-0001");
    twice["status"] = "disposed".into();
    let text = [
        line(with_photo),
        line(disposed),
        line(settled),
        "{not json\n".into(),
        line(elsewhere),
        line(nameless),
        line(missing_file),
        line(not_a_liaison),
        line(twice),
    ]
    .concat();
    std::fs::write(&reports, text).unwrap();
    let file = reports.to_str().unwrap();

    let first = installation.run(&["import", "lapor", file, "--as", "sari.upp"]);
    let out = String::from_utf8_lossy(&first.stdout);
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        !first.status.success(),
        "refused lines make the exit status 1: {out}"
    );
    for expected in [
        "line 3: refused (status): LAPOR! holds the report as Finished",
        "line 4: refused: not JSON",
        "line 5: refused (institution): `DISHUB` is no agency's code or name",
        "line 6: refused (reporter_name): required",
        "line 7: refused (attachments): no file `tidak-ada.jpg`",
        "line 8: refused (liaison_officer): kepala.pupr is not a liaison officer of PUPR",
        "line 9: refused (tracking_id): the same tracking number as line 1",
        "2 imported, 0 already present, 7 refused",
    ] {
        assert!(out.contains(expected), "`{expected}` missing from:\n{out}");
    }
    assert!(err.contains("7 line(s) of"), "{err}");

    // Again: nothing new, and it says so.
    let again = installation.run(&["import", "lapor", file, "--as", "sari.upp"]);
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        out.contains("0 imported, 2 already present, 7 refused: nothing new"),
        "{out}"
    );

    let store = installation.open_store().await;
    // Registered as a report LAPOR! still verifies: at the door, its step 1 counted from
    // LAPOR!'s date, its photo stored and cited.
    let photo = store.engine().load(&cid("LAP-2026-0001")).await.unwrap();
    assert_eq!(photo.status(), Status::Received);
    let attachment = &photo.registration().unwrap().attachments[0];
    assert_eq!(attachment.caption, "foto-lokasi.jpg");
    assert_eq!(attachment.media_type, "image/jpeg");
    let evidence =
        workflow_host::evidence::EvidenceStore::new(dir.path().join("aduan-evidence"), 1 << 20);
    assert_eq!(evidence.get(&attachment.sha256).unwrap().unwrap(), JPEG);
    let refused_photo = evidence.check(&other_photo, None).unwrap();
    assert_eq!(
        evidence.get(&refused_photo.sha256).unwrap(),
        None,
        "a refused report's attachment is not kept"
    );
    // Disposed as LAPOR! disposed it, to the agency's one liaison officer, at LAPOR!'s
    // date; marked as imported.
    let events = store.raw_events("LAP-2026-0002").await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["Received", "Disposed", "Imported"]);
    let recorded = store.engine().events(&cid("LAP-2026-0002")).await.unwrap();
    let disposed_event = &recorded[1].payload;
    assert_eq!(disposed_event.at, wib("2026-11-25 14:00"));
    let EventBody::Disposed(d) = &disposed_event.body else {
        panic!("{:?}", disposed_event.body)
    };
    assert_eq!(d.agency.0, "PUPR");
    assert_eq!(d.liaison_officer, liaison("PUPR").user);
    assert_eq!(
        recorded[0].payload.at,
        wib("2026-11-23 08:00"),
        "registered at the report's date"
    );
    assert_eq!(
        recorded[2]
            .metadata
            .get("correlation_id")
            .map(|c| c.starts_with("lapor-import:")),
        Some(true),
        "the import's batch is named on its events: {:?}",
        recorded[2].metadata
    );
    let state = store.engine().load(&cid("LAP-2026-0002")).await.unwrap();
    let review = state.timeline().latest(Step::Review).expect("step 2 runs");
    assert_eq!(review.started_at, wib("2026-11-25 14:00"));
    // The liaison officer takes it on from there (after the import, which the log
    // dates at the machine's clock: a complaint's events are in time order).
    store
        .engine()
        .execute(
            &cid("LAP-2026-0002"),
            cmd(
                "t-1",
                liaison("PUPR"),
                chrono::Utc::now(),
                C::Review(complete_review()),
            ),
            None,
        )
        .await
        .unwrap();
    store.close().await;
    // The reporter's name reached the database sealed only (where the report's title,
    // not personal data, is found in plain).
    let stored = installation.db.stored_bytes();
    assert!(
        stored.iter().any(|(_, bytes)| bytes
            .windows("Lampu jalan padam".len())
            .any(|w| w == b"Lampu jalan padam")),
        "the search finds what is stored in plain"
    );
    assert_nowhere(&stored, REPORTER.as_bytes(), "the reporter's name in plain");
}

on_each_backend!(a_lapor_export_is_imported_once_with_its_dates_and_its_bad_lines_named:
    a_lapor_export_is_imported_once_on_sqlite,
    a_lapor_export_is_imported_once_on_postgres);

async fn a_csv_export_is_read_as_lapor_writes_it(backend: Backend, name: &str) {
    let installation = Installation::new(backend, name).await;
    let dir = &installation.dir;
    let file = dir.path().join("laporan.csv");
    std::fs::write(
        &file,
        "tracking_id,title,content,category,reported_at,status,privacy,reporter_name,attachments\n\
         LAP-9,\"Jalan, rusak\",\"Baris satu\nbaris dua\",infrastruktur,2026-11-23 08:00,Belum Terverifikasi,publik,Sari,\n\
         LAP-10,Pendek\n",
    )
    .unwrap();
    let run = installation.run(&[
        "--json",
        "import",
        "lapor",
        file.to_str().unwrap(),
        "--as",
        "sari.upp",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&run.stdout)));
    assert_eq!(
        summary["imported"],
        serde_json::json!([{"line": 2, "complaint_id": "LAP-9"}])
    );
    assert_eq!(summary["refused"][0]["line"], 4, "{summary}");
    let store = installation.open_store().await;
    let state = store.engine().load(&cid("LAP-9")).await.unwrap();
    let registration = state.registration().unwrap();
    assert_eq!(registration.title, "Jalan, rusak");
    assert_eq!(registration.description, "Baris satu\nbaris dua");
    store.close().await;
}

on_each_backend!(a_csv_export_is_read_as_lapor_writes_it:
    a_csv_export_is_read_on_sqlite,
    a_csv_export_is_read_on_postgres);

async fn follow_ups_are_exported_once_each_and_a_batch_again_byte_for_byte(
    backend: Backend,
    name: &str,
) {
    let installation = Installation::new(backend, name).await;
    let dir = &installation.dir;
    let store = installation.open_store().await;
    let at = |t: &str| wib(&format!("2026-11-30 {t}"));
    let when = |t: &str| format!("2026-11-30 {t}");
    workflow_store::testing::play(
        &store,
        vec![
            step("ADU-1", &when("09:00"), upp(), C::Register(registration())),
            step(
                "ADU-1",
                &when("09:10"),
                upp(),
                C::Dispose(disposition("PUPR")),
            ),
            step(
                "ADU-1",
                &when("09:20"),
                liaison("PUPR"),
                C::Review(complete_review()),
            ),
            step(
                "ADU-1",
                &when("09:30"),
                liaison("PUPR"),
                C::ReportProgress(progress_report()),
            ),
            step(
                "ADU-1",
                &when("09:40"),
                liaison("PUPR"),
                C::Clarify(clarification(false)),
            ),
            step(
                "ADU-1",
                &when("09:50"),
                liaison("PUPR"),
                C::Respond(response_text()),
            ),
        ],
    )
    .await;
    store.close().await;

    // A folder that is not there, or a `--since` in the future: refused, no batch.
    let nowhere = dir.path().join("tidak-ada").join("x.csv");
    let refused = installation.run(&[
        "export",
        "lapor",
        "--as",
        "sari.upp",
        "--out",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let future = installation.run(&[
        "export",
        "lapor",
        "--as",
        "sari.upp",
        "--since",
        "2999-01-01",
    ]);
    assert!(!future.status.success());
    assert!(
        String::from_utf8_lossy(&future.stderr).contains("--since lies in the future"),
        "{}",
        String::from_utf8_lossy(&future.stderr)
    );
    let first = dir.path().join("batch-1.csv");
    let made = installation.run(&[
        "export",
        "lapor",
        "--as",
        "sari.upp",
        "--out",
        first.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{err}");
    assert!(err.contains("batch 1: 2 follow-up(s)"), "{err}");
    let csv = std::fs::read_to_string(&first).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "tracking_id,complaint_id,kind,lapor_status,at,agency,by,text"
    );
    assert!(
        rows[1].starts_with(&format!(
            "{},ADU-1,progress,in_follow_up,2026-11-30 09:30,PUPR,penghubung.pupr,",
            registration().lapor_id
        )),
        "{csv}"
    );
    assert!(
        rows[2].contains(",response,awaiting_feedback,2026-11-30 09:50,"),
        "{csv}"
    );
    assert_eq!(rows.len(), 3, "{csv}");

    // Nothing new: no batch, a file with the header alone.
    let none = installation.run(&["export", "lapor", "--as", "sari.upp"]);
    assert!(String::from_utf8_lossy(&none.stderr).contains("no batch made"));
    assert_eq!(
        ok(&none).trim(),
        "tracking_id,complaint_id,kind,lapor_status,at,agency,by,text"
    );

    // Another follow-up goes into batch 2 alone.
    let store = installation.open_store().await;
    store
        .engine()
        .execute(
            &cid("ADU-1"),
            cmd("c7", upp(), at("10:00"), C::RecordFeedback(feedback(true))),
            None,
        )
        .await
        .unwrap();
    store
        .engine()
        .execute(
            &cid("ADU-1"),
            cmd("c8", upp(), at("10:10"), C::Close(Default::default())),
            None,
        )
        .await
        .unwrap();
    store.close().await;
    let second = installation.run(&[
        "--json", "export", "lapor", "--as", "sari.upp", "--format", "jsonl",
    ]);
    let lines: Vec<serde_json::Value> = ok(&second)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["kind"], "closing");
    assert_eq!(lines[0]["lapor_status"], "finished");
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&second.stderr).trim()).unwrap();
    assert_eq!(report["batch"], 2);

    // Batch 1 again, as a read-only verb: the same bytes.
    let again = dir.path().join("batch-1-again.csv");
    let rewritten = installation.run(&[
        "export",
        "lapor",
        "--batch",
        "1",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        rewritten.status.success(),
        "{}",
        String::from_utf8_lossy(&rewritten.stderr)
    );
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&first).unwrap()
    );
    let unknown = installation.run(&["export", "lapor", "--batch", "9"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("there is no batch 9"));
}

on_each_backend!(follow_ups_are_exported_once_each_and_a_batch_again_byte_for_byte:
    follow_ups_are_exported_once_each_on_sqlite,
    follow_ups_are_exported_once_each_on_postgres);
