//! Commands over HTTP against the engine's own rate, in the same run.
//!
//! `cargo bench -p workflow-host --bench http -- [--commands N] [--clients C]
//! [--backend sqlite|postgres] [--out FILE]`
//!
//! For each backend, on a fresh database:
//!
//! 1. **The engine**: `C` tasks register `N` new complaints through `Engine::execute`
//!    in this process (no HTTP, no projector waited for). This is the anchor.
//!    Then the same with the store's projector running and each task waiting for the
//!    views to show its command (as the host answers a command): the projections'
//!    share, before any HTTP.
//! 2. **`aduan serve`** (the release binary, as operators run it, on 127.0.0.1): `C`
//!    clients, each with its own keep-alive connection, `POST /api/v1/complaints` `N`
//!    complaints in all with a bearer token, each answered 201 only once the views
//!    show it (read your writes). Then the same with an `Idempotency-Key` on every
//!    request, and `GET /api/v1/health/live` (no token, no command) as the floor of a request.
//! 3. **Two hosts** (PostgreSQL only): a second `aduan serve` on the same database, the
//!    clients' requests alternating between the two, against the same through one host.
//! 4. The server's peak memory over the run, beside this process's peak so far.
//!
//! Each row prints its figure beside its anchor and the ratio; the same goes to a JSON
//! file (default `target/bench/http.json`). PostgreSQL rows need `TEST_DATABASE_URL`
//! (`scripts/with-postgres` sets it). See `docs/BENCHMARKS.md`.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde_json::json;
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::{cmd, registration, upp};
use workflow_core::ComplaintId;
use workflow_store::testing::{Backend, CpuMark, TestDb};
use workflow_store::Store;

/// The allocator `aduan` declares (docs/decisions/0053), so that the engine's rows in
/// this process and the host's compare like with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;
// `aduan serve` started and stopped as the tests of the binary do it.
#[path = "../tests/support/mod.rs"]
mod support;

struct Row {
    backend: &'static str,
    work: String,
    figure: f64,
    anchor_name: String,
    anchor: f64,
    unit: &'static str,
    /// figure / anchor for rates, anchor / figure for CPU per command (higher is
    /// better either way); figure / anchor for cores busy and memory.
    ratio: f64,
}

impl Row {
    fn rate(
        backend: &'static str,
        work: String,
        figure: f64,
        anchor_name: String,
        anchor: f64,
    ) -> Row {
        Row {
            backend,
            work,
            figure,
            anchor_name,
            anchor,
            unit: "ops/s",
            ratio: figure / anchor,
        }
    }
}

/// `clients` tasks share `total` jobs; each job is `job(client, i)`. Returns jobs per
/// second.
async fn spread<F, Fut>(clients: usize, total: usize, job: F) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let job = Arc::clone(&job);
            tokio::spawn(async move {
                for i in (c..total).step_by(clients) {
                    job(c, i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn body(id: &str) -> serde_json::Value {
    json!({
        "id": id,
        "lapor_id": id,
        "title": "Jalan berlubang di depan SDN 3 Selat",
        "description": "Lubang besar di Jl. Tambun Bungai membahayakan anak sekolah.",
        "category": "infrastruktur",
        "location": "Jl. Tambun Bungai, Kuala Kapuas",
        // An hour ago: no complaint falls due while the bench runs, so the host's SLA
        // monitor, whose first tick runs as it starts, finds nothing to record.
        "reported_at": support::an_hour_ago(),
        "complainant": {"name": "Budi Santoso", "phone": "+62 812 0000 0451"},
        "upp_review": "Lengkap; diteruskan."
    })
}

/// Registers the complaint `{prefix}-{i}` through the engine in this process; with
/// `wait`, then waits for the views to show it, as the host does before it answers.
async fn register_in_process(store: Arc<Store>, prefix: &'static str, i: usize, wait: bool) {
    let id: ComplaintId = format!("{prefix}-{i:06}").parse().unwrap();
    let mut r = registration();
    r.lapor_id = id.to_string();
    r.reported_at = support::an_hour_ago_instant();
    let c = cmd(&format!("{prefix}{i}"), upp(), Utc::now(), C::Register(r));
    let done = store.engine().execute(&id, c, None).await.unwrap();
    if wait {
        let last = done.events.last().unwrap().sequence as u64;
        store
            .projector()
            .wait_for(&id, last, std::time::Duration::from_secs(30))
            .await
            .unwrap();
    }
}

async fn measure(backend: Backend, commands: usize, clients: usize) -> Vec<Row> {
    let name = common::name(backend);
    let db = TestDb::new(backend, "bench_http").await;
    let dir = tempfile::tempdir().unwrap();
    // The store and the server find the key file of the personal data in the same
    // place (beside a SQLite file; `aduan.key` in the working directory for PostgreSQL).
    std::env::set_current_dir(dir.path()).unwrap();
    let store = Arc::new(db.open().await);
    let token = store.create_token(&upp(), Utc::now()).await.unwrap();

    // The anchor: the engine itself, in this process.
    let cpu = CpuMark::now();
    let engine = {
        let store = Arc::clone(&store);
        spread(clients, commands, move |_, i| {
            register_in_process(Arc::clone(&store), "E", i, false)
        })
        .await
    };
    let engine_cpu = cpu.and_then(|c| c.since(commands));
    // The same with the store's projector running, each task waiting for the views to
    // show its command before the next, as a request to the host does: what the
    // projections cost before any HTTP.
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let projector = tokio::spawn(Arc::clone(store.projector()).run(
        std::time::Duration::from_secs(2),
        async move {
            let _ = stopping.await;
        },
    ));
    store.projector().catch_up().await.unwrap();
    let waiting = {
        let store = Arc::clone(&store);
        spread(clients, commands, move |_, i| {
            register_in_process(Arc::clone(&store), "V", i, true)
        })
        .await
    };
    stop.send(()).unwrap();
    projector.await.unwrap();
    match Arc::try_unwrap(store) {
        Ok(store) => store.close().await,
        Err(_) => panic!("a task still holds the store"),
    }

    let server = support::Server::start(dir.path(), &db.url);
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    // Request `i` goes to host `i % hosts.len()`.
    let post_to = |hosts: Vec<String>, prefix: &'static str, keyed: bool| {
        let (client, token) = (client.clone(), token.clone());
        let hosts = Arc::new(hosts);
        move |_: usize, i: usize| {
            let (client, token) = (client.clone(), token.clone());
            let base = hosts[i % hosts.len()].clone();
            async move {
                let id = format!("{prefix}-{i:06}");
                let mut request = client
                    .post(format!("{base}/api/v1/complaints"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body(&id).to_string());
                if keyed {
                    request = request.header("Idempotency-Key", format!("key-{id}"));
                }
                let r = request.send().await.unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                assert_eq!(status.as_u16(), 201, "{id}: {text}");
            }
        }
    };
    let post = |prefix, keyed| post_to(vec![base.clone()], prefix, keyed);
    // Warm the connections and the server's caches.
    spread(clients, clients * 2, post("W", false)).await;
    let cpu = CpuMark::now();
    let http = spread(clients, commands, post("H", false)).await;
    let http_cpu = cpu.and_then(|c| c.since(commands));
    let keyed = spread(clients, commands, post("K", true)).await;
    let health = {
        let (client, base) = (client.clone(), base.clone());
        spread(clients, commands, move |_, _| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client
                    .get(format!("{base}/api/v1/health/live"))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
            }
        })
        .await
    };
    // PostgreSQL: a second host on the same database, the clients' requests alternating
    // between the two (each host with its own projector and SLA monitor, as deployed).
    let two_hosts = if backend == Backend::Postgres {
        let second = support::Server::start(dir.path(), &db.url);
        let bases = vec![base.clone(), format!("http://{}", second.addr)];
        spread(clients, clients * 2, post_to(bases.clone(), "W2", false)).await;
        let rate = spread(clients, commands, post_to(bases, "T", false)).await;
        assert!(
            second.stop().success(),
            "the second aduan serve stopped cleanly"
        );
        Some(rate)
    } else {
        None
    };
    // The server's peak memory over the whole run (read before it stops), beside this
    // process's peak so far: it ran the engine's rows, and any backend measured before.
    let server_peak = peak_mib(&format!("/proc/{}/status", server.child.id()));
    assert!(server.stop().success(), "aduan serve stopped cleanly");

    let engine_name = format!("Engine::execute, {clients} tasks");
    let waiting_name = format!("Engine::execute, {clients} tasks, each waiting for the views");
    let http_name = format!("register over HTTP, {clients} clients");
    let rate = |work: &str, figure: f64, anchor_name: &str, anchor: f64| {
        Row::rate(
            name,
            work.to_owned(),
            figure,
            anchor_name.to_owned(),
            anchor,
        )
    };
    let mut rows = vec![
        rate(&waiting_name, waiting, &engine_name, engine),
        rate(&http_name, http, &waiting_name, waiting),
        rate(&http_name, http, &engine_name, engine),
        rate(
            &format!("register over HTTP with an Idempotency-Key, {clients} clients"),
            keyed,
            &engine_name,
            engine,
        ),
        rate(
            &http_name,
            http,
            &format!("GET /api/v1/health/live, {clients} clients (a request's floor)"),
            health,
        ),
    ];
    // Where the time goes: the machine's CPU per command (every process: the server,
    // its projector, the database, the clients) and how busy the cores were.
    if let (Some((http_ms, http_busy)), Some((engine_ms, engine_busy))) = (http_cpu, engine_cpu) {
        rows.push(Row {
            unit: "ms",
            ratio: engine_ms / http_ms,
            ..Row::rate(
                name,
                format!("register over HTTP, {clients} clients: CPU per command"),
                http_ms,
                format!("{engine_name}: CPU per command"),
                engine_ms,
            )
        });
        rows.push(Row {
            unit: "%",
            ..Row::rate(
                name,
                format!("register over HTTP, {clients} clients: cores busy"),
                http_busy * 100.0,
                format!("{engine_name}: cores busy"),
                engine_busy * 100.0,
            )
        });
    }
    if let (Some(server_peak), Some(own_peak)) = (server_peak, peak_mib("/proc/self/status")) {
        rows.push(Row {
            unit: "MiB",
            ..Row::rate(
                name,
                "peak memory of aduan serve over the run".to_owned(),
                server_peak,
                "this process's so far (the engine's rows, and backends before)".to_owned(),
                own_peak,
            )
        });
    }
    if let Some(rate) = two_hosts {
        rows.push(Row::rate(
            name,
            format!("register over HTTP, {clients} clients, two hosts on one database"),
            rate,
            format!("the same through one host, {clients} clients"),
            http,
        ));
    }
    rows
}

/// A process's peak resident memory (`VmHWM`) in MiB, from its `/proc/…/status`.
fn peak_mib(status: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let args = common::Args::from_env();
    let commands = args.num("--commands", 2000).max(1);
    let clients = args.num("--clients", 16).max(1);
    let out = args.out("target/bench/http.json");
    let backends = args.backends();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| backend | work | figure | anchor (same run) | anchor figure | ratio |");
    println!("|---|---|---:|---|---:|---:|");
    let mut json_rows = Vec::new();
    for backend in backends {
        for row in runtime.block_on(measure(backend, commands, clients)) {
            let (ratio, unit) = (row.ratio, row.unit);
            let digits = match unit {
                "ms" => 3,
                "MiB" => 1,
                _ => 0,
            };
            println!(
                "| {} | {} | {:.digits$} {unit} | {} | {:.digits$} {unit} | {ratio:.2}x |",
                row.backend, row.work, row.figure, row.anchor_name, row.anchor
            );
            json_rows.push(json!({
                "backend": row.backend,
                "work": row.work,
                "figure": row.figure,
                "unit": unit,
                "anchor": row.anchor_name,
                "anchor_figure": row.anchor,
                "ratio": ratio,
                "commands": commands,
                "clients": clients,
            }));
        }
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&out, serde_json::to_string_pretty(&json_rows).unwrap()).unwrap();
    eprintln!("written to {}", out.display());
}
