//! The real `aduan` binary as a server on 127.0.0.1, and a minimal HTTP/1.1 client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs `aduan` with a database URL in a folder, waiting for it to finish.
pub fn aduan(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aduan"))
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("aduan runs")
}

/// Creates a token and returns it.
pub fn token(dir: &Path, url: &str, user: &str, role: &str, agency: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--user", user, "--role", role];
    if let Some(a) = agency {
        args.extend(["--agency", a]);
    }
    let out = aduan(dir, url, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// How long a server may take to listen.
pub const START_WITHIN: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM.
pub const STOP_WITHIN: Duration = Duration::from_secs(30);

/// A count that threads raise and a test waits on, without polling.
#[derive(Default)]
pub struct Counter {
    count: Mutex<usize>,
    raised: std::sync::Condvar,
}

impl Counter {
    /// One more.
    pub fn add(&self) {
        *self.count.lock().unwrap() += 1;
        self.raised.notify_all();
    }

    /// The count now.
    pub fn get(&self) -> usize {
        *self.count.lock().unwrap()
    }

    /// Waits until the count reaches `target`; panics naming `what` after `within`.
    pub fn wait_for(&self, target: usize, within: Duration, what: &str) {
        let guard = self.count.lock().unwrap();
        let (guard, timeout) = self
            .raised
            .wait_timeout_while(guard, within, |n| *n < target)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} of {target} {what} within {within:?}",
            *guard
        );
    }
}

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
        Self::start_command(Command::new(env!("CARGO_BIN_EXE_aduan")), dir, url, args)
    }

    /// `serve` allowed only this many open files (`ulimit -n`).
    pub fn start_with_open_files(dir: &Path, url: &str, open_files: u32, args: &[&str]) -> Server {
        let mut shell = Command::new("sh");
        shell.args([
            "-c",
            &format!("ulimit -n {open_files} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_aduan"),
        ]);
        Self::start_command(shell, dir, url, args)
    }

    fn start_command(mut command: Command, dir: &Path, url: &str, args: &[&str]) -> Server {
        let mut child = command
            .current_dir(dir)
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
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
        Server { child, addr, log }
    }

    /// SIGTERM, and the exit status; a server that does not stop within
    /// [`STOP_WITHIN`] is killed and the test fails.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + STOP_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("serve did not stop within {STOP_WITHIN:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
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

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on its own connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    key: Option<&str>,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    // Bounded both ways: a server that stops reading or answering fails the test.
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if let Some(k) = key {
        head.push_str(&format!("Idempotency-Key: {k}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no complete answer")
        })?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// Runs a store's projector in the background, as `serve` does (commands wait for the
/// views it keeps), until the returned sender is dropped.
pub fn background_projector(
    store: &Arc<workflow_store::Store>,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        Arc::clone(store.projector()).run(Duration::from_millis(100), async move {
            let _ = stopped.await;
        }),
    );
    stop
}
