//! `aduan token`: issue, list and revoke bearer tokens. The rules (an agency for a
//! liaison officer or head, registered and in service; an expiry after now) are the
//! store's ([`Store::create_expiring_token`]); this module reads the arguments and
//! prints.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::json;
use workflow_core::calendar::TimeZoneSpec;
use workflow_core::Actor;
use workflow_store::access::TokenRecord;
use workflow_store::Store;

use crate::cli::TokenAction;
use crate::table::Table;

/// Runs a token verb.
pub async fn run(store: &Store, action: TokenAction, json: bool) -> anyhow::Result<()> {
    match action {
        TokenAction::Create {
            user,
            role,
            agency,
            expires_in,
            expires_at,
        } => {
            let now = Utc::now();
            let zone = &store.engine().services().policy.time_zone;
            let expires_at = match (expires_in, expires_at) {
                (Some(lifetime), _) => Some(now + lifetime),
                (None, Some(text)) => Some(expiry(&text, zone)?),
                (None, None) => None,
            };
            let actor = Actor {
                user: user.as_str().into(),
                role,
                agency: agency.map(workflow_core::AgencyCode),
            };
            let token = match expires_at {
                Some(at) => store.create_expiring_token(&actor, at, now).await,
                None => store.create_token(&actor, now).await,
            }
            .map_err(|e| anyhow::anyhow!("{e}{}", hint(&e)))?;
            if json {
                crate::outln!(
                    "{}",
                    json!({ "user": actor.user, "role": actor.role, "agency": actor.agency, "expires_at": expires_at, "token": token })
                );
            } else {
                eprintln!(
                    "token for {} ({}{}){}; it is shown once, keep it secret:",
                    actor.user,
                    actor.role,
                    actor
                        .agency
                        .as_ref()
                        .map(|a| format!(", {a}"))
                        .unwrap_or_default(),
                    expires_at
                        .map(|at| format!(
                            ", refused from {} {}",
                            when(Some(at), zone),
                            crate::format::zone_label(zone)
                        ))
                        .unwrap_or_default()
                );
                crate::outln!("{token}");
            }
            Ok(())
        }
        TokenAction::List => {
            let tokens = store.tokens().await?;
            if json {
                crate::outln!("{}", json!({ "tokens": tokens }));
            } else {
                let zone = &store.engine().services().policy.time_zone;
                crate::out!("{}", table(&tokens, zone, Utc::now()).render());
            }
            Ok(())
        }
        TokenAction::Revoke { user } => {
            let n = store.revoke_tokens(&user, Utc::now()).await?;
            if json {
                crate::outln!("{}", json!({ "user": user, "revoked": n }));
            } else {
                eprintln!("revoked {n} token(s) of {user}");
            }
            Ok(())
        }
    }
}

/// What to do about a refusal, in the operator's words.
fn hint(e: &workflow_store::StoreError) -> &'static str {
    use workflow_store::Refusal;
    match e {
        workflow_store::StoreError::Refused(Refusal::UnknownAgency(_)) => {
            " (register it first: aduan agency add CODE NAME; aduan agency list shows those registered)"
        }
        workflow_store::StoreError::Refused(Refusal::AgencyRequired(_)) => " (give --agency CODE)",
        workflow_store::StoreError::Refused(Refusal::AgencyNotAllowed(_)) => " (leave out --agency)",
        _ => "",
    }
}

/// `--expires-at`: an RFC 3339 instant, or the last date the token is accepted (it is
/// refused from the next midnight in `zone`).
fn expiry(text: &str, zone: &TimeZoneSpec) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        anyhow::anyhow!("--expires-at `{text}`: give a date (2027-03-31) or an RFC 3339 instant")
    })?;
    let next = date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| anyhow::anyhow!("--expires-at `{text}` is too far away"))?;
    zone.offset()
        .from_local_datetime(&next)
        .single()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| anyhow::anyhow!("--expires-at `{text}` is not a time in {}", zone.name()))
}

/// An instant in the zone's wall-clock time, to the minute; `-` for none.
fn when(at: Option<DateTime<Utc>>, zone: &TimeZoneSpec) -> String {
    at.map(|at| {
        at.with_timezone(&zone.offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_else(|| "-".into())
}

fn table(tokens: &[TokenRecord], zone: &TimeZoneSpec, now: DateTime<Utc>) -> Table {
    // The zone is named in the headings, as every table of instants does.
    let label = crate::format::zone_label(zone);
    let created = format!("created ({label})");
    let expires = format!("expires ({label})");
    let last_used = format!("last used ({label})");
    let revoked = format!("revoked ({label})");
    let mut t = Table::new(&[
        "user", "role", "agency", &created, &expires, &last_used, &revoked,
    ]);
    for token in tokens {
        let expires = match token.expires_at {
            Some(at) if at <= now => format!("{} (expired)", when(Some(at), zone)),
            other => when(other, zone),
        };
        t.row(vec![
            token.user.0.clone(),
            token.role.to_string(),
            token
                .agency
                .as_ref()
                .map(|a| a.0.clone())
                .unwrap_or_else(|| "-".into()),
            when(Some(token.created_at), zone),
            expires,
            when(token.last_used_at, zone),
            when(token.revoked_at, zone),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_date_is_the_last_day_accepted() {
        let wib = TimeZoneSpec::jakarta();
        // Refused from midnight WIB after 31 March: 17:00 UTC on 31 March.
        assert_eq!(
            expiry("2027-03-31", &wib).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 31, 17, 0, 0).unwrap()
        );
        assert_eq!(
            expiry("2027-03-31T10:00:00+07:00", &wib).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 31, 3, 0, 0).unwrap()
        );
        assert!(expiry("31/03/2027", &wib).is_err());
    }
}
