//! `aduan serve` on 127.0.0.1, every wait for it bounded.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{request, Aduan, Reply};

/// How long a server may take to listen.
pub const START_WITHIN: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM.
pub const STOP_WITHIN: Duration = Duration::from_secs(30);

/// A running `aduan serve`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(dir: &Path, url: &str) -> Server {
        Self::start_with(dir, url, &[])
    }

    /// `serve` with more arguments.
    pub fn start_with(dir: &Path, url: &str, args: &[&str]) -> Server {
        Self::start_as(Aduan::on(dir, url), args)
    }

    /// `serve` allowed only this many open files (`ulimit -n`).
    pub fn start_with_open_files(dir: &Path, url: &str, open_files: u32, args: &[&str]) -> Server {
        Self::start_as(Aduan::on(dir, url).open_files(open_files), args)
    }

    /// `serve` logging at `level` (`RUST_LOG`) instead of warnings only.
    pub fn start_logging(dir: &Path, url: &str, level: &str, args: &[&str]) -> Server {
        Self::start_as_logging(Aduan::on(dir, url), level, args)
    }

    fn start_as(aduan: Aduan, args: &[&str]) -> Server {
        Self::start_as_logging(aduan, "warn", args)
    }

    fn start_as_logging(aduan: Aduan, level: &str, args: &[&str]) -> Server {
        let mut child = aduan
            .command()
            .env("RUST_LOG", level)
            .args(["serve", "--listen", "127.0.0.1:0", "--sla-interval", "3600"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("aduan serve starts");
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(String::new()));
        // A thread drains stderr for the server's whole life (so it never blocks on a
        // full pipe) and hands over the address once the server listens.
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("aduan: listening on http://") {
                    let _ = addr_tx.send(rest.trim().parse::<SocketAddr>());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match addr_rx.recv_timeout(START_WITHIN) {
            Ok(addr) => addr.unwrap(),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "serve did not listen within {START_WITHIN:?}: {}",
                    log.lock().unwrap()
                )
            }
        };
        let server = Server { child, addr, log };
        server.after_the_first_tick();
        server
    }

    /// Waits (bounded by [`START_WITHIN`], and each look by its request's own timeout)
    /// until the health answer shows the SLA monitor's first tick, done or failed. The
    /// first tick runs beside the first requests; once it is over the next is an hour
    /// away (`--sla-interval 3600`), so no tick meets what a test registers afterwards,
    /// whatever date the test reports it on.
    fn after_the_first_tick(&self) {
        let started = std::time::Instant::now();
        loop {
            let health = request(self.addr, "GET", "/api/v1/health", None, None, b"", None);
            let seen = match &health {
                Ok(health) if health.status == 200 => {
                    let write = &health.json()["write"];
                    !write["last_sla_tick_at"].is_null() || !write["last_sla_tick_error"].is_null()
                }
                _ => false,
            };
            if seen {
                return;
            }
            assert!(
                started.elapsed() < START_WITHIN,
                "the SLA monitor's first tick did not show within {START_WITHIN:?}: {:?}\n{}",
                health.map(|h| (h.status, h.text())),
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, and the exit status; a server that does not stop within
    /// [`STOP_WITHIN`] is killed and the test fails.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a child's pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        match wait_timeout::ChildExt::wait_timeout(&mut self.child, STOP_WITHIN).unwrap() {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("serve did not stop within {STOP_WITHIN:?} of SIGTERM");
            }
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// A GET, with a token or none.
    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None, None)
    }

    /// A JSON POST with a token.
    pub fn post(&self, path: &str, token: &str, body: &serde_json::Value) -> Reply {
        self.call("POST", path, Some(token), Some(body), None)
    }

    /// How many events the log holds for a complaint, as its events route tells `token`.
    pub fn event_count(&self, token: &str, id: &str) -> usize {
        let r = self.get(&format!("/api/v1/complaints/{id}/events"), Some(token));
        assert_eq!(r.status, 200, "{id}: {}", r.text());
        r.json()["events"].as_array().unwrap().len()
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
        key: Option<&str>,
    ) -> Reply {
        let body_bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let ct = body.map(|_| "application/json");
        request(self.addr, method, path, token, ct, &body_bytes, key).expect("the server answers")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
