//! CIP Senior Manager assignments: `ORG#<org> / CSM#<csm id>` (creation order, which the
//! domain keeps equal to effective-date order), with GSI1 `ORG#<org>#CSM / <effective
//! date>#<csm id>` for "in force on date D", and the `ORG#<org> / CSM_CURRENT` pointer that
//! every designation is conditioned on. Every read is bounded: a history of any length
//! costs the same.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK};
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{CsmAssignmentId, OrgId, UserId};
use crate::model::cip_senior_manager::CsmAssignment;
use crate::time::Date;

fn assignment_key(org: &OrgId, id: &CsmAssignmentId) -> Item {
    keys::key(keys::org_partition(org), keys::csm_assignment_sort_key(id))
}

fn current_pointer_key(org: &OrgId) -> Item {
    keys::key(keys::org_partition(org), keys::CSM_CURRENT)
}

fn assignment_item(assignment: &CsmAssignment) -> ApiResult<Item> {
    let mut item = to_item(assignment)?;
    item.extend(assignment_key(&assignment.organization_id, &assignment.id));
    item.insert(
        GSI1PK.into(),
        AttributeValue::S(keys::csm_by_date_partition(&assignment.organization_id)),
    );
    item.insert(
        GSI1SK.into(),
        AttributeValue::S(format!("{}#{}", assignment.effective_date, assignment.id)),
    );
    Ok(item)
}

fn history_spec(org: &OrgId) -> QuerySpec {
    QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::CSM_ASSIGNMENT_PREFIX.into()),
    )
}

/// The first assignment of a query other than `except`: a query bounded to two items.
async fn first_other(store: &Store, spec: &QuerySpec, except: &CsmAssignmentId) -> ApiResult<Option<CsmAssignment>> {
    let page: Page<CsmAssignment> = store.query_records(spec, 2, None).await?;
    Ok(page.items.into_iter().find(|assignment| &assignment.id != except))
}

fn concurrent_designation() -> ApiError {
    ApiError::conflict("the CIP Senior Manager designation was changed by a concurrent request; retry")
}

pub async fn get(store: &Store, org: &OrgId, id: &CsmAssignmentId) -> ApiResult<Option<CsmAssignment>> {
    store.get(assignment_key(org, id)).await
}

/// The current designation: the pointer, then the assignment it names (both consistent).
pub async fn current(store: &Store, org: &OrgId) -> ApiResult<Option<CsmAssignment>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Pointer {
        assignment_id: CsmAssignmentId,
    }
    let Some(pointer) = store.get::<Pointer>(current_pointer_key(org)).await? else {
        return Ok(None);
    };
    get(store, org, &pointer.assignment_id).await
}

/// The designation in force on `date`: the one with the latest effective date on or before
/// it (GSI1, newest first, two items at most), if it had not ended by then.
pub async fn in_force_on(store: &Store, org: &OrgId, date: Date) -> ApiResult<Option<CsmAssignment>> {
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        keys::csm_by_date_partition(org),
        // `#` sorts below every id character, `~` above: the whole day `date` is included.
        SortRange::Between("0".into(), format!("{date}#~")),
    )
    .newest_first();
    let page: Page<CsmAssignment> = store.query_records(&spec, 1, None).await?;
    Ok(page
        .items
        .into_iter()
        .next()
        .filter(|assignment| assignment.in_force_on(date)))
}

/// The designations just before and just after `assignment` (creation order is
/// effective-date order): two queries of at most two items, strongly consistent.
pub async fn neighbours(
    store: &Store,
    assignment: &CsmAssignment,
) -> ApiResult<(Option<CsmAssignment>, Option<CsmAssignment>)> {
    let org = &assignment.organization_id;
    let own = keys::csm_assignment_sort_key(&assignment.id);
    let partition = keys::org_partition(org);
    let before = QuerySpec::table(
        partition.clone(),
        SortRange::Between(keys::CSM_ASSIGNMENT_PREFIX.into(), own.clone()),
    )
    .newest_first()
    .consistent();
    let after = QuerySpec::table(
        partition,
        SortRange::Between(own, format!("{}~", keys::CSM_ASSIGNMENT_PREFIX)),
    )
    .consistent();
    Ok((
        first_other(store, &before, &assignment.id).await?,
        first_other(store, &after, &assignment.id).await?,
    ))
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
    super::members::check_active(
        transaction,
        org,
        user,
        ApiError::conflict("the user is no longer an active member; only an active member can be designated"),
    )
}
