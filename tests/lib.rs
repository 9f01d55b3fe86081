//! End-to-end scenarios of the complaint workflow engine live beside this file:
//! `histories.rs` replays recorded event logs from `histories/`, `scenarios.rs` walks
//! complaints through the engine. This library is empty on purpose.
