//! The calendar and policy a store judges with now, shared by its engine and its
//! projector. Opened with the database's settings, it follows them. The engine judges a
//! command with the services last loaded and names their versions in the events'
//! metadata; the log commits them only while those are still the newest versions (a
//! condition of the insert, no read of its own), and when another process recorded a
//! change the command is judged again after a reload. The projector and the SLA monitor
//! look up the newest version of each kind (one indexed query) before they judge.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use sqlx::{AnyConnection, AnyPool};
use workflow_core::ComplaintServices;

use crate::error::StoreError;

/// The newest recorded version of each setting; 0 where none is (the built-in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Versions {
    pub calendar: u32,
    pub policy: u32,
}

impl fmt::Display for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = |v: u32| match v {
            0 => "built-in".to_owned(),
            v => format!("version {v}"),
        };
        write!(
            f,
            "calendar {}, policy {}",
            version(self.calendar),
            version(self.policy)
        )
    }
}

struct Now {
    services: ComplaintServices,
    versions: Versions,
}

/// The services in force, swapped whole when the settings change.
#[derive(Clone)]
pub(crate) struct InForce {
    now: Arc<RwLock<Now>>,
    /// Where to look for a newer setting; `None` for fixed services.
    follows: Option<AnyPool>,
}

impl InForce {
    /// Fixed services: never reloaded.
    pub(crate) fn fixed(services: ComplaintServices) -> Self {
        Self {
            now: Arc::new(RwLock::new(Now {
                services,
                versions: Versions::default(),
            })),
            follows: None,
        }
    }

    /// The settings recorded in the database `pool` reaches, loaded as `versions`.
    pub(crate) fn stored(pool: AnyPool, services: ComplaintServices, versions: Versions) -> Self {
        Self {
            now: Arc::new(RwLock::new(Now { services, versions })),
            follows: Some(pool),
        }
    }

    /// Whether these are the database's settings.
    pub(crate) fn follows(&self) -> bool {
        self.follows.is_some()
    }

    /// The services as last loaded.
    pub(crate) fn get(&self) -> ComplaintServices {
        self.now
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .services
            .clone()
    }

    /// The services as last loaded, with their versions (read together).
    pub(crate) fn current(&self) -> (ComplaintServices, Versions) {
        let now = self.now.read().unwrap_or_else(PoisonError::into_inner);
        (now.services.clone(), now.versions)
    }

    /// [`InForce::refresh`], with the versions of the services it answers.
    pub(crate) async fn refresh_current(
        &self,
    ) -> Result<(ComplaintServices, Versions), StoreError> {
        self.refresh().await?;
        Ok(self.current())
    }

    /// The versions last loaded.
    pub(crate) fn versions(&self) -> Versions {
        self.now
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .versions
    }

    /// The services in force now, reloaded first if the database has newer settings.
    pub(crate) async fn refresh(&self) -> Result<ComplaintServices, StoreError> {
        let Some(pool) = &self.follows else {
            return Ok(self.get());
        };
        let mut conn = pool.acquire().await?;
        self.refresh_in(&mut conn).await
    }

    /// [`InForce::refresh`] on a connection of the caller's: inside a transaction that
    /// holds the complaints checkpoint, the answer cannot go stale before it commits.
    pub(crate) async fn refresh_in(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<ComplaintServices, StoreError> {
        if self.follows.is_none() {
            return Ok(self.get());
        }
        if super::versions(conn).await? == self.versions() {
            return Ok(self.get());
        }
        let (services, versions) = super::load(conn).await?;
        tracing::info!(%versions, "the settings changed; judging with them from now on");
        self.install(services.clone(), versions);
        Ok(services)
    }

    /// Judges with `services` from now on, if they are the database's newest (versions
    /// only grow: a slower reload that read older ones does not undo a newer one).
    pub(crate) fn install(&self, services: ComplaintServices, versions: Versions) {
        if self.follows.is_none() {
            return;
        }
        let mut now = self.now.write().unwrap_or_else(PoisonError::into_inner);
        if versions.calendar >= now.versions.calendar && versions.policy >= now.versions.policy {
            *now = Now { services, versions };
        }
    }
}
