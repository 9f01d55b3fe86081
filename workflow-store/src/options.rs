//! How the engine opens its database.

use std::time::Duration;

/// Settings for [`Store::open_with_options`](crate::Store::open_with_options). The
/// defaults are what [`Store::open`](crate::Store::open) uses.
///
/// The three timeouts are set on every PostgreSQL session the engine opens (SQLite has
/// no such settings and ignores them). [`Duration::ZERO`] turns one off, as `0` does in
/// PostgreSQL. A statement cut short by one of them is answered as
/// [`StoreError::Unavailable`](crate::StoreError::Unavailable): retry later.
///
/// ```
/// use std::time::Duration;
/// use workflow_store::StoreOptions;
///
/// let options = StoreOptions::default()
///     .lock_timeout(Duration::from_secs(2))
///     .idle_in_transaction_timeout(Duration::from_secs(10));
/// assert_eq!(options.get_lock_timeout(), Duration::from_secs(2));
/// assert_eq!(options.get_statement_timeout(), StoreOptions::DEFAULT_STATEMENT_TIMEOUT);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    read_only: bool,
    lock_timeout: Duration,
    statement_timeout: Duration,
    idle_in_transaction_timeout: Duration,
    key_file: crate::keys::KeyFile,
    kept_states: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            lock_timeout: Self::DEFAULT_LOCK_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            idle_in_transaction_timeout: Self::DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT,
            key_file: crate::keys::KeyFile::Default,
            kept_states: Self::DEFAULT_KEPT_STATES,
        }
    }
}

impl StoreOptions {
    /// Default `lock_timeout`: 5 s.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default `statement_timeout`: 30 s.
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default `idle_in_transaction_session_timeout`: 15 s.
    pub const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(15);

    /// Default number of complaints' states kept in memory: 1,024.
    pub const DEFAULT_KEPT_STATES: usize = 1024;

    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key-encryption key's file (see [`crate::keys`]). By default a SQLite store
    /// keeps it beside the database (`PATH.key`), a PostgreSQL store in the working
    /// directory ([`crate::keys::DEFAULT_KEY_FILE`]).
    pub fn with_key_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.key_file = crate::keys::KeyFile::At(path.into());
        self
    }

    /// Where the key-encryption key comes from.
    pub fn key_file(&self) -> &crate::keys::KeyFile {
        &self.key_file
    }

    /// PostgreSQL `lock_timeout`: the longest a statement waits for a lock (the append
    /// lock every commit takes, a projection's checkpoint row) before it fails.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// PostgreSQL `statement_timeout`: the longest one statement of the engine may run.
    /// Migrations, audit walks and exports, and the switch-over of a replay are exempt:
    /// they may rightly take longer on a large log.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// PostgreSQL `idle_in_transaction_session_timeout`: the server ends a session of
    /// the engine that sits inside a transaction doing nothing for this long, rolling
    /// it back and releasing its locks.
    pub fn idle_in_transaction_timeout(mut self, timeout: Duration) -> Self {
        self.idle_in_transaction_timeout = timeout;
        self
    }

    /// How many complaints' states the store keeps in memory, each as this process
    /// last loaded or changed it (0: none). A command on a kept complaint reads from
    /// the log only the event the state was kept at (to check its chain head) and the
    /// events after it, instead of a snapshot's state and the events after that; the
    /// least recently used state goes first. A state is the size of the complaint's
    /// snapshot, a few kilobytes for most (decision 0039).
    pub fn kept_states(mut self, states: usize) -> Self {
        self.kept_states = states;
        self
    }

    /// How many complaints' states are kept in memory.
    pub fn get_kept_states(&self) -> usize {
        self.kept_states
    }

    /// Open the database read-only: see [`Store::open_read_only`](crate::Store::open_read_only).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether the database is opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The `lock_timeout` set.
    pub fn get_lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// The `statement_timeout` set.
    pub fn get_statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// The `idle_in_transaction_session_timeout` set.
    pub fn get_idle_in_transaction_timeout(&self) -> Duration {
        self.idle_in_transaction_timeout
    }
}
