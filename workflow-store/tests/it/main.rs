//! The store's integration tests, in one test binary: one link instead of one per file,
//! and one place for the set-up the files share. Each module is one subject; most run
//! every test on both backends with [`both!`](workflow_store::both). A module about one
//! backend alone is compiled only with that backend's feature.

mod adopt;
mod answers;
mod audit;
mod concurrency;
mod durable;
mod embedding;
mod engine;
mod failures;
mod faults;
mod group_commit;
mod identity;
mod kept;
mod lapor;
mod people;
mod personal_data;
mod projections;
mod read_only;
mod registry;
mod schema;
mod settings;
mod snapshots;
mod statistics;
mod support;
#[cfg(feature = "postgres")]
mod test_databases;
#[cfg(feature = "postgres")]
mod timeouts;
mod views;
mod windows;
