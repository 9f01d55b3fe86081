//! The tests of the `aduan` binary and its HTTP API, in one test binary: one build and
//! one link instead of one per file, and the tests of every module run side by side.
//!
//! So a test here must not reach the tests beside it. A restart of the PostgreSQL
//! cluster would (`pg_restart` is a binary of its own, see the manifest); the file
//! systems `faults` fills and remounts and the folders `read_only` mounts read-only are
//! mounts of their own on a test's temporary folder, which no other test writes in.

// Shared with the `pg_restart` binary.
#[path = "../support/mod.rs"]
mod support;

/// A test per backend compiled in, each running `$body(backend, its own name)`: `$sqlite`
/// on SQLite, `$postgres` on PostgreSQL.
macro_rules! on_each_backend {
    ($body:ident: $sqlite:ident, $postgres:ident) => {
        on_each_backend!(@one "sqlite", Sqlite, $body, $sqlite);
        on_each_backend!(@one "postgres", Postgres, $body, $postgres);
    };
    (@one $feature:literal, $backend:ident, $body:ident, $test:ident) => {
        #[cfg(feature = $feature)]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            $body(workflow_store::testing::Backend::$backend, stringify!($test)).await;
        }
    };
}

// The database backends each module needs: the binary's tests run on SQLite files (the
// default database); `e2e`, `databases`, `lapor_cli` and `settings` run each test on
// the backends compiled in (`settings`' tests of the verbs' output on SQLite alone);
// `api` on SQLite, or on PostgreSQL when SQLite is not compiled in.
mod api;
#[cfg(feature = "sqlite")]
mod audit_cli;
#[cfg(feature = "sqlite")]
mod console;
mod console_apip;
mod console_boards;
mod databases;
#[cfg(feature = "sqlite")]
mod demo;
mod e2e;
#[cfg(feature = "sqlite")]
mod faults;
mod lapor_cli;
mod notify;
#[cfg(feature = "sqlite")]
mod open311_client;
#[cfg(feature = "sqlite")]
mod operator_cli;
#[cfg(feature = "sqlite")]
mod read_only;
#[cfg(feature = "sqlite")]
mod registry_cli;
#[cfg(feature = "sqlite")]
mod serve;
mod settings;
