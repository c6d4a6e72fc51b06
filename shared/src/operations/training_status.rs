//! One member's CIP-004 standing per module on a date (`GET /users/{id}/training-status`
//! through the REST door), read from the member's own assignments (GSI1), never the
//! organization's.

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, UserId};
use crate::model::principal::Principal;
use crate::model::training_requirements::requiring;
use crate::model::training_status::{PersonStanding, Standing, TitledStanding, TrainingVerdict, standings};
use crate::permissions::Permission;
use crate::store;
use crate::time::Date;

pub struct TrainingStatusQuery {
    /// Default: today (UTC).
    pub as_of: Option<Date>,
    pub facility_id: Option<FacilityId>,
}

pub async fn get_training_status(
    store: &store::Store,
    principal: &Principal,
    user: &UserId,
    query: TrainingStatusQuery,
    window_days: u32,
) -> ApiResult<PersonStanding> {
    principal.require(Permission::TrainingRead)?;
    let org = principal.org();
    // A deleted member still has a history an auditor may ask about.
    let Some(member) = store::members::get(store, org, user).await? else {
        return Err(ApiError::NotFoundId {
            resource: "user",
            id: user.to_string(),
        });
    };
    if let Some(facility) = &query.facility_id
        && store::facilities::get(store, org, facility).await?.is_none()
    {
        return Err(ApiError::NotFoundId {
            resource: "facility",
            id: facility.to_string(),
        });
    }
    let as_of = query.as_of.unwrap_or_else(|| store.clock().today());
    let assignments = store::training_assignments::of_user(store, org, user).await?;
    let requirements = store::training_requirements::all(store, org).await?;
    let asked = requiring(&requirements, &member, &principal.roles, query.facility_id.as_ref());
    let mut found = standings(&assignments, as_of, window_days, query.facility_id.as_ref());
    // A module a requirement asks for and nothing was assigned for by the date.
    for module in asked.keys() {
        if !found.iter().any(|s| &&s.training_module_id == module) {
            found.push(Standing {
                training_module_id: (*module).clone(),
                verdict: TrainingVerdict::NotAssigned,
                latest_completion: None,
                waiver: None,
            });
        }
    }
    let ids: Vec<_> = found.iter().map(|s| s.training_module_id.clone()).collect();
    let modules = store::training_modules::get_many(store, org, &ids).await?;
    let modules = found
        .into_iter()
        .map(|standing| {
            let module = modules.iter().find(|m| m.id == standing.training_module_id);
            TitledStanding {
                title: module.map(|m| m.title.clone()).unwrap_or_default(),
                cip_standard: module.and_then(|m| m.cip_standard.clone()),
                requirement_ids: asked
                    .get(&standing.training_module_id)
                    .map(|found| found.iter().map(|r| r.id.clone()).collect())
                    .unwrap_or_default(),
                standing,
            }
        })
        .collect();
    Ok(PersonStanding {
        user_id: user.clone(),
        as_of,
        facility_id: query.facility_id,
        window_days,
        modules,
    })
}
