//! What the tests of the binary share: `aduan` run as a verb ([`Aduan`]) or as a server
//! ([`Server`]), a minimal HTTP/1.1 client, and waits that end.

// Both test binaries build this module, and `pg_restart` uses only a part of it.
#![allow(dead_code, unused_imports)]

pub mod browser;
mod http;
mod installation;
mod run;
mod server;
pub mod smtp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use http::{request, Reply};
pub use installation::Installation;
pub use run::{aduan, aduan_in, ok, refused, run_bounded, run_bounded_within, token, Aduan};
pub use server::Server;

/// The smallest file the evidence store takes for a JPEG photo.
pub const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];

/// An hour before now, as RFC 3339: when a complaint a test registers through a running
/// server was reported. The server's SLA monitor runs on the wall clock, so a complaint
/// reported on a fixed date would fall due during some later run and gain events the
/// test did not send.
pub fn an_hour_ago() -> String {
    an_hour_ago_instant().to_rfc3339()
}

/// [`an_hour_ago`] as an instant, for commands built in process.
pub fn an_hour_ago_instant() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::hours(1)
}

/// A process that runs on the machine's clock when the tests run with their clock moved
/// by `faketime` (`.ci/run`'s moved-clock step): libfaketime taken out of its
/// `LD_PRELOAD` (other preloads kept) and every `FAKETIME*` variable removed. For
/// Chromium, the Playwright scripts that drive it and the tools that read what it
/// prints: Chromium under libfaketime spins or fails. What such a run checks (the
/// host, the server, the engine) keeps the moved clock.
pub fn on_the_machines_clock(command: &mut std::process::Command) {
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("FAKETIME") {
            command.env_remove(&name);
        } else if name == "LD_PRELOAD" {
            let kept: Vec<String> = value
                .to_string_lossy()
                .split([' ', ':'])
                .filter(|lib| !lib.is_empty() && !lib.contains("libfaketime"))
                .map(str::to_owned)
                .collect();
            if kept.is_empty() {
                command.env_remove("LD_PRELOAD");
            } else {
                command.env("LD_PRELOAD", kept.join(" "));
            }
        }
    }
}

/// Whether the tests run as root, who may mount and restart the database cluster: as
/// root a failure to do so fails the test; elsewhere such a test is skipped, loudly.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

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
