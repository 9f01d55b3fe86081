//! End-to-end scenarios of the complaint workflow engine live in the test binary `it`
//! beside this file: `it/histories.rs` replays recorded event logs from `histories/`,
//! `it/scenarios.rs` walks complaints through the engine. This library is empty on
//! purpose.
