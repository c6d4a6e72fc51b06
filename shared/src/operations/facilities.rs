//! Facilities: list, create, read, update and (soft) delete the sites of the caller's
//! organization that training assignments are scoped to.

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId};
use crate::model::events::Event;
use crate::model::events::facilities::{FacilityChanges, FacilityCreated, FacilityDeleted, FacilityUpdated};
use crate::model::facilities::{Facility, FacilityEdit, FacilityStatus, NewFacility, new_facility, require_active};
use crate::model::principal::Principal;
use crate::model::users::Member;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};

pub async fn get_facility_record(store: &Store, org: &OrgId, id: &FacilityId) -> ApiResult<Facility> {
    store::facilities::get(store, org, id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "facility",
            id: id.to_string(),
        })
}

/// The facilities named, each existing and not deleted, in the order given: what an
/// assignment may be scoped to and a member authorised for.
pub async fn active_facilities(store: &Store, org: &OrgId, ids: &[FacilityId]) -> ApiResult<Vec<Facility>> {
    let found = store::facilities::get_many(store, org, ids).await?;
    let mut facilities = Vec::with_capacity(ids.len());
    for id in ids {
        let facility = found
            .iter()
            .find(|facility| &facility.id == id)
            .ok_or_else(|| ApiError::NotFoundId {
                resource: "facility",
                id: id.to_string(),
            })?;
        if facility.status == FacilityStatus::Deleted {
            return Err(ApiError::conflict(format!("facility `{id}` is deleted")));
        }
        facilities.push(facility.clone());
    }
    Ok(facilities)
}

pub async fn get_facility(store: &Store, principal: &Principal, id: &FacilityId) -> ApiResult<Facility> {
    principal.require(Permission::TrainingRead)?;
    get_facility_record(store, principal.org(), id).await
}

/// The people authorised for a facility (CIP-004 R4's access list of a site), by id,
/// paginated: the facility's links read by key, then the members in one BatchGetItem.
pub async fn list_facility_members(
    store: &Store,
    principal: &Principal,
    id: &FacilityId,
    page: &PageRequest,
) -> ApiResult<ListPage<Member>> {
    principal.require(Permission::UsersRead)?;
    get_facility_record(store, principal.org(), id).await?;
    let result =
        store::facilities::authorised_members(store, principal.org(), id, page.limit, page.after.as_ref()).await?;
    let mut members = store::members::get_many(store, principal.org(), &result.items).await?;
    members.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(ListPage {
        data: members,
        next_cursor: page.next_cursor(result.next),
    })
}

pub async fn list_facilities(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<Facility>> {
    principal.require(Permission::TrainingRead)?;
    let result = store::facilities::list(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

pub async fn create_facility(store: &Store, principal: &Principal, input: NewFacility) -> ApiResult<Facility> {
    principal.require(Permission::TrainingWrite)?;
    let facility = new_facility(principal.org(), input, store.clock().now());
    let mut transaction = Transaction::new();
    store::facilities::put_new(&mut transaction, &facility)?;
    let event = Event::FacilityCreated(FacilityCreated::of(&facility));
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        facility.id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(facility)
}

pub async fn update_facility(
    store: &Store,
    principal: &Principal,
    id: &FacilityId,
    input: FacilityEdit,
) -> ApiResult<Facility> {
    principal.require(Permission::TrainingWrite)?;
    let before = get_facility_record(store, principal.org(), id).await?;
    require_active(&before)?;
    let mut after = before.clone();
    if let Some(name) = input.name {
        after.name = name;
    }
    if let Some(rating) = input.impact_rating {
        after.impact_rating = rating;
    }
    if let Some(external) = input.external_id {
        after.external_id = external;
    }
    let changes = FacilityChanges::between(&before, &after);
    if changes.is_empty() {
        return Ok(before);
    }
    after.updated_at = store.clock().now();
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::facilities::put_updated(&mut transaction, &before, &after, None)?;
    let event = Event::FacilityUpdated(FacilityUpdated { changes });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(after)
}

/// Soft delete: the facility leaves lists and new scopes, and its name is free again;
/// closed assignments still name it. Refused while an open assignment has it in scope.
pub async fn delete_facility(store: &Store, principal: &Principal, id: &FacilityId) -> ApiResult<Facility> {
    principal.require(Permission::TrainingWrite)?;
    let before = get_facility_record(store, principal.org(), id).await?;
    if before.status == FacilityStatus::Deleted {
        return Ok(before);
    }
    let now = store.clock().now();
    let mut after = before.clone();
    after.status = FacilityStatus::Deleted;
    after.deleted_at = Some(now);
    after.updated_at = now;
    after.version = before.version + 1;
    let (before, after) = (&before, &after);
    store::facilities::delete(store, before, move |fence| async move {
        let mut transaction = Transaction::new();
        store::facilities::put_updated(&mut transaction, before, after, Some(fence))?;
        let event = Event::FacilityDeleted(FacilityDeleted {
            name: before.name.clone(),
        });
        store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
        transaction.commit(store).await
    })
    .await?;
    Ok(after.clone())
}
