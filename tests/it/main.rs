//! The end-to-end tests, one test binary with a module per topic (`cargo test -p
//! workflow-tests --test it histories::` runs one).
//!
//! The pinned rebuilds of the recorded histories are regenerated with
//! `RECORD_HISTORIES=1 cargo test -p workflow-tests --test it histories::`.

mod histories;
mod scenarios;
