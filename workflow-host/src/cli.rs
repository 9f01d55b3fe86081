//! Command-line arguments, validated into what the verbs need, and dispatch.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use workflow_core::Role;
use workflow_store::audit::ExportFormat;
use workflow_store::settings::SettingKind;
use workflow_store::views::BoardStatus;
use workflow_store::{SettingsSource, Store, StoreOptions};

/// Follow-up of LAPOR!-SP4N complaints under the liaison-officer SOP.
#[derive(Debug, Parser)]
#[command(name = "aduan", version, about)]
pub struct Cli {
    /// The event store: `sqlite://PATH` or `postgres://…`. Verbs that write create a
    /// missing SQLite file and migrate; the read-only verbs (verify, checkpoint, export,
    /// history, sla) open it read-only and never create or migrate one.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://aduan.db"
    )]
    pub database_url: String,

    /// Print listings as JSON for programs instead of tables for people.
    #[arg(long, global = true)]
    pub json: bool,

    /// A configuration file (TOML) with any of these options: global ones at the top,
    /// a verb's in a table of its name (`[serve]`). A flag beats its environment
    /// variable, which beats the file, which beats the default (docs/operations.md).
    #[arg(long, global = true, env = "ADUAN_CONFIG")]
    pub config: Option<PathBuf>,

    /// No longer read: the holiday table amendment is a setting in the database
    /// (`aduan calendar import`). Given, it stops aduan with a message saying so.
    #[arg(long, global = true, env = "ADUAN_HOLIDAYS", hide = true)]
    pub holidays: Option<std::ffi::OsString>,

    /// No longer read: the SLA policy is a setting in the database (`aduan policy
    /// set`). Given, it stops aduan with a message saying so.
    #[arg(long, global = true, env = "ADUAN_SLA_POLICY", hide = true)]
    pub sla_policy: Option<std::ffi::OsString>,

    /// PostgreSQL: how long a statement may wait for a lock (the append lock of every
    /// command) before the command fails as unavailable (HTTP 503). `500ms`, `5s`,
    /// `1min`; `0` waits for ever.
    #[arg(long, global = true, env = "ADUAN_PG_LOCK_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub pg_lock_timeout: Duration,

    /// PostgreSQL: how long one statement may run (migrations, audit walks, exports and
    /// replays are exempt). `0` for no limit.
    #[arg(long, global = true, env = "ADUAN_PG_STATEMENT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub pg_statement_timeout: Duration,

    /// PostgreSQL: the server ends a session of aduan that sits inside a transaction
    /// doing nothing this long, releasing its locks. `0` for no limit.
    #[arg(long, global = true, env = "ADUAN_PG_IDLE_IN_TRANSACTION_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub pg_idle_in_transaction_timeout: Duration,

    /// How many complaints' states this process keeps in memory, each as it last
    /// loaded or changed it: a command on a kept complaint reads only the events after
    /// that state (whichever host wrote them) instead of its snapshot. About the size
    /// of a complaint's snapshot each, a few kilobytes for most; `0` keeps none.
    #[arg(long, global = true, env = "ADUAN_KEPT_STATES", default_value_t = StoreOptions::DEFAULT_KEPT_STATES)]
    pub kept_states: usize,

    /// The key-encryption key's file, which wraps the keys of the complainants' personal
    /// data (created 0600 on the first run against an empty database). Default: beside
    /// a SQLite database (`PATH.key`); `aduan.key` in the working directory for
    /// PostgreSQL, where every host needs a copy of the same file. Back it up apart from
    /// the database: without it no identity can be read (docs/privacy.md).
    #[arg(long, global = true, env = "ADUAN_KEK_FILE")]
    pub kek_file: Option<PathBuf>,

    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Why the arguments are refused before anything is done: the flags and variables
    /// that once named the holiday table and the SLA policy, now settings in the
    /// database. Ignoring them would judge with other settings than the operator meant.
    pub fn retired(&self) -> Option<String> {
        if self.holidays.is_some() {
            return Some(
                "--holidays (ADUAN_HOLIDAYS, `holidays` in the configuration file) is no longer read: the holiday table amendment is a setting in the database; record the file once with `aduan calendar import FILE --as USER` (see `aduan calendar show`) and run aduan without it; nothing was done"
                    .into(),
            );
        }
        if self.sla_policy.is_some() {
            return Some(
                "--sla-policy (ADUAN_SLA_POLICY, `sla_policy` in the configuration file) is no longer read: the SLA policy is a setting in the database; record the file once with `aduan policy set FILE --as USER` (see `aduan policy show`) and run aduan without it; nothing was done"
                    .into(),
            );
        }
        None
    }

    /// The store settings the arguments name.
    pub fn store_options(&self) -> StoreOptions {
        let options = StoreOptions::default()
            .lock_timeout(self.pg_lock_timeout)
            .statement_timeout(self.pg_statement_timeout)
            .idle_in_transaction_timeout(self.pg_idle_in_transaction_timeout)
            .kept_states(self.kept_states);
        match &self.kek_file {
            Some(path) => options.with_key_file(path),
            None => options,
        }
    }
}

/// A duration as people write it: `500ms`, `5s`, `2min`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (500ms, 5s, 2min, 1h)"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "min" | "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        other => Err(format!("unknown unit `{other}` (ms, s, min, h)")),
    }
}

/// A duration above zero (a limit that is never reached is a flag's absence).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err("must be more than 0".into()),
        d => Ok(d),
    }
}

/// How `serve` writes its log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object a line.
    Json,
}

/// How `serve` delivers notifications (docs/notifications.md). Without an SMTP relay
/// and without a webhook no dispatcher runs and messages wait in the outbox.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// The SMTP relay e-mail goes through: `smtp://HOST[:PORT]` (plain SMTP, a relay
    /// on this host or a trusted network).
    #[arg(long, env = "ADUAN_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of the e-mail.
    #[arg(long, env = "ADUAN_MAIL_FROM", default_value = "aduan@localhost")]
    pub mail_from: String,
    /// The webhook every notice is posted to (signed; see docs/notifications.md).
    #[arg(long, env = "ADUAN_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// A file holding the webhook's signing secret (or set `ADUAN_WEBHOOK_SECRET`).
    #[arg(long, env = "ADUAN_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// A folder whose templates (`disposed.txt`, `disposed.subject`, …) replace the
    /// built-in ones of the same name.
    #[arg(long, env = "ADUAN_NOTIFY_TEMPLATES")]
    pub notify_templates: Option<PathBuf>,
    /// Attempts at a message before it is dead (`aduan outbox retry` brings it back).
    #[arg(long, env = "ADUAN_NOTIFY_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub notify_max_attempts: u32,
    /// The wait after a first failed attempt; it doubles after each further one.
    #[arg(long, env = "ADUAN_NOTIFY_BACKOFF", default_value = "30s", value_parser = parse_positive_duration)]
    pub notify_backoff: Duration,
    /// The longest wait between two attempts.
    #[arg(long, env = "ADUAN_NOTIFY_BACKOFF_MAX", default_value = "1h", value_parser = parse_positive_duration)]
    pub notify_backoff_max: Duration,
    /// How long one delivery may take before it counts as failed.
    #[arg(long, env = "ADUAN_NOTIFY_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
    pub notify_timeout: Duration,
    /// How often the outbox is looked at when nothing was due.
    #[arg(long, env = "ADUAN_NOTIFY_POLL", default_value = "5s", value_parser = parse_positive_duration)]
    pub notify_poll: Duration,
}

impl NotifyArgs {
    /// The dispatcher's configuration: the relay and sender checked, the webhook's
    /// secret read (from `ADUAN_WEBHOOK_SECRET` or the file; never printed).
    pub fn config(&self) -> anyhow::Result<crate::notify::NotifyConfig> {
        let smtp = self
            .smtp_url
            .as_deref()
            .map(|url| crate::notify::SmtpConfig::parse(url, &self.mail_from))
            .transpose()?;
        let webhook = match &self.webhook_url {
            None => None,
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    anyhow::bail!("--webhook-url `{url}`: an http:// or https:// address");
                }
                let secret = match (std::env::var_os("ADUAN_WEBHOOK_SECRET"), &self.webhook_secret_file) {
                    (Some(secret), _) => secret.into_encoded_bytes(),
                    (None, Some(path)) => {
                        let mut bytes = std::fs::read(path).map_err(|e| {
                            anyhow::anyhow!("reading the webhook secret {}: {e}", path.display())
                        })?;
                        while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
                            bytes.pop();
                        }
                        bytes
                    }
                    (None, None) => anyhow::bail!(
                        "--webhook-url needs a signing secret: ADUAN_WEBHOOK_SECRET or --webhook-secret-file"
                    ),
                };
                if secret.len() < 16 {
                    anyhow::bail!("the webhook secret is shorter than 16 bytes");
                }
                Some(crate::notify::WebhookConfig {
                    url: url.clone(),
                    secret,
                })
            }
        };
        Ok(crate::notify::NotifyConfig {
            smtp,
            webhook,
            templates: self.notify_templates.clone(),
            retry: workflow_store::outbox::RetryPolicy {
                max_attempts: self.notify_max_attempts,
                base: self.notify_backoff,
                cap: self.notify_backoff_max.max(self.notify_backoff),
            },
            timeout: self.notify_timeout,
            poll: self.notify_poll,
            // A round's deliveries, each up to its timeout twice (SMTP's connect and
            // send each have it), and room to record the outcomes.
            lease: self.notify_timeout * 2 * crate::notify::BATCH + Duration::from_secs(5),
            worker: format!("{}-{}", std::process::id(), random_suffix()),
        })
    }
}

/// A few random hex digits, to tell two dispatchers of one process id apart.
fn random_suffix() -> String {
    let mut bytes = [0u8; 4];
    let _ = getrandom::getrandom(&mut bytes);
    hex::encode(bytes)
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API, with the projectors and the SLA monitor in the background.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "ADUAN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Folder for uploaded evidence (content-addressed).
        #[arg(long, env = "ADUAN_EVIDENCE_DIR", default_value = "aduan-evidence")]
        evidence_dir: PathBuf,
        /// Largest upload, in bytes.
        #[arg(long, env = "ADUAN_EVIDENCE_LIMIT", default_value_t = 10 * 1024 * 1024)]
        evidence_limit: usize,
        /// Seconds between runs of the SLA monitor.
        #[arg(long, env = "ADUAN_SLA_INTERVAL", default_value_t = 60)]
        sla_interval: u64,
        /// Seconds between projector polls when nothing woke them.
        #[arg(long, env = "ADUAN_POLL", default_value_t = 5)]
        poll: u64,
        /// Serve `/api/v1/metrics` without a token (for a scraper on a private
        /// network); otherwise it needs a `system` or `coordinator` token.
        #[arg(long, env = "ADUAN_METRICS_PUBLIC")]
        metrics_public: bool,
        /// A request's line and headers must arrive within this, or the connection is
        /// closed (an idle kept-alive connection too).
        #[arg(long, env = "ADUAN_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
        header_read_timeout: Duration,
        /// A request's whole body must arrive within this, or the answer is 408.
        #[arg(long, env = "ADUAN_BODY_TIMEOUT", default_value = "60s", value_parser = parse_positive_duration)]
        body_timeout: Duration,
        /// Connections served at once; more wait in the listen queue. Never more than
        /// the open-file limit (`ulimit -n`) less 64.
        #[arg(long, env = "ADUAN_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections: u32,
        /// Requests handled at once; more are answered 503 with `Retry-After`.
        #[arg(long, env = "ADUAN_MAX_IN_FLIGHT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
        max_in_flight: u32,
        /// How log lines are written to standard error: `text` for people, `json` (one
        /// object a line, with the request id of each request) for a log collector.
        #[arg(long, env = "ADUAN_LOG_FORMAT", default_value = "text")]
        log_format: LogFormat,
        /// The government whose letterhead (kop surat) the BA page carries above the
        /// agency's name and address: `Pemerintah Kabupaten Kapuas`.
        #[arg(long, env = "ADUAN_GOVERNMENT")]
        government: Option<String>,
        /// The Ed25519 key (`aduan checkpoint` makes one) that signs the checkpoints
        /// the web console offers the auditors; without it the console offers none.
        #[arg(long, env = "ADUAN_SIGNING_KEY")]
        signing_key: Option<PathBuf>,
        /// Notifications: the channels and how they are retried.
        #[command(flatten)]
        notify: Box<NotifyArgs>,
    },
    /// The configuration file: `check` reads it, checks every setting and says which
    /// ones a flag or an environment variable overrides.
    Config {
        /// What to do.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage the people who sign in to the web console (programs use tokens).
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
    },
    /// The outbox of notifications: what waits, what was sent, what is dead, and
    /// bringing dead messages back.
    Outbox {
        /// What to do.
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Manage API tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The agency registry: the agencies tokens may name and complaints may be
    /// disposed to.
    Agency {
        /// What to do.
        #[command(subcommand)]
        action: AgencyAction,
    },
    /// Walk sample complaints of Kabupaten Kapuas through the whole SOP into the store,
    /// then print one complaint's timeline, the complaint list and the SLA clocks. Its
    /// three weeks end on the last Monday on or before today (WIB) whose weeks hold no
    /// holiday; a database that holds the demo replays the weeks it was loaded with.
    Demo {
        /// End the weeks by this day instead of today (YYYY-MM-DD).
        #[arg(long)]
        ends: Option<chrono::NaiveDate>,
        /// Also add the demo's people to the web console (UPP, each agency's liaison
        /// officer and head, the coordinator, APIP) and print each one's one-time
        /// set-password link under this address (`http://127.0.0.1:8080`). A person
        /// added before gets a new link.
        #[arg(long, value_name = "BASE_URL")]
        people: Option<String>,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Bring a plain sqlite-es or postgres-es store of complaints under aduan: number,
    /// chain and project every event, or change nothing. Other databases are refused.
    Adopt,
    /// Rebuild projections from the log, with progress.
    Replay {
        /// Only this projection (`complaints` or `timeline`).
        #[arg(long)]
        projection: Option<String>,
    },
    /// The SLA board: running duties with their deadlines. Read-only.
    Sla {
        /// Only duties in this state: breached, at-risk, on-track or paused.
        #[arg(long)]
        status: Option<BoardStatus>,
        /// Judge deadlines at this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    /// Walk the whole log and check every hash; with a checkpoint, also that the log
    /// still extends it. Exits non-zero naming the first complaint and sequence that fail.
    /// Read-only: works on a read-only copy.
    Verify {
        /// A checkpoint file written by `aduan checkpoint` (kept by the auditor).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The auditor's copy of the signing public key; the checkpoint must match it.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Verify an export file offline instead of the database.
        #[arg(long)]
        export: Option<PathBuf>,
        /// The export's format.
        #[arg(long, default_value = "jsonl")]
        format: ExportFormat,
    },
    /// Verify the log and write a signed checkpoint of it as it is now. Reads the database
    /// only (writes the checkpoint file, and the key if it is new).
    Checkpoint {
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The Ed25519 signing key; created (with KEY.pub beside it) if missing.
        #[arg(long, default_value = "aduan-signing.key")]
        key: PathBuf,
    },
    /// Stream the whole log, or one complaint, for auditors, with every hash. Read-only.
    /// (`aduan export lapor` writes the follow-ups for LAPOR!-SP4N instead.)
    #[command(args_conflicts_with_subcommands = true)]
    Export {
        /// Something else than the audit export.
        #[command(subcommand)]
        to: Option<ExportTo>,
        /// jsonl or csv.
        #[arg(long, default_value = "jsonl")]
        format: ExportFormat,
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only this complaint.
        #[arg(long)]
        complaint: Option<String>,
    },
    /// Reports in from elsewhere.
    Import {
        /// From where.
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// A complaint's state and timeline as of an instant, rebuilt from the log alone.
    /// Read-only.
    History {
        /// The complaint id.
        id: String,
        /// The instant (RFC 3339); default now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// Show the complainant's identity (with `--json`): the read is recorded in
        /// `identity-reads` under `--as`, as reads over HTTP are; without it the
        /// identity is shown as hidden.
        #[arg(long, requires = "user")]
        reveal_identity: bool,
        /// Who reads the identity (a user name, recorded).
        #[arg(long = "as")]
        user: Option<String>,
    },
    /// Where the store stands: log head, projections (place, lag, error), complaints set
    /// aside on an unreadable event, and a probe write. Exits non-zero when anything
    /// needs an operator.
    Status,
    /// Take a complaint that the projections set aside (an event they could not read)
    /// back into the views, after the fix (an upcaster, say).
    Resume {
        /// The complaint id.
        id: String,
    },
    /// Erase the complainant's identity of a complaint (UU 27/2022): records who, when
    /// and on which legal basis, and destroys the complaint's key; every read shows the
    /// identity as erased from then on. The workflow goes on.
    EraseIdentity {
        /// The complaint id.
        id: String,
        /// The legal basis and the request it answers.
        #[arg(long)]
        reason: String,
        /// Who asks (a UPP user name).
        #[arg(long = "as", default_value = "operator")]
        user: String,
    },
    /// List the registrations whose complainant's identity the log holds in plain
    /// (written before identities were sealed, or adopted): they cannot be sealed
    /// afterwards without breaking the hash chain; every registration since is sealed.
    PlainIdentities,
    /// The key-encryption key.
    Key {
        /// What to do.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// The holiday table amendment that judges deadlines: recorded in the database with
    /// its history; every aduan on the database judges with the one in force.
    Calendar {
        /// What to do.
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// The SLA policy that judges deadlines: recorded in the database with its
    /// history; every aduan on the database judges with the one in force.
    Policy {
        /// What to do.
        #[command(subcommand)]
        action: PolicyAction,
    },
}

/// What `aduan import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// Register the reports of a LAPOR!-SP4N export (JSON Lines or CSV with LAPOR!'s
    /// field names, docs/lapor.md), each once: its tracking number is its complaint's
    /// id, so a report already registered is found and left as it is. Reports LAPOR!
    /// has disposed arrive disposed, with LAPOR!'s dates. A line that cannot be
    /// imported is refused with its number, field and reason, and the rest go on;
    /// attachments are read from the file's folder. Exits 1 when a line was refused.
    Lapor {
        /// The export file (`.csv` is read as CSV, anything else as JSON Lines).
        file: PathBuf,
        /// Read the file as this format whatever its name.
        #[arg(long)]
        format: Option<crate::lapor::Format>,
        /// Who imports (a UPP user name, recorded with every report).
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// Folder for the attachments (content-addressed; `serve`'s folder).
        #[arg(long, env = "ADUAN_EVIDENCE_DIR", default_value = "aduan-evidence")]
        evidence_dir: PathBuf,
        /// Largest attachment, in bytes.
        #[arg(long, env = "ADUAN_EVIDENCE_LIMIT", default_value_t = 10 * 1024 * 1024)]
        evidence_limit: usize,
    },
}

/// What `aduan export` writes besides the audit export.
#[derive(Debug, Subcommand)]
pub enum ExportTo {
    /// The follow-ups (progress updates, responses, closings) recorded since the last
    /// batch, in the shape an operator uploads to LAPOR!-SP4N. Each follow-up is in
    /// exactly one batch; the batch is recorded, and `--batch N` writes it again.
    Lapor {
        /// Leave out follow-ups recorded before this date (2026-11-01, local time) or
        /// instant (RFC 3339). They are not exported later either.
        #[arg(long, conflicts_with = "batch")]
        since: Option<String>,
        /// Write batch N again (the same rows) instead of making a new one.
        #[arg(long)]
        batch: Option<i64>,
        /// csv or jsonl.
        #[arg(long, default_value = "csv")]
        format: crate::lapor::ExportFormat,
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Who makes the batch (a UPP user name, recorded).
        #[arg(long = "as", value_name = "USER", required_unless_present = "batch")]
        user: Option<String>,
    },
}

/// Calendar verbs.
#[derive(Debug, Subcommand)]
pub enum CalendarAction {
    /// Record a holiday table amendment (CSV: date,kind,name_id,name_en,source; laid
    /// over the shipped table) as the new version and recompute the running deadlines
    /// with it. A file that does not parse is refused naming the line; the table in
    /// force again records nothing.
    Import {
        /// The amendment file.
        file: PathBuf,
        /// Who makes the change (recorded).
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// Why (recorded), e.g. the decree.
        #[arg(long)]
        note: Option<String>,
    },
    /// The amendment in force (or version N): its fingerprint, who set it and when, and
    /// its rows; with --year, every entry of the table in force that year. Read-only.
    Show {
        /// A recorded version instead of the one in force.
        #[arg(long)]
        version: Option<u32>,
        /// Also list the holidays, cuti bersama and working days in force this year.
        #[arg(long)]
        year: Option<i32>,
    },
    /// Every version with the fingerprint verdicts cite (`judged_by.calendar`), who set
    /// it and when. Read-only.
    History,
}

/// Policy verbs.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Record an SLA policy (JSON: steps, by_category, at_risk_days, time_zone,
    /// identity_retention_years, …) as the new version and recompute the running
    /// deadlines with it. A file that is not a policy is refused; the policy in force
    /// again records nothing.
    Set {
        /// The policy file.
        file: PathBuf,
        /// Who makes the change (recorded).
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// Why (recorded).
        #[arg(long)]
        note: Option<String>,
    },
    /// The policy in force (or version N): its fingerprint, who set it and when, and
    /// every field with the value that applies. Read-only.
    Show {
        /// A recorded version instead of the one in force.
        #[arg(long)]
        version: Option<u32>,
    },
    /// Every version with the fingerprint verdicts cite (`judged_by.policy`), who set it
    /// and when. Read-only.
    History,
}

/// Key verbs.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Re-wrap every complaint's key with a new key-encryption key, written to a new
    /// file; then use that file (and back it up) and destroy the old one.
    Rotate {
        /// The new key file (must not exist).
        #[arg(long)]
        new_kek_file: PathBuf,
    },
}

/// Configuration verbs.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check the file `--config` (or `ADUAN_CONFIG`) names and show what it sets.
    Check,
}

/// Verbs for the people of the web console.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a person and print their one-time link to set a password (valid 72 hours).
    Add {
        /// The user name they sign in with.
        name: String,
        /// upp, liaison, head, coordinator or apip.
        #[arg(long)]
        role: Role,
        /// The agency code (liaison and head only).
        #[arg(long)]
        agency: Option<String>,
        /// The e-mail address notifications are sent to.
        #[arg(long)]
        email: Option<String>,
        /// The console's address as people reach it, for the link.
        #[arg(long, env = "ADUAN_BASE_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Set or forget a person's e-mail address for notifications.
    Email {
        /// The user name.
        name: String,
        /// The address (omit with `--none`).
        #[arg(required_unless_present = "none", conflicts_with = "none")]
        address: Option<String>,
        /// Forget the address: the person gets no notification.
        #[arg(long)]
        none: bool,
    },
    /// A new one-time link for a person who forgot their password.
    Link {
        /// The user name.
        name: String,
        /// The console's address as people reach it, for the link.
        #[arg(long, env = "ADUAN_BASE_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Disable a person: no more sign-ins, their sessions end at once.
    Disable {
        /// The user name.
        name: String,
    },
    /// List the people (never a password or a link).
    List,
}

/// Outbox verbs.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List the messages, oldest first.
    List {
        /// Only those in this state: pending, sent, dead or skipped.
        #[arg(long)]
        state: Option<workflow_store::outbox::DeliveryState>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Make a dead (or skipped) message pending again, due now, its attempts counted
    /// afresh.
    Retry {
        /// The message's key (as `outbox list` shows it).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        key: Option<String>,
        /// Every dead message.
        #[arg(long)]
        all_dead: bool,
    },
}

/// Token verbs.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token for a user and print it once (only its hash is stored).
    Create {
        /// The user's name.
        #[arg(long)]
        user: String,
        /// upp, liaison, head, coordinator, apip or system.
        #[arg(long)]
        role: Role,
        /// The agency's code, as registered (`aduan agency list`): required for liaison
        /// and head, refused for the others.
        #[arg(long)]
        agency: Option<String>,
        /// Refuse the token after this long: `90d`, `12h`, `30min`. Default: never.
        #[arg(long, value_parser = parse_lifetime, conflicts_with = "expires_at")]
        expires_in: Option<chrono::TimeDelta>,
        /// Refuse the token from this instant (RFC 3339), or after this date
        /// (`YYYY-MM-DD`, the last day it is accepted, in the SLA policy's time zone).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// Every token issued: user, role, agency, created, expires, last used, revoked
    /// (never the token itself).
    List,
    /// Revoke every token of a user.
    Revoke {
        /// The user's name.
        #[arg(long)]
        user: String,
    },
}

/// A token's lifetime: `90d`, `12h`, `30min`, `45s`; more than zero.
pub fn parse_lifetime(text: &str) -> Result<chrono::TimeDelta, String> {
    let trimmed = text.trim();
    let lifetime = match trimmed.strip_suffix('d') {
        Some(days) => {
            let days: i64 = days
                .parse()
                .map_err(|_| format!("`{text}` is not a lifetime (90d, 12h, 30min)"))?;
            chrono::TimeDelta::try_days(days).ok_or_else(|| format!("`{text}` is too long"))?
        }
        None => chrono::TimeDelta::from_std(parse_duration(trimmed)?)
            .map_err(|_| format!("`{text}` is too long"))?,
    };
    if lifetime <= chrono::TimeDelta::zero() {
        return Err("must be more than 0".into());
    }
    Ok(lifetime)
}

/// The details of an agency the operator gives.
#[derive(Debug, clap::Args)]
pub struct AgencyArgs {
    /// Its office's address, for a letterhead.
    #[arg(long)]
    pub address: Option<String>,
    /// The time zone its office keeps: WIB, WITA or WIT.
    #[arg(long)]
    pub time_zone: Option<workflow_store::agency::AgencyZone>,
    /// Its head's name as it is printed, with titles.
    #[arg(long, requires = "head_nip")]
    pub head_name: Option<String>,
    /// Its head's civil-servant number (NIP), 18 digits.
    #[arg(long, requires = "head_name")]
    pub head_nip: Option<String>,
}

/// Agency verbs.
#[derive(Debug, Subcommand)]
pub enum AgencyAction {
    /// Register an agency. Registering it again with the same details changes nothing;
    /// with others it is refused (use `update`).
    Add {
        /// Its code: upper-case letters and digits (`PUPR`, `DINKES`).
        code: String,
        /// Its name (`Dinas Pekerjaan Umum dan Penataan Ruang`).
        name: String,
        /// The rest.
        #[command(flatten)]
        details: AgencyArgs,
    },
    /// Every registered agency, retired ones too.
    List,
    /// Change an agency's details: what is named is replaced, the rest kept.
    Update {
        /// Its code.
        code: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// The new details.
        #[command(flatten)]
        details: AgencyArgs,
        /// Forget its address.
        #[arg(long, conflicts_with = "address")]
        no_address: bool,
        /// Forget its time zone.
        #[arg(long, conflicts_with = "time_zone")]
        no_time_zone: bool,
        /// Forget its head.
        #[arg(long, conflicts_with_all = ["head_name", "head_nip"])]
        no_head: bool,
        /// Take a retired agency back into service.
        #[arg(long)]
        reinstate: bool,
    },
    /// Remove an agency that no token, complaint or upload names yet (a mistake); one
    /// in use can only be retired.
    Remove {
        /// Its code.
        code: String,
        /// Retire it instead: kept for the records that name it, refused for new
        /// tokens and new complaints.
        #[arg(long)]
        retire: bool,
    },
}

/// Opens the store the arguments name, judging with the settings it records.
pub async fn open_store(url: &str, options: StoreOptions) -> anyhow::Result<Store> {
    Ok(Store::open_with_options(url, SettingsSource::Stored, options).await?)
}

/// Runs the chosen verb.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(refusal) = cli.retired() {
        anyhow::bail!(refusal);
    }
    if let Command::Config {
        action: ConfigAction::Check,
    } = &cli.command
    {
        return config_check(cli.json);
    }
    // Verifying an export needs no database.
    if let Command::Verify {
        export: Some(path),
        format,
        checkpoint,
        public_key,
    } = &cli.command
    {
        return crate::audit::verify_file(
            path,
            *format,
            checkpoint.as_deref(),
            public_key.as_deref(),
            cli.json,
        );
    }
    let options = cli.store_options();
    if let Command::Adopt = &cli.command {
        return adopt(&cli.database_url, options, cli.json).await;
    }
    // The auditor's verbs read and never write: they open the database read-only, so
    // they work on a read-only copy and never create or migrate one.
    let read_only = matches!(
        cli.command,
        Command::Verify { .. }
            | Command::Checkpoint { .. }
            | Command::Export { to: None, .. }
            | Command::Export {
                to: Some(ExportTo::Lapor { batch: Some(_), .. }),
                ..
            }
            | Command::History {
                reveal_identity: false,
                ..
            }
            | Command::Sla { .. }
            | Command::PlainIdentities
            | Command::Calendar {
                action: CalendarAction::Show { .. } | CalendarAction::History
            }
            | Command::Policy {
                action: PolicyAction::Show { .. } | PolicyAction::History
            }
    );
    let store = open_store(&cli.database_url, options.read_only(read_only)).await?;
    let result = match cli.command {
        Command::Demo { ends, people } => {
            crate::demo::run(&store, cli.json, ends).await?;
            match people {
                Some(base_url) => crate::demo::people(&store, &base_url, cli.json).await,
                None => Ok(()),
            }
        }
        Command::Serve {
            listen,
            evidence_dir,
            evidence_limit,
            sla_interval,
            poll,
            metrics_public,
            header_read_timeout,
            body_timeout,
            max_connections,
            max_in_flight,
            log_format,
            government,
            signing_key,
            notify,
        } => {
            let notify = notify.config()?;
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let logs = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr);
            let _ = match log_format {
                LogFormat::Text => logs
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .try_init(),
                LogFormat::Json => logs.json().with_ansi(false).try_init(),
            };
            let config = crate::serve::ServeConfig {
                listen,
                evidence_dir,
                evidence_limit,
                sla_interval: std::time::Duration::from_secs(sla_interval.max(1)),
                poll: std::time::Duration::from_secs(poll.max(1)),
                metrics_public,
                government,
                signing_key,
                notify,
                limits: crate::serve::Limits {
                    header_read_timeout,
                    body_timeout,
                    max_connections: max_connections as usize,
                    max_in_flight: max_in_flight as usize,
                },
            };
            return crate::serve::serve(store, config).await;
        }
        Command::Token { action } => crate::token::run(&store, action, cli.json).await,
        Command::Agency { action } => crate::agency::run(&store, action, cli.json).await,
        Command::User { action } => crate::users::run(&store, action, cli.json).await,
        Command::Outbox { action } => crate::outbox::run(&store, action, cli.json).await,
        Command::Migrate => {
            if cli.json {
                crate::outln!(
                    "{}",
                    serde_json::json!({ "migrated": true, "backend": format!("{:?}", store.backend()).to_lowercase() })
                );
            } else {
                eprintln!("migrations applied to {:?} store", store.backend());
            }
            Ok(())
        }
        Command::Adopt => unreachable!("adopted above"),
        Command::Config { .. } => unreachable!("checked above"),
        Command::Replay { projection } => {
            crate::verbs::replay(&store, projection.as_deref(), cli.json).await
        }
        Command::Sla { status, at } => {
            crate::verbs::sla(&store, status, at.unwrap_or_else(Utc::now), cli.json).await
        }
        Command::Verify {
            checkpoint,
            public_key,
            ..
        } => {
            crate::audit::verify(
                &store,
                checkpoint.as_deref(),
                public_key.as_deref(),
                cli.json,
            )
            .await
        }
        Command::Checkpoint { out, key } => {
            crate::audit::checkpoint(&store, out.as_deref(), &key, cli.json).await
        }
        Command::Export {
            to:
                Some(ExportTo::Lapor {
                    since,
                    batch,
                    format,
                    out,
                    user,
                }),
            ..
        } => {
            crate::lapor::verbs::export(
                &store,
                crate::lapor::verbs::ExportRequest {
                    since: since.as_deref(),
                    batch,
                    out: out.as_deref(),
                    format,
                    user: user.as_deref().unwrap_or("operator"),
                },
                cli.json,
            )
            .await
        }
        Command::Import {
            from:
                ImportFrom::Lapor {
                    file,
                    format,
                    user,
                    evidence_dir,
                    evidence_limit,
                },
        } => {
            let evidence = crate::evidence::EvidenceStore::new(evidence_dir, evidence_limit);
            crate::lapor::verbs::import(&store, &file, format, &user, evidence, cli.json).await
        }
        Command::Export {
            to: None,
            format,
            out,
            complaint,
        } => {
            crate::audit::export(
                &store,
                format,
                out.as_deref(),
                complaint.as_deref(),
                cli.json,
            )
            .await
        }
        Command::History {
            id,
            as_of,
            reveal_identity,
            user,
        } => {
            let reader = match (reveal_identity, user) {
                (true, Some(user)) => crate::verbs::HistoryReader::Revealing(user),
                _ => crate::verbs::HistoryReader::Hiding,
            };
            crate::verbs::history(
                &store,
                &id,
                as_of.unwrap_or_else(Utc::now),
                reader,
                cli.json,
            )
            .await
        }
        Command::Status => crate::verbs::status(&store, cli.json).await,
        Command::Resume { id } => crate::verbs::resume(&store, &id, cli.json).await,
        Command::EraseIdentity { id, reason, user } => {
            crate::verbs::erase_identity(&store, &id, &reason, &user, cli.json).await
        }
        Command::PlainIdentities => crate::verbs::plain_identities(&store, cli.json).await,
        Command::Key {
            action: KeyAction::Rotate { new_kek_file },
        } => crate::verbs::rotate_key(&store, &new_kek_file, cli.json).await,
        Command::Calendar { action } => match action {
            CalendarAction::Import { file, user, note } => {
                let kind = SettingKind::Calendar;
                crate::settings::change(&store, kind, &file, &user, note.as_deref(), cli.json).await
            }
            CalendarAction::Show { version, year } => {
                crate::settings::show_calendar(&store, version, year, cli.json).await
            }
            CalendarAction::History => {
                crate::settings::history(&store, SettingKind::Calendar, cli.json).await
            }
        },
        Command::Policy { action } => match action {
            PolicyAction::Set { file, user, note } => {
                let kind = SettingKind::Policy;
                crate::settings::change(&store, kind, &file, &user, note.as_deref(), cli.json).await
            }
            PolicyAction::Show { version } => {
                crate::settings::show_policy(&store, version, cli.json).await
            }
            PolicyAction::History => {
                crate::settings::history(&store, SettingKind::Policy, cli.json).await
            }
        },
    };
    store.close().await;
    result
}

/// `aduan config check`: the file was read and checked before the arguments were
/// parsed (a bad one never gets here); this says what it sets and what overrides it.
fn config_check(json: bool) -> anyhow::Result<()> {
    let Some(loaded) = crate::config::loaded() else {
        anyhow::bail!(
            "no configuration file: name one with --config FILE or {}",
            crate::config::ENV
        );
    };
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(loaded)?);
        return Ok(());
    }
    let mut t = crate::table::Table::new(&["setting", "value", "in force"]);
    for s in &loaded.settings {
        let key = match &s.section {
            Some(section) => format!("{section}.{}", s.key),
            None => s.key.clone(),
        };
        let used = match s.source {
            crate::config::Source::File => "from the file",
            crate::config::Source::Environment => "overridden by its environment variable",
            crate::config::Source::CommandLine => "overridden by a flag",
        };
        t.row(vec![key, s.value.clone(), used.to_owned()]);
    }
    crate::outln!(
        "{}: every setting is known and valid\n{}",
        loaded.path.display(),
        t.render()
    );
    Ok(())
}

/// `aduan adopt`: adopts the store, then builds the views from its events.
async fn adopt(url: &str, options: StoreOptions, json: bool) -> anyhow::Result<()> {
    let report = Store::adopt(url).await?;
    let store = open_store(url, options).await?;
    let projected = store.projector().catch_up().await;
    store.close().await;
    projected?;
    if json {
        crate::outln!(
            "{}",
            serde_json::json!({
                "events": report.events,
                "complaints": report.complaints,
                "left_as_they_were": report.left_as_they_were,
            })
        );
    } else {
        crate::outln!(
            "adopted {} events of {} complaints; views built",
            report.events,
            report.complaints
        );
        if !report.left_as_they_were.is_empty() {
            eprintln!(
                "left as they were (aduan never reads them): {}",
                report.left_as_they_were.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, parse_lifetime};
    use chrono::TimeDelta;
    use std::time::Duration;

    #[test]
    fn token_lifetimes_read_in_days_hours_and_minutes() {
        assert_eq!(parse_lifetime("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_lifetime("12h"), Ok(TimeDelta::hours(12)));
        assert_eq!(parse_lifetime("30min"), Ok(TimeDelta::minutes(30)));
        for bad in ["0d", "0", "-3d", "d", "soon", "3 weeks"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
