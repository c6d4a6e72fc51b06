//! Facilities: `ORG#<org> / FAC#<fac>`, with `ORG#<org> / FACNAME#<lowercase name>`
//! markers that make a name unique in the organization. The open training assignments
//! whose scope holds a facility link to it (`store::links`); deleting it needs none left.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::links::{self, Closable, Fence, Parent};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId, TrainingAssignmentId, UserId};
use crate::model::facilities::{Facility, FacilityStatus, name_key};
use crate::time::Timestamp;

fn facility_key(org: &OrgId, id: &FacilityId) -> Item {
    keys::key(keys::org_partition(org), keys::facility_sort_key(id))
}

fn name_marker_key(org: &OrgId, name: &str) -> Item {
    keys::key(keys::org_partition(org), keys::facility_name_sort_key(&name_key(name)))
}

fn facility_item(facility: &Facility) -> ApiResult<Item> {
    let mut item = to_item(facility)?;
    item.extend(facility_key(&facility.organization_id, &facility.id));
    Ok(item)
}

fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(format!("a facility named `{name}` already exists in this organization"))
}

fn put_name_marker(transaction: &mut Transaction, facility: &Facility) -> ApiResult<()> {
    let mut item = name_marker_key(&facility.organization_id, &facility.name);
    item.insert("facilityId".into(), AttributeValue::S(facility.id.to_string()));
    transaction.put_new(item, name_taken(&facility.name))
}

fn delete_name_marker(transaction: &mut Transaction, facility: &Facility) -> ApiResult<()> {
    let mine = Condition::new("#facility = :me")
        .name("#facility", "facilityId")
        .value(":me", AttributeValue::S(facility.id.to_string()));
    transaction.delete(
        name_marker_key(&facility.organization_id, &facility.name),
        Some(mine),
        Some(changed_concurrently()),
    )
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the facility was changed by a concurrent request; retry")
}

pub async fn get(store: &Store, org: &OrgId, id: &FacilityId) -> ApiResult<Option<Facility>> {
    store.get(facility_key(org, id)).await
}

/// Several facilities of one organization in one BatchGetItem; those that do not exist
/// are absent from the answer.
pub async fn get_many(store: &Store, org: &OrgId, ids: &[FacilityId]) -> ApiResult<Vec<Facility>> {
    store
        .get_records(ids.iter().map(|id| facility_key(org, id)).collect())
        .await
}

pub fn put_new(transaction: &mut Transaction, facility: &Facility) -> ApiResult<()> {
    transaction.put_new(facility_item(facility)?, ApiError::internal("facility id collision"))?;
    put_name_marker(transaction, facility)
}

/// Deletes a facility while no open assignment has it in scope: `commit` writes `after`
/// (with `put_updated`, passing the fence) and its event under the fence
/// `store::links::close` raised.
pub async fn delete<Commit, Done>(store: &Store, before: &Facility, commit: Commit) -> ApiResult<()>
where
    Commit: FnOnce(Fence) -> Done,
    Done: std::future::Future<Output = ApiResult<()>>,
{
    let in_use = ApiError::conflict(
        "this facility is in the scope of open training assignments or members are authorised for it; \
         complete, waive or rescope the assignments and remove it from the members first",
    );
    links::close(
        store,
        &before.organization_id,
        Closable::Facility(&before.id),
        before.version,
        in_use,
        changed_concurrently(),
        commit,
    )
    .await
}

/// Replaces a facility read at `before.version`, moving its name marker when the name
/// changed (case-insensitively) and releasing it when the facility is deleted; a deletion
/// is written under its fence (`delete`).
pub fn put_updated(
    transaction: &mut Transaction,
    before: &Facility,
    after: &Facility,
    deletion_fence: Option<Fence>,
) -> ApiResult<()> {
    let mut condition = Condition::at_version(before.version);
    if let Some(fence) = deletion_fence {
        condition = condition.and(fence.still_raised());
    }
    transaction.put(facility_item(after)?, Some(condition), Some(changed_concurrently()))?;
    let deleted = after.status == FacilityStatus::Deleted;
    let renamed = name_key(&before.name) != name_key(&after.name);
    if deleted || renamed {
        delete_name_marker(transaction, before)?;
    }
    if renamed && !deleted {
        put_name_marker(transaction, after)?;
    }
    Ok(())
}

/// An open assignment takes the facility into its scope: its link, and the check that the
/// facility is active and not being deleted when the transaction commits.
pub fn link_open_assignment(
    transaction: &mut Transaction,
    org: &OrgId,
    id: &FacilityId,
    assignment: &TrainingAssignmentId,
    now: Timestamp,
) -> ApiResult<()> {
    let gone = ApiError::conflict(format!("facility `{id}` was deleted meanwhile"));
    links::put_checked(transaction, org, Closable::Facility(id), assignment.as_str(), now, gone)
}

/// An assignment stops being open or drops the facility from its scope.
pub fn unlink_open_assignment(
    transaction: &mut Transaction,
    org: &OrgId,
    id: &FacilityId,
    assignment: &TrainingAssignmentId,
) -> ApiResult<()> {
    links::delete(transaction, org, Parent::Facility(id), assignment.as_str())
}

/// A member authorised for the facility keeps it in use, as an open assignment does.
pub fn link_member(
    transaction: &mut Transaction,
    org: &OrgId,
    id: &FacilityId,
    member: &UserId,
    now: Timestamp,
) -> ApiResult<()> {
    let gone = ApiError::conflict(format!("facility `{id}` was deleted meanwhile"));
    links::put_checked(transaction, org, Closable::Facility(id), member.as_str(), now, gone)
}

pub fn unlink_member(transaction: &mut Transaction, org: &OrgId, id: &FacilityId, member: &UserId) -> ApiResult<()> {
    links::delete(transaction, org, Parent::Facility(id), member.as_str())
}

/// One page of the members authorised for the facility, by member id.
pub async fn authorised_members(
    store: &Store,
    org: &OrgId,
    id: &FacilityId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<UserId>> {
    let page = links::children(store, org, Parent::Facility(id), UserId::PREFIX, limit, after).await?;
    Ok(Page {
        items: page
            .items
            .iter()
            .map(|child| UserId::parse("member", child))
            .collect::<ApiResult<_>>()?,
        next: page.next,
    })
}

/// The organization's facilities that are not deleted, by creation (ids are time-ordered).
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<Facility>> {
    let filter = Filter::active();
    let spec = QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::FACILITY_PREFIX.into()),
    )
    .with_filter(Some(filter));
    store.query_records(&spec, limit, after).await
}
