//! The host of the complaint workflow engine: the `aduan` command line and its HTTP API.
//!
//! Arguments are parsed (clap) and validated into what each verb needs; the HTTP
//! handlers translate requests into commands and views into JSON. No business rule lives
//! here: every decision is the domain's (`workflow-core`), every stored fact the
//! store's (`workflow-store`). The binary's `main` only builds the runtime and reports
//! errors.

// Standard output goes through `out`: a closed pipe ends the verb quietly.
#![deny(clippy::print_stdout)]

pub mod agency;
pub mod audit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod evidence;
pub mod format;
pub mod http;
pub mod lapor;
pub mod notify;
pub mod out;
pub mod outbox;
pub mod progress;
pub mod read_model;
pub mod serve;
pub mod settings;
pub mod table;
pub mod token;
pub mod users;
pub mod verbs;
pub mod web;
