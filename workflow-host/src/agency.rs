//! `aduan agency`: the registry of agencies, kept by the operator. Codes, details and
//! what may be removed are the store's rules ([`workflow_store::agency`]); this module
//! reads the arguments and prints.

use chrono::Utc;
use serde_json::json;
use workflow_core::calendar::TimeZoneSpec;
use workflow_core::AgencyCode;
use workflow_store::agency::{
    Agency, AgencyChange, AgencyDetails, AgencyHead, Registered, Removed,
};
use workflow_store::{Refusal, Store, StoreError};

use crate::cli::{AgencyAction, AgencyArgs};
use crate::table::Table;

/// Runs an agency verb.
pub async fn run(store: &Store, action: AgencyAction, json: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    match action {
        AgencyAction::Add {
            code,
            name,
            details,
        } => {
            let details = AgencyDetails {
                name,
                address: details.address,
                time_zone: details.time_zone,
                head: head(details.head_name, details.head_nip),
            };
            let done = store
                .register_agency(&code, &details, now)
                .await
                .map_err(explained)?;
            let agency = store.agency(&AgencyCode(code.clone())).await?;
            if json {
                crate::outln!(
                    "{}",
                    json!({ "added": done == Registered::Added, "agency": agency })
                );
            } else {
                match done {
                    Registered::Added => eprintln!("registered agency {code}"),
                    Registered::AlreadyAsGiven => {
                        eprintln!("agency {code} is registered already, as given; nothing changed")
                    }
                }
            }
            Ok(())
        }
        AgencyAction::List => {
            let agencies = store.agencies().await?;
            if json {
                crate::outln!("{}", json!({ "agencies": agencies }));
            } else if agencies.is_empty() {
                crate::outln!("no agency is registered yet: aduan agency add CODE NAME");
            } else {
                let zone = &store.engine().services().policy.time_zone;
                crate::out!("{}", table(&agencies, zone).render());
            }
            Ok(())
        }
        AgencyAction::Update {
            code,
            name,
            details,
            no_address,
            no_time_zone,
            no_head,
            reinstate,
        } => {
            let code = AgencyCode::parse(&code)?;
            let change = change(name, details, no_address, no_time_zone, no_head, reinstate);
            let agency = store
                .update_agency(&code, &change, now)
                .await
                .map_err(explained)?;
            if json {
                crate::outln!("{}", json!({ "agency": agency }));
            } else {
                eprintln!("agency {code} is now:");
                let zone = &store.engine().services().policy.time_zone;
                crate::out!("{}", table(std::slice::from_ref(&agency), zone).render());
            }
            Ok(())
        }
        AgencyAction::Remove { code, retire } => {
            let code = AgencyCode::parse(&code)?;
            let done = store
                .remove_agency(&code, retire, now)
                .await
                .map_err(explained)?;
            match done {
                Removed::Deleted => eprintln!("removed agency {code}"),
                Removed::Retired => eprintln!(
                    "retired agency {code}: no new tokens or complaints; its tokens go on until revoked"
                ),
            }
            Ok(())
        }
    }
}

fn head(name: Option<String>, nip: Option<String>) -> Option<AgencyHead> {
    // clap requires both or neither.
    Some(AgencyHead {
        name: name?,
        nip: nip?,
    })
}

fn change(
    name: Option<String>,
    details: AgencyArgs,
    no_address: bool,
    no_time_zone: bool,
    no_head: bool,
    reinstate: bool,
) -> AgencyChange {
    let head = head(details.head_name, details.head_nip);
    AgencyChange {
        name,
        address: match (details.address, no_address) {
            (Some(a), _) => Some(Some(a)),
            (None, true) => Some(None),
            (None, false) => None,
        },
        time_zone: match (details.time_zone, no_time_zone) {
            (Some(z), _) => Some(Some(z)),
            (None, true) => Some(None),
            (None, false) => None,
        },
        head: match (head, no_head) {
            (Some(h), _) => Some(Some(h)),
            (None, true) => Some(None),
            (None, false) => None,
        },
        reinstate,
    }
}

/// A refusal with what to do about it, in the operator's words.
fn explained(e: StoreError) -> anyhow::Error {
    let hint = match &e {
        StoreError::Refused(Refusal::AgencyExists(code)) => {
            format!(" (change it with aduan agency update {code})")
        }
        StoreError::Refused(Refusal::AgencyInUse { code, .. }) => {
            format!(" (aduan agency remove {code} --retire)")
        }
        StoreError::Refused(Refusal::RetiredAgency(code)) => {
            format!(" (aduan agency update {code} --reinstate takes it back)")
        }
        StoreError::Refused(Refusal::UnknownAgency(_)) => {
            " (aduan agency list shows those registered)".to_owned()
        }
        _ => String::new(),
    };
    anyhow::anyhow!("{e}{hint}")
}

fn table(agencies: &[Agency], zone: &TimeZoneSpec) -> Table {
    let retired = format!("retired ({})", crate::format::zone_label(zone));
    let mut t = Table::new(&["code", "name", "zone", "head", "nip", "address", &retired]);
    let dash = || "-".to_owned();
    for a in agencies {
        let d = &a.details;
        t.row(vec![
            a.code.0.clone(),
            d.name.clone(),
            d.time_zone.map(|z| z.to_string()).unwrap_or_else(dash),
            d.head.as_ref().map(|h| h.name.clone()).unwrap_or_else(dash),
            d.head.as_ref().map(|h| h.nip.clone()).unwrap_or_else(dash),
            d.address.clone().unwrap_or_else(dash),
            a.retired_at
                .map(|at| zone.local_date(at).format("%Y-%m-%d").to_string())
                .unwrap_or_else(dash),
        ]);
    }
    t
}
