//! `aduan user`: the people who sign in to the web console ([`crate::web`]).

use chrono::Utc;
use serde_json::json;
use workflow_core::Actor;
use workflow_store::Store;

use crate::cli::UserAction;
use crate::table::Table;

/// The set-password link of `secret` under `base_url`.
pub(crate) fn link(base_url: &str, secret: &str) -> String {
    format!(
        "{}/konsol/atur-sandi/{secret}",
        base_url.trim_end_matches('/')
    )
}

/// Runs a user verb.
pub async fn run(store: &Store, action: UserAction, json: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    match action {
        UserAction::Add {
            name,
            role,
            agency,
            email,
            base_url,
        } => {
            if !workflow_core::actor::is_valid_user_name(&name) {
                anyhow::bail!(
                    "`{name}` is not a user name (empty, `:`, or a name the system uses)"
                );
            }
            let actor = match agency {
                // An agency of the registry, in service.
                Some(agency) => {
                    let registered = store.active_agency(&agency).await?;
                    Actor::of_agency(name, role, registered.code.0)
                }
                None => Actor::new(name, role),
            };
            if let Some(address) = email.as_deref() {
                workflow_store::outbox::check_email(address)?;
            }
            let secret = store.add_person(&actor, now).await?;
            if let Some(address) = email.as_deref() {
                store.set_person_email(&actor.user.0, Some(address)).await?;
            }
            let url = link(&base_url, &secret);
            if json {
                crate::outln!(
                    "{}",
                    json!({ "user": actor.user, "role": actor.role, "agency": actor.agency, "set_password_link": url })
                );
            } else {
                eprintln!(
                    "added {} ({}); give them this link to set their password (valid 72 hours, once):",
                    actor.user, actor.role
                );
                crate::outln!("{url}");
            }
        }
        UserAction::Email {
            name,
            address,
            none: _,
        } => {
            if !store.set_person_email(&name, address.as_deref()).await? {
                anyhow::bail!("{name} not found");
            }
            if json {
                crate::outln!("{}", json!({ "user": name, "email": address }));
            } else {
                match &address {
                    Some(address) => eprintln!("{name} is notified at {address}"),
                    None => eprintln!("{name} gets no notification"),
                }
            }
        }
        UserAction::Link { name, base_url } => {
            let url = link(&base_url, &store.renew_password_link(&name, now).await?);
            if json {
                crate::outln!("{}", json!({ "user": name, "set_password_link": url }));
            } else {
                eprintln!("a new link for {name} (valid 72 hours, once; the old password works until it is used):");
                crate::outln!("{url}");
            }
        }
        UserAction::Disable { name } => {
            let disabled = store.disable_person(&name, now).await?;
            if json {
                crate::outln!("{}", json!({ "user": name, "disabled": disabled }));
            } else if disabled {
                eprintln!("{name} is disabled; their sessions have ended");
            } else {
                anyhow::bail!("no person {name}, or disabled already");
            }
        }
        UserAction::List => {
            let people = store.people().await?;
            if json {
                let rows: Vec<_> = people
                    .iter()
                    .map(|p| {
                        json!({
                            "user": p.actor.user, "role": p.actor.role, "agency": p.actor.agency,
                            "password_set": p.password_set, "locked_until": p.locked_until,
                            "disabled_at": p.disabled_at, "created_at": p.created_at,
                        })
                    })
                    .collect();
                crate::outln!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let mut t = Table::new(&["user", "role", "agency", "password", "state"]);
                for p in &people {
                    let state = if p.disabled_at.is_some() {
                        "disabled"
                    } else if p.locked_until.is_some_and(|u| u > now) {
                        "locked"
                    } else {
                        "active"
                    };
                    t.row(vec![
                        p.actor.user.to_string(),
                        p.actor.role.to_string(),
                        p.actor
                            .agency
                            .as_ref()
                            .map_or_else(|| "-".into(), ToString::to_string),
                        if p.password_set { "set" } else { "not yet" }.into(),
                        state.into(),
                    ]);
                }
                crate::outln!("{}", t.render());
            }
        }
    }
    Ok(())
}
