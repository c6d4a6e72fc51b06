//! CIP Senior Manager assignments: `ORG#<org> / CSM#<csm id>` (creation order, which the
//! domain keeps equal to effective-date order), and the `ORG#<org> / CSM_CURRENT` pointer
//! that every designation is conditioned on.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, from_item, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{CsmAssignmentId, OrgId, UserId};
use crate::model::cip_senior_manager::CsmAssignment;

fn assignment_key(org: &OrgId, id: &CsmAssignmentId) -> Item {
    keys::key(keys::org_partition(org), keys::csm_assignment_sort_key(id))
}

fn current_pointer_key(org: &OrgId) -> Item {
    keys::key(keys::org_partition(org), keys::CSM_CURRENT)
}

fn assignment_item(assignment: &CsmAssignment) -> ApiResult<Item> {
    let mut item = to_item(assignment)?;
    item.extend(assignment_key(&assignment.organization_id, &assignment.id));
    Ok(item)
}

fn history_spec(org: &OrgId) -> QuerySpec {
    QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::CSM_ASSIGNMENT_PREFIX.into()),
    )
}

fn concurrent_designation() -> ApiError {
    ApiError::conflict("the CIP Senior Manager designation was changed by a concurrent request; retry")
}

pub async fn get(store: &Store, org: &OrgId, id: &CsmAssignmentId) -> ApiResult<Option<CsmAssignment>> {
    store.get(assignment_key(org, id)).await
}

/// The whole history, oldest first. A designation changes a few times a decade, so this
/// stays small.
pub async fn history(store: &Store, org: &OrgId) -> ApiResult<Vec<CsmAssignment>> {
    store
        .query_all(&history_spec(org))
        .await?
        .into_iter()
        .map(from_item)
        .collect()
}

/// The history page by page, newest first.
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<CsmAssignment>> {
    store
        .query_records(&history_spec(org).newest_first(), limit, after)
        .await
}

/// A new designation replaces `previous` (read as the current one, now given its end
/// date): the pointer moves only if it still points at `previous`, so of two concurrent
/// designations exactly one commits.
pub fn put_designation(
    transaction: &mut Transaction,
    designated: &CsmAssignment,
    previous: Option<(&CsmAssignment, &CsmAssignment)>,
) -> ApiResult<()> {
    let org = &designated.organization_id;
    transaction.put_new(
        assignment_item(designated)?,
        ApiError::internal("assignment id collision"),
    )?;
    let pointer_condition = match previous {
        Some((before, after)) => {
            put_corrected(transaction, before, after)?;
            Condition::new("#assignment = :previous")
                .name("#assignment", "assignmentId")
                .value(":previous", AttributeValue::S(before.id.to_string()))
        }
        None => Condition::item_absent(),
    };
    let mut pointer = current_pointer_key(org);
    pointer.insert("assignmentId".into(), AttributeValue::S(designated.id.to_string()));
    pointer.insert("userId".into(), AttributeValue::S(designated.user_id.to_string()));
    transaction.put(pointer, Some(pointer_condition), Some(concurrent_designation()))
}

/// Replaces an assignment read at `before.version`.
pub fn put_corrected(transaction: &mut Transaction, before: &CsmAssignment, after: &CsmAssignment) -> ApiResult<()> {
    transaction.put(
        assignment_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(concurrent_designation()),
    )
}

/// Part of any change that suspends or deletes a member: refused while the member is the
/// current CIP Senior Manager (CIP-003 R3 requires one to be identified at all times).
pub fn check_not_current_designee(transaction: &mut Transaction, org: &OrgId, user: &UserId) -> ApiResult<()> {
    let condition = Condition::new("attribute_not_exists(PK) OR #user <> :user")
        .name("#user", "userId")
        .value(":user", AttributeValue::S(user.to_string()));
    transaction.condition_check(
        current_pointer_key(org),
        condition,
        ApiError::conflict(
            "this user is the organization's current CIP Senior Manager; designate a replacement first (CIP-003 R3)",
        ),
    )
}

/// Part of a designation: the designee is still an active member when it commits.
pub fn check_member_active(transaction: &mut Transaction, org: &OrgId, user: &UserId) -> ApiResult<()> {
    let condition = Condition::new("#status = :active")
        .name("#status", "status")
        .value(":active", AttributeValue::S("active".into()));
    transaction.condition_check(
        keys::key(keys::org_partition(org), keys::member_sort_key(user)),
        condition,
        ApiError::conflict("the user is no longer an active member; only an active member can be designated"),
    )
}
