//! The people who sign in to the web console, and their sessions: records a host keeps
//! in the engine's database so that every host on it shares them (as it does the API
//! tokens of programs, [`crate::access`]).
//!
//! - A person is added with a role (and the agency of a liaison officer or head) and a
//!   **one-time link secret** to set their password; only its SHA-256 is stored, and it
//!   lapses after [`SET_PASSWORD_FOR`].
//! - Passwords are kept as **argon2id** hashes (PHC strings).
//! - **Lock-out**: [`MAX_FAILURES`] wrong passwords in a row lock the person out for
//!   [`LOCKED_FOR`]; the answer to a wrong name, a wrong password, a person not yet set up
//!   or disabled is the same, so that no one learns which names exist.
//! - A **session** is a random secret in a cookie (only its SHA-256 is stored), with a
//!   form token (CSRF) of its own; it ends after [`IDLE_FOR`] without use, at the latest
//!   [`LASTS_AT_MOST`] after sign-in, at sign-out, or when the person is disabled. Every
//!   sign-in makes a new session (no session fixation).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use workflow_core::{Actor, AgencyCode, Role, UserId};

use crate::chain::hex;
use crate::codec::{instant, instant_opt, named};
use crate::error::StoreError;
use crate::store::Store;
use crate::timestamp;

/// How long a set-password link is valid.
pub const SET_PASSWORD_FOR: Duration = Duration::hours(72);
/// Wrong passwords in a row before a lock-out.
pub const MAX_FAILURES: i64 = 5;
/// How long a lock-out lasts.
pub const LOCKED_FOR: Duration = Duration::minutes(15);
/// A session unused this long has ended.
pub const IDLE_FOR: Duration = Duration::hours(2);
/// A session ends this long after sign-in whatever its use.
pub const LASTS_AT_MOST: Duration = Duration::hours(12);
/// The shortest password taken.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How often a session's last use is written (a read is not a write each time).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A person of the console as listed (never with a secret or a hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Who, in which role and agency.
    pub actor: Actor,
    /// Whether a password has been set.
    pub password_set: bool,
    /// Locked out until then, after repeated wrong passwords.
    pub locked_until: Option<DateTime<Utc>>,
    /// Disabled: may not sign in, sessions ended.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When added.
    pub created_at: DateTime<Utc>,
}

/// Why a sign-in was refused. A wrong name and a wrong password are one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInRefused {
    /// The name and password do not match a person who may sign in.
    WrongCredentials,
    /// Too many wrong passwords: locked out until then.
    Locked {
        /// When the lock-out ends.
        until: DateTime<Utc>,
    },
}

/// Why a password was not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordRefused {
    /// The link is unknown, used or lapsed.
    LinkInvalid,
    /// Shorter than [`MIN_PASSWORD_CHARS`].
    TooShort,
}

/// A new session: the cookie's secret (shown once) and its form token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The cookie's value.
    pub secret: String,
    /// The token every form of the session carries.
    pub csrf: String,
}

/// A live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in.
    pub actor: Actor,
    /// The session's form token.
    pub csrf: String,
}

fn sha256(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn random_secret(what: &str) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| StoreError::backend(format!("no randomness for {what}"), e))?;
    Ok(hex(&bytes))
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt)
        .map_err(|e| StoreError::backend("no randomness for a salt", e))?;
    let hash: argon2::PasswordHash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| StoreError::defect(format!("hashing a password: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches `phc`. A hash that does not parse matches nothing.
fn password_matches(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to check against when there is no person, so that a wrong name takes as long
/// as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never set").unwrap_or_default())
}

fn person_row(r: &sqlx::any::AnyRow) -> Result<Person, StoreError> {
    let name: String = r.try_get("user_name")?;
    Ok(Person {
        actor: Actor {
            user: UserId(name.clone()),
            role: named(&name, "role", &r.try_get::<String, _>("role")?)?,
            agency: r.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        },
        password_set: r.try_get::<Option<String>, _>("password_hash")?.is_some(),
        locked_until: instant_opt(
            &name,
            "locked_until",
            r.try_get::<Option<String>, _>("locked_until")?.as_deref(),
        )?,
        disabled_at: instant_opt(
            &name,
            "disabled_at",
            r.try_get::<Option<String>, _>("disabled_at")?.as_deref(),
        )?,
        created_at: instant(&name, "created_at", &r.try_get::<String, _>("created_at")?)?,
    })
}

impl Store {
    /// Adds a person who signs in to the console, and returns the secret of their
    /// one-time set-password link (shown once; valid for [`SET_PASSWORD_FOR`]). A
    /// liaison officer or head needs an agency; the others have none. A name that
    /// exists is refused.
    pub async fn add_person(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        self.log().db().writable("adding a person")?;
        let needs_agency = matches!(actor.role, Role::Liaison | Role::Head);
        if needs_agency != actor.agency.is_some() {
            return Err(StoreError::Invalid(if needs_agency {
                format!("a {} works for an agency: name it", actor.role)
            } else {
                format!("a {} works for no agency", actor.role)
            }));
        }
        if actor.role == Role::System {
            return Err(StoreError::Invalid(
                "the system does not sign in; give a program a token".into(),
            ));
        }
        let secret = random_secret("a set-password link")?;
        let done = sqlx::query(
            "INSERT INTO people (user_name, role, agency, set_password_hash, set_password_expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_name) DO NOTHING",
        )
        .bind(&actor.user.0)
        .bind(actor.role.as_str())
        .bind(actor.agency.as_ref().map(|a| a.0.clone()))
        .bind(sha256(&secret))
        .bind(timestamp(now + SET_PASSWORD_FOR))
        .bind(timestamp(now))
        .execute(&self.log().db().any)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!(
                "{} exists already",
                actor.user
            )));
        }
        Ok(secret)
    }

    /// A new one-time link for a person who exists (a forgotten password): their
    /// password stays until the link is used.
    pub async fn renew_password_link(
        &self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        self.log().db().writable("renewing a set-password link")?;
        let secret = random_secret("a set-password link")?;
        let done = sqlx::query(
            "UPDATE people SET set_password_hash = $1, set_password_expires_at = $2 WHERE user_name = $3",
        )
        .bind(sha256(&secret))
        .bind(timestamp(now + SET_PASSWORD_FOR))
        .bind(user)
        .execute(&self.log().db().any)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("person {user}")));
        }
        Ok(secret)
    }

    /// Whose link `secret` is, if it is valid now.
    pub async fn password_link(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Actor>, StoreError> {
        let row = sqlx::query(
            "SELECT user_name, role, agency, password_hash, locked_until, disabled_at, created_at, set_password_expires_at \
             FROM people WHERE set_password_hash = $1 AND disabled_at IS NULL",
        )
        .bind(sha256(secret))
        .fetch_optional(&self.log().db().any)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let person = person_row(&row)?;
        let until: String = row.try_get("set_password_expires_at")?;
        Ok(
            (instant(&person.actor.user.0, "set_password_expires_at", &until)? > now)
                .then_some(person.actor),
        )
    }

    /// Sets a password through a one-time link, which is then used up. A new password
    /// also lifts a lock-out.
    pub async fn set_password(
        &self,
        secret: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Actor, PasswordRefused>, StoreError> {
        self.log().db().writable("setting a password")?;
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Ok(Err(PasswordRefused::TooShort));
        }
        let Some(actor) = self.password_link(secret, now).await? else {
            return Ok(Err(PasswordRefused::LinkInvalid));
        };
        let done = sqlx::query(
            "UPDATE people SET password_hash = $1, set_password_hash = NULL, set_password_expires_at = NULL, \
             failed_attempts = 0, locked_until = NULL WHERE user_name = $2 AND set_password_hash = $3",
        )
        .bind(hash_password(password)?)
        .bind(&actor.user.0)
        .bind(sha256(secret))
        .execute(&self.log().db().any)
        .await?;
        // Used by a concurrent request meanwhile: one use only.
        if done.rows_affected() == 0 {
            return Ok(Err(PasswordRefused::LinkInvalid));
        }
        Ok(Ok(actor))
    }

    /// Signs a person in: a new session, or why not. Wrong passwords count towards a
    /// lock-out; a right one resets the count.
    pub async fn sign_in(
        &self,
        user: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<NewSession, SignInRefused>, StoreError> {
        self.log().db().writable("signing in")?;
        let db = &self.log().db().any;
        let row = sqlx::query(
            "SELECT user_name, role, agency, password_hash, failed_attempts, locked_until, disabled_at, created_at \
             FROM people WHERE user_name = $1",
        )
        .bind(user)
        .fetch_optional(db)
        .await?;
        let Some(row) = row else {
            password_matches(password, decoy_hash());
            return Ok(Err(SignInRefused::WrongCredentials));
        };
        let person = person_row(&row)?;
        if let Some(until) = person.locked_until.filter(|u| *u > now) {
            return Ok(Err(SignInRefused::Locked { until }));
        }
        let hash: Option<String> = row.try_get("password_hash")?;
        let matches = password_matches(password, hash.as_deref().unwrap_or(decoy_hash()));
        if !matches || hash.is_none() || person.disabled_at.is_some() {
            if hash.is_some() && person.disabled_at.is_none() {
                let failures = row.try_get::<i64, _>("failed_attempts")? + 1;
                let locked = (failures >= MAX_FAILURES).then(|| now + LOCKED_FOR);
                sqlx::query(
                    "UPDATE people SET failed_attempts = $1, locked_until = $2 WHERE user_name = $3",
                )
                .bind(if locked.is_some() { 0 } else { failures })
                .bind(locked.map(timestamp))
                .bind(user)
                .execute(db)
                .await?;
                if let Some(until) = locked {
                    return Ok(Err(SignInRefused::Locked { until }));
                }
            }
            return Ok(Err(SignInRefused::WrongCredentials));
        }
        sqlx::query(
            "UPDATE people SET failed_attempts = 0, locked_until = NULL WHERE user_name = $1",
        )
        .bind(user)
        .execute(db)
        .await?;
        let session = NewSession {
            secret: random_secret("a session")?,
            csrf: random_secret("a form token")?,
        };
        sqlx::query(
            "INSERT INTO sessions (session_hash, user_name, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(sha256(&session.secret))
        .bind(user)
        .bind(&session.csrf)
        .bind(timestamp(now))
        .bind(timestamp(now + LASTS_AT_MOST))
        .execute(db)
        .await?;
        Ok(Ok(session))
    }

    /// The live session of a cookie's secret: not ended, not past its limit, used within
    /// [`IDLE_FOR`], its person not disabled. Notes the use (at most once a minute; not
    /// on a read-only store).
    pub async fn session(
        &self,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let db = &self.log().db().any;
        let row = sqlx::query(
            "SELECT s.csrf_token, s.last_seen_at, s.expires_at, p.user_name, p.role, p.agency, p.password_hash, \
             p.locked_until, p.disabled_at, p.created_at FROM sessions s JOIN people p ON p.user_name = s.user_name \
             WHERE s.session_hash = $1 AND s.ended_at IS NULL AND p.disabled_at IS NULL",
        )
        .bind(sha256(secret))
        .fetch_optional(db)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let person = person_row(&row)?;
        let name = &person.actor.user.0;
        let last_seen = instant(
            name,
            "last_seen_at",
            &row.try_get::<String, _>("last_seen_at")?,
        )?;
        let expires = instant(name, "expires_at", &row.try_get::<String, _>("expires_at")?)?;
        if now >= expires || now - last_seen >= IDLE_FOR {
            return Ok(None);
        }
        if now - last_seen >= TOUCH_EVERY && self.log().db().writable("").is_ok() {
            // A failed note of use fails no page: the session is still good.
            if let Err(e) =
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE session_hash = $2")
                    .bind(timestamp(now))
                    .bind(sha256(secret))
                    .execute(db)
                    .await
            {
                tracing::warn!(error = %e, "a session's last use was not noted");
            }
        }
        Ok(Some(Session {
            actor: person.actor,
            csrf: row.try_get("csrf_token")?,
        }))
    }

    /// Ends a session (sign-out). Ending one that ended already changes nothing.
    pub async fn sign_out(&self, secret: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.log().db().writable("signing out")?;
        sqlx::query(
            "UPDATE sessions SET ended_at = $1 WHERE session_hash = $2 AND ended_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(sha256(secret))
        .execute(&self.log().db().any)
        .await?;
        Ok(())
    }

    /// Disables a person: no more sign-ins, every session ended. Returns whether there
    /// was such a person.
    pub async fn disable_person(&self, user: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.log().db().writable("disabling a person")?;
        let db = self.log().db();
        let mut tx = db.begin(&db.any, None).await?;
        let done = sqlx::query(
            "UPDATE people SET disabled_at = $1, set_password_hash = NULL WHERE user_name = $2 AND disabled_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(user)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_name = $2 AND ended_at IS NULL")
            .bind(timestamp(now))
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every person, by name.
    pub async fn people(&self) -> Result<Vec<Person>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_name, role, agency, password_hash, locked_until, disabled_at, created_at FROM people \
             ORDER BY user_name",
        )
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter().map(person_row).collect()
    }
}
