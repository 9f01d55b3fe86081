//! The web console's pages on a large database: server time and size of every screen.
//!
//! `cargo bench -p workflow-host --bench console -- [--complaints N] [--small M]
//! [--runs R] [--backend sqlite|postgres] [--out FILE]`
//!
//! Each backend gets two databases: one of `--small` complaints (1,000) and one of
//! `--complaints` (100,000), every complaint a story through the SOP made by the pure
//! domain (`Complaint::decide`) at its own time of the year, so that the log holds what
//! the engine would have written: registrations through closings, returns, escalations,
//! breaches recorded by the system, BAs waiting for their head. The stories are written
//! straight into the log with their hash chain and the views are caught up by the
//! projector, as after any outage. Then every page of the console is asked for through
//! the router `aduan serve` runs (no socket: the server's own time), by a person of the
//! role that sees it, `--runs` times after three warm-up requests.
//!
//! Each row prints the median time at the large size beside the same page at the small
//! size (the ratio says how the page grows with the log), the slowest of the runs, and
//! the page's bytes; the console's bars are under 100 ms and under 50 KB. The same goes
//! to a JSON file (default `target/bench/console.json`). PostgreSQL rows need
//! `TEST_DATABASE_URL` (`scripts/with-postgres` sets it). See `docs/BENCHMARKS.md`.
//!
//! `--year N` instead runs a regency's year: `N` stories told as commands through
//! `Engine::execute`, one at a time in the order of their instants, with the SLA
//! monitor run once a simulated day and the projector beside them; then every page is
//! timed once at that size (default output `target/bench/year.json`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde_json::json;
use sqlx::Executor;
use tower::ServiceExt;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::complaint::command::{BaAcknowledgement, BreachReport, Closure};
use workflow_core::fixtures::*;
use workflow_core::sla::Step;
use workflow_core::{Actor, Complaint, ComplaintEvent, ComplaintServices};
use workflow_host::evidence::EvidenceStore;
use workflow_host::http::{app, AppState};
use workflow_store::agency::AgencyDetails;
use workflow_store::chain::{event_hash, ChainInput, GENESIS};
use workflow_store::testing::{Backend, TestDb};
use workflow_store::Store;

mod common;

/// The agencies the stories are disposed to (the first is the one whose people ask).
const AGENCIES: [(&str, &str); 10] = [
    ("PUPR", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    ("DINKES", "Dinas Kesehatan"),
    ("DISDIK", "Dinas Pendidikan"),
    ("DISHUB", "Dinas Perhubungan"),
    ("DLH", "Dinas Lingkungan Hidup"),
    ("DISDUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("DINSOS", "Dinas Sosial"),
    ("DPMPTSP", "Dinas Penanaman Modal dan PTSP"),
    ("BPBD", "Badan Penanggulangan Bencana Daerah"),
    ("SATPOLPP", "Satuan Polisi Pamong Praja"),
];

const CATEGORIES: [&str; 5] = [
    "infrastruktur",
    "kesehatan",
    "pendidikan",
    "administrasi kependudukan",
    "lingkungan",
];

const PASSWORD: &str = "kata-sandi-bangku-panjang";

/// The instant the pages are asked at: the end of the stories' year.
fn now() -> DateTime<Utc> {
    wib("2026-11-30 09:00")
}

/// A small deterministic generator (splitmix64): the same stories on every run.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % sides
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.roll(1000) < percent * 10
    }
}

/// One complaint's story, told through the pure domain at instants of its own.
struct Story {
    id: String,
    complaint: Complaint,
    events: Vec<ComplaintEvent>,
    at: DateTime<Utc>,
    commands: u32,
    services: Arc<ComplaintServices>,
    /// The commands the story was told with, but the system's (the SLA monitor records
    /// breaches itself when the year is run through the engine).
    told: Vec<workflow_core::CommandEnvelope>,
}

impl Story {
    /// `command` by `actor`, `after` the previous one; `false` when that instant is
    /// still to come (the story stops there: the complaint is open at that step).
    fn then(&mut self, after: Duration, actor: Actor, command: C) -> bool {
        let at = self.at + chrono::Duration::from_std(after).unwrap();
        if at > now() {
            return false;
        }
        self.at = at;
        self.commands += 1;
        let envelope = cmd(
            &format!("{}-{}", self.id, self.commands),
            actor,
            at,
            command,
        );
        match self.complaint.decide(&envelope, &self.services) {
            Ok(events) => {
                for e in events {
                    self.complaint.apply_event(&e);
                    self.events.push(e);
                }
                self.told.push(envelope);
                true
            }
            Err(e) => panic!("{}: {:?} refused: {e}", self.id, envelope.command),
        }
    }

    /// The system records a breach of `step` if its deadline has passed by then.
    fn breach(&mut self, after: Duration, step: Step) {
        let at = self.at + chrono::Duration::from_std(after).unwrap();
        if at > now() {
            return;
        }
        self.commands += 1;
        let envelope = cmd(
            &format!("{}-{}", self.id, self.commands),
            system(),
            at,
            C::RecordSlaBreach(BreachReport::latest(step)),
        );
        if let Ok(events) = self.complaint.decide(&envelope, &self.services) {
            self.at = at;
            for e in events {
                self.complaint.apply_event(&e);
                self.events.push(e);
            }
        }
    }
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// Complaint `i` of `size`: registered at its point of the year (January to the end of
/// November), then through the SOP as far as its dice and the calendar let it go.
fn story(i: usize, size: usize, services: &Arc<ComplaintServices>) -> Story {
    let mut dice = Dice(i as u64 * 7919 + 1);
    let year = 332 * 86_400;
    let offset = (year as f64 * i as f64 / size as f64) as i64;
    let start = wib("2026-01-02 08:00") + chrono::Duration::seconds(offset);
    let id = format!("ADU-2026-{:06}", i + 1);
    let mut s = Story {
        id: id.clone(),
        complaint: Complaint::default(),
        events: Vec::new(),
        at: start,
        commands: 0,
        services: Arc::clone(services),
        told: Vec::new(),
    };
    let mut registration = registration();
    registration.lapor_id = format!("LAP-2026-{:06}", i + 1);
    registration.reported_at = start - chrono::Duration::hours(2);
    registration.category = CATEGORIES[dice.roll(5) as usize].into();
    registration.title = format!("Aduan nomor {} tentang layanan publik", i + 1);
    s.then(Duration::ZERO, upp(), C::Register(registration));
    // At the door: archived, withdrawn, forwarded out.
    let door = dice.roll(100);
    if door < 3 {
        s.then(days(1), upp(), C::Archive(spam()));
        return s;
    } else if door < 5 {
        s.then(days(1), upp(), C::Withdraw(withdrawal()));
        return s;
    } else if door < 6 {
        s.then(days(1), upp(), C::Forward(forwarding()));
        return s;
    }
    let late = dice.chance(8);
    let mut agency = AGENCIES[dice.roll(AGENCIES.len() as u64) as usize].0;
    if late {
        s.breach(days(5), Step::Disposition);
    }
    if !s.then(days(1), upp(), C::Dispose(disposition(agency))) {
        return s;
    }
    // The wrong agency, once; rarely three times, which escalates to the coordinator.
    let returns = if dice.chance(3) {
        1
    } else if dice.roll(1000) < 3 {
        3
    } else {
        0
    };
    for r in 0..returns {
        if !s.then(
            hours(20),
            liaison(agency),
            C::ReturnForRedisposition(return_note()),
        ) {
            return s;
        }
        if r == 2 {
            return s;
        }
        agency = AGENCIES[(dice.roll(9) as usize + 1 + r) % AGENCIES.len()].0;
        if !s.then(hours(20), upp(), C::Dispose(disposition(agency))) {
            return s;
        }
    }
    let late = dice.chance(8);
    if late {
        s.breach(days(5), Step::Review);
    }
    if dice.chance(4) {
        if s.then(days(1), liaison(agency), C::Review(incomplete_review())) {
            s.then(hours(2), liaison(agency), C::Reject(rejection()));
        }
        return s;
    }
    if !s.then(days(1), liaison(agency), C::Review(complete_review())) {
        return s;
    }
    let field = dice.chance(50);
    if !s.then(hours(4), liaison(agency), C::Clarify(clarification(field))) {
        return s;
    }
    if field {
        if dice.chance(8) {
            s.breach(days(5), Step::FieldVerification);
        }
        let visit = s.at + chrono::Duration::days(1);
        let visit_date = visit.format("%Y-%m-%d").to_string();
        if !s.then(
            days(1),
            liaison(agency),
            C::VerifyInField(field_visit(&visit_date)),
        ) {
            return s;
        }
        if !s.then(
            hours(6),
            liaison(agency),
            C::IssueBa(berita_acara(agency, &visit_date)),
        ) {
            return s;
        }
        if dice.chance(80)
            && !s.then(
                days(1),
                head(agency),
                C::AcknowledgeBa(BaAcknowledgement { note: None }),
            )
        {
            return s;
        }
    }
    if dice.chance(30)
        && !s.then(
            days(1),
            liaison(agency),
            C::ReportProgress(progress_report()),
        )
    {
        return s;
    }
    if !s.then(days(1), liaison(agency), C::Respond(response_text())) {
        return s;
    }
    let satisfied = dice.chance(85);
    if !s.then(days(2), upp(), C::RecordFeedback(feedback(satisfied))) {
        return s;
    }
    if satisfied {
        s.then(days(1), upp(), C::Close(Closure { note: None }));
    }
    s
}

/// Writes `size` stories into the log with their hash chain, in transactions of a few
/// thousand rows, and catches the views up.
async fn fill(db: &TestDb, store: &Store, size: usize) -> (Vec<Story>, usize) {
    let services = Arc::new(ComplaintServices::builtin());
    let mut raw = db.raw().await;
    let insert = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('complaint', $1, $2, $3, $4, {}, {})",
        db.json_param(5),
        db.json_param(6)
    );
    let begin = if db.backend == Backend::Sqlite {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    let mut kept = Vec::new();
    let mut rows = 0;
    let mut in_tx = 0;
    raw.execute(begin).await.unwrap();
    for i in 0..size {
        let s = story(i, size, &services);
        let mut prev = GENESIS.to_owned();
        for (n, event) in s.events.iter().enumerate() {
            let sequence = n as u64 + 1;
            let payload = serde_json::to_value(event).unwrap();
            let version = event.body.event_version();
            let mut metadata = json!({
                "command_id": event.command_id.0,
                "actor": event.by.user.0,
                "role": event.by.role.as_str(),
                "prev_hash": prev,
            });
            if let Some(agency) = &event.by.agency {
                metadata["agency"] = json!(agency.0);
            }
            let hash = event_hash(&ChainInput {
                aggregate_type: "complaint",
                aggregate_id: &s.id,
                sequence,
                event_type: event.body.event_type(),
                event_version: version,
                payload: &payload,
                metadata: &metadata,
            });
            metadata["hash"] = json!(hash.clone());
            prev = hash;
            sqlx::query(&insert)
                .bind(&s.id)
                .bind(sequence as i64)
                .bind(event.body.event_type())
                .bind(version)
                .bind(payload.to_string())
                .bind(metadata.to_string())
                .execute(&mut raw)
                .await
                .unwrap();
            rows += 1;
            in_tx += 1;
            if in_tx == 5000 {
                raw.execute("COMMIT").await.unwrap();
                raw.execute(begin).await.unwrap();
                in_tx = 0;
            }
        }
        // Keep the stories the pages are asked about (those of the first agency and a
        // sample of the rest); the others are only rows.
        if i % 97 == 0 || s.events.len() > 8 {
            kept.push(s);
        }
    }
    raw.execute("COMMIT").await.unwrap();
    raw.execute("ANALYZE").await.unwrap();
    // The projector catches up, as after an outage, in its own batches.
    let mut applied = 0;
    for _ in 0..1_000_000 {
        let n = store.projector().catch_up().await.unwrap();
        if n == 0 {
            break;
        }
        applied += n;
    }
    assert!(
        applied as usize >= rows,
        "the projector applied {applied} of {rows}"
    );
    raw.execute("ANALYZE").await.unwrap();
    (kept, rows)
}

/// What a regency's year through the engine took.
struct Year {
    /// Wall time of the whole year, seconds.
    seconds: f64,
    /// Commands executed (acknowledged).
    commands: usize,
    /// Commands the domain refused (a story step the monitor had overtaken, such as a
    /// close after the monitor closed the complaint).
    refused: usize,
    /// SLA monitor runs, one a simulated day.
    ticks: usize,
    /// Breaches the monitor recorded.
    breaches: usize,
    /// Complaints the monitor closed or deemed withdrawn.
    settled: usize,
    /// Events in the log at the end.
    events: usize,
}

/// A regency's year through the engine: every story's commands (but the system's) one
/// at a time through `Engine::execute`, in the order of their instants, the SLA monitor
/// run as of 07:00 WIB of every day of the year (it records the breaches itself), and
/// the projector running beside them as in `aduan serve`.
async fn simulate(store: &Arc<Store>, size: usize) -> (Vec<Story>, Year) {
    let services = Arc::new(ComplaintServices::builtin());
    let stories: Vec<Story> = (0..size).map(|i| story(i, size, &services)).collect();
    let mut commands: Vec<(DateTime<Utc>, usize, usize)> = stories
        .iter()
        .enumerate()
        .flat_map(|(s, story)| {
            story
                .told
                .iter()
                .enumerate()
                .map(move |(c, envelope)| (envelope.now, s, c))
        })
        .collect();
    commands.sort();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let projector = tokio::spawn(Arc::clone(store.projector()).run(
        Duration::from_millis(200),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let started = Instant::now();
    let mut year = Year {
        seconds: 0.0,
        commands: 0,
        refused: 0,
        ticks: 0,
        breaches: 0,
        settled: 0,
        events: 0,
    };
    // The monitor's runs due up to an instant: one a day, as of 07:00 WIB.
    let mut tick = wib("2026-01-02 07:00");
    async fn monitor_until(
        store: &Store,
        tick: &mut DateTime<Utc>,
        until: DateTime<Utc>,
        year: &mut Year,
    ) {
        while *tick <= until {
            let report = store.sla_tick(*tick).await.unwrap();
            year.ticks += 1;
            year.breaches += report.breaches_recorded;
            year.settled += report.closed + report.deemed_withdrawn;
            *tick += chrono::Duration::days(1);
        }
    }
    for (at, s, c) in commands {
        monitor_until(store, &mut tick, at, &mut year).await;
        let story = &stories[s];
        let id: workflow_core::ComplaintId = story.id.parse().unwrap();
        match store
            .engine()
            .execute(&id, story.told[c].clone(), None)
            .await
        {
            Ok(_) => year.commands += 1,
            Err(workflow_store::StoreError::Refused(_)) => year.refused += 1,
            Err(e) => panic!("{}: {e}", story.id),
        }
    }
    monitor_until(store, &mut tick, now(), &mut year).await;
    // The views catch up with the last commands, as they do in `aduan serve`.
    while store.projector().catch_up().await.unwrap() > 0 {}
    year.seconds = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    projector.await.unwrap();
    year.events = store.verify(None, None, |_| {}).await.unwrap().events as usize;
    // Kept as `fill` keeps them: the stories the pages are asked about.
    let kept = stories
        .into_iter()
        .enumerate()
        .filter(|(i, s)| i % 97 == 0 || s.events.len() > 8)
        .map(|(_, s)| s)
        .collect();
    (kept, year)
}

/// A person of `actor`'s role, signed in: the session cookie.
async fn signed_in(store: &Store, actor: &Actor) -> String {
    let link = store.add_person(actor, now()).await.unwrap();
    store
        .set_password(&link, PASSWORD, now())
        .await
        .unwrap()
        .unwrap();
    let session = store
        .sign_in(&actor.user.0, PASSWORD, now())
        .await
        .unwrap()
        .unwrap();
    format!("aduan_sesi={}", session.secret)
}

/// A page: what it is, who asks, where.
struct Page {
    name: &'static str,
    who: &'static str,
    path: String,
}

/// The pages, with complaints chosen from the stories: an open one of the first agency
/// in the field step, one waiting for its head, one at the door.
fn pages(kept: &[Story]) -> Vec<Page> {
    let first = AGENCIES[0].0;
    let of_first = |s: &&Story| {
        s.complaint
            .disposition()
            .is_some_and(|d| d.agency.0 == first)
    };
    let longest = kept
        .iter()
        .filter(of_first)
        .max_by_key(|s| s.events.len())
        .expect("a story of the first agency");
    let open = kept
        .iter()
        .rev()
        .filter(of_first)
        .find(|s| !s.complaint.status().is_terminal())
        .unwrap_or(longest);
    let mut out = vec![];
    let mut add = |name, who, path: String| out.push(Page { name, who, path });
    add(
        "tasks of a liaison officer",
        "liaison",
        "/konsol/tugas".into(),
    );
    add(
        "a complaint, open (liaison)",
        "liaison",
        format!("/konsol/aduan/{}", open.id),
    );
    add(
        "a complaint, longest history (liaison)",
        "liaison",
        format!("/konsol/aduan/{}", longest.id),
    );
    add(
        "the BA print view",
        "liaison",
        format!("/konsol/aduan/{}/ba", longest.id),
    );
    add("deadline board (UPP)", "upp", "/konsol/tugas".into());
    add("registration form", "upp", "/konsol/daftar".into());
    add(
        "the agency's board (head)",
        "head",
        "/konsol/papan-opd".into(),
    );
    add("BAs waiting (head)", "head", "/konsol/ba-menunggu".into());
    add(
        "board of every agency",
        "coordinator",
        "/konsol/papan".into(),
    );
    add(
        "board, breached in review, one agency",
        "coordinator",
        format!("/konsol/papan?opd={first}&status=breached&langkah=review"),
    );
    add(
        "breaches to decide",
        "coordinator",
        "/konsol/pelanggaran".into(),
    );
    add(
        "escalated returns",
        "coordinator",
        "/konsol/eskalasi".into(),
    );
    add(
        "statistics of an agency",
        "coordinator",
        format!("/konsol/statistik?opd={first}"),
    );
    add(
        "statistics chart (SVG)",
        "coordinator",
        format!("/konsol/statistik/grafik.svg?opd={first}&jenis=jumlah"),
    );
    add("audit desk", "apip", "/konsol/audit".into());
    add(
        "audit trail of a complaint",
        "apip",
        format!("/konsol/audit/aduan/{}", longest.id),
    );
    add(
        "state as of an instant",
        "apip",
        format!(
            "/konsol/audit/aduan/{}/keadaan?tanggal={}&jam=12:00",
            longest.id,
            (longest.at - chrono::Duration::days(2)).format("%Y-%m-%d")
        ),
    );
    add(
        "identity reads log",
        "apip",
        "/konsol/audit/identitas".into(),
    );
    add("downloads", "apip", "/konsol/audit/unduh".into());
    out
}

/// One measured page: median and slowest server time (ms) and its bytes.
struct Timing {
    median: f64,
    slowest: f64,
    bytes: usize,
}

async fn time_page(router: &axum::Router, cookie: &str, path: &str, runs: usize) -> Timing {
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for run in 0..runs + 3 {
        let request = Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap();
        let started = Instant::now();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let took = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        bytes = body.len();
        if run >= 3 {
            times.push(took);
        }
    }
    times.sort_by(f64::total_cmp);
    Timing {
        median: times[times.len() / 2],
        slowest: *times.last().unwrap(),
        bytes,
    }
}

/// Every page on one database of `size` complaints.
async fn measure(
    backend: Backend,
    size: usize,
    runs: usize,
    through_engine: bool,
) -> (Vec<(Page, Timing)>, usize, f64, Option<Year>) {
    let db = TestDb::new(backend, &format!("bench_console_{size}")).await;
    let store = Arc::new(db.open().await);
    for (code, name) in AGENCIES {
        store
            .register_agency(code, &AgencyDetails::named(name), now())
            .await
            .unwrap();
    }
    let started = Instant::now();
    let (kept, rows, year) = if through_engine {
        let (kept, year) = simulate(&store, size).await;
        db.raw().await.execute("ANALYZE").await.unwrap();
        (kept, year.events, Some(year))
    } else {
        let (kept, rows) = fill(&db, &store, size).await;
        (kept, rows, None)
    };
    let filled = started.elapsed().as_secs_f64();
    let first = AGENCIES[0].0;
    let mut cookies = std::collections::BTreeMap::new();
    for (who, actor) in [
        ("upp", upp()),
        ("liaison", liaison(first)),
        ("head", head(first)),
        ("coordinator", coordinator()),
        ("apip", apip()),
    ] {
        cookies.insert(who, signed_in(&store, &actor).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let state = AppState {
        store: Arc::clone(&store),
        evidence: EvidenceStore::new(dir.path().join("evidence"), 10 << 20),
        clock: Arc::new(now),
        readiness: workflow_store::ReadinessPolicy::default(),
        metrics_public: false,
        read_your_writes: workflow_host::http::READ_YOUR_WRITES,
        government: Some("Pemerintah Kabupaten Kapuas".into()),
        audit: workflow_host::web::AuditDesk::new(None),
    };
    let router = app(state);
    let mut out = Vec::new();
    for page in pages(&kept) {
        let timing = time_page(&router, &cookies[page.who], &page.path, runs).await;
        out.push((page, timing));
    }
    store.close().await;
    (out, rows, filled, year)
}

/// `--year N`: a regency's year of `N` complaints through the engine, then every page.
fn regency_year(
    runtime: &tokio::runtime::Runtime,
    backends: &[Backend],
    size: usize,
    runs: usize,
    out: &std::path::Path,
) {
    let mut rows = Vec::new();
    for &backend in backends {
        let name = common::name(backend);
        let (pages, _, _, year) = runtime.block_on(measure(backend, size, runs, true));
        let year = year.expect("a simulated year");
        println!(
            "{name}: a year of {size} complaints through the engine in {:.0} s: {} commands \
             ({:.0} a second), {} refused by the domain, {} SLA monitor runs (one a day), \
             {} breaches recorded, {} complaints closed or deemed withdrawn by the monitor, \
             {} events",
            year.seconds,
            year.commands,
            year.commands as f64 / year.seconds,
            year.refused,
            year.ticks,
            year.breaches,
            year.settled,
            year.events
        );
        println!("| backend | page | who | median | slowest | size |");
        println!("|---|---|---|---:|---:|---:|");
        for (page, t) in &pages {
            println!(
                "| {name} | {} | {} | {:.1} ms | {:.1} ms | {:.1} KB |",
                page.name,
                page.who,
                t.median,
                t.slowest,
                t.bytes as f64 / 1000.0
            );
        }
        rows.push(json!({
            "backend": name,
            "complaints": size,
            "seconds": year.seconds,
            "commands": year.commands,
            "refused": year.refused,
            "monitor_runs": year.ticks,
            "breaches_recorded": year.breaches,
            "settled_by_monitor": year.settled,
            "events": year.events,
            "pages": pages.iter().map(|(page, t)| json!({
                "page": page.name,
                "who": page.who,
                "path": page.path,
                "median_ms": t.median,
                "slowest_ms": t.slowest,
                "bytes": t.bytes,
            })).collect::<Vec<_>>(),
        }));
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(out, serde_json::to_string_pretty(&rows).unwrap()).unwrap();
    eprintln!("written to {}", out.display());
}

fn main() {
    let args = common::Args::from_env();
    let large = args.num("--complaints", 100_000);
    let small = args.num("--small", 1_000);
    let runs = args.num("--runs", 20).max(1);
    let backends = args.backends();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.value("--year").is_some() {
        let size = args.num("--year", 0);
        regency_year(
            &runtime,
            &backends,
            size,
            runs,
            &args.out("target/bench/year.json"),
        );
        return;
    }
    let out = args.out("target/bench/console.json");
    let mut rows = Vec::new();
    println!(
        "| backend | page | who | median at {large} | slowest | median at {small} | ratio | size |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for backend in backends {
        let name = common::name(backend);
        let (at_small, _, _, _) = runtime.block_on(measure(backend, small, runs, false));
        let (at_large, events, filled, _) = runtime.block_on(measure(backend, large, runs, false));
        eprintln!(
            "{name}: {large} complaints, {events} events, written and projected in {filled:.0} s"
        );
        for ((page, big), (_, little)) in at_large.iter().zip(&at_small) {
            let ratio = big.median / little.median;
            println!(
                "| {name} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {ratio:.2}x | {:.1} KB |",
                page.name,
                page.who,
                big.median,
                big.slowest,
                little.median,
                big.bytes as f64 / 1000.0
            );
            rows.push(json!({
                "backend": name,
                "page": page.name,
                "who": page.who,
                "path": page.path,
                "complaints": large,
                "events": events,
                "median_ms": big.median,
                "slowest_ms": big.slowest,
                "anchor_complaints": small,
                "anchor_median_ms": little.median,
                "ratio": ratio,
                "bytes": big.bytes,
                "under_100_ms": big.median < 100.0,
                "under_50_kb": big.bytes < 50_000,
            }));
        }
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&out, serde_json::to_string_pretty(&rows).unwrap()).unwrap();
    eprintln!("written to {}", out.display());
}
