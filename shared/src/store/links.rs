//! Link items: one item per child that keeps a parent in use, in a partition of the
//! parent's own: `ORG#<org>#TM_OPEN#<tm> / <ta>` (an open assignment of a module),
//! `ORG#<org>#FAC_OPEN#<fac> / <ta>` (an open assignment with the facility in scope),
//! `ORG#<org>#ROLE_HOLDER#<role> / <usr>` (a member, not deleted, holding a custom role),
//! `ORG#<org>#GROUP_MEMBER#<grp> / <usr>` (a member of a group).
//!
//! Why not a counter on the parent: every assignment change would rewrite the same
//! counter item, so parallel writers (SCIM pushes, xAPI completions, rule backfills)
//! would serialise on it and fail as transaction conflicts on DynamoDB. A child writes only
//! its own link, in its own transaction; retiring or deleting the parent asks "is any link
//! left?" with one strongly consistent query.
//!
//! The fence makes that question race-free without writing the parent on routine paths:
//! a child's transaction checks (never writes) that the parent is active and not fenced;
//! retiring or deleting first raises the fence (`closingUntil`, a time a few seconds
//! ahead, on the parent's item), then queries the links, then either commits the change
//! on the condition that its own fence is still there, or lowers the fence. A child that
//! committed before the fence is seen by the query; none can commit while it stands. A
//! fence left by a function that died expires by itself.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Store, Transaction};
use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, GroupId, OrgId, RoleId, TrainingModuleId};
use crate::time::Timestamp;

/// The parent attribute holding the fence: epoch milliseconds until which no child may
/// link to it.
const FENCE: &str = "closingUntil";

/// How long a fence holds: far longer than the query and commit it protects, short enough
/// that a fence left behind delays new children only briefly.
const FENCE_MILLIS: i64 = 30_000;

/// A parent that children keep in use.
#[derive(Debug, Clone, Copy)]
pub enum Parent<'a> {
    Module(&'a TrainingModuleId),
    Facility(&'a FacilityId),
    /// Its fence is the role's own entry in the roles document (`operations::roles`).
    Role(&'a RoleId),
    /// A group's members; a group takes members only while active (`store::groups`).
    Group(&'a GroupId),
}

fn partition(org: &OrgId, parent: Parent<'_>) -> String {
    match parent {
        Parent::Module(id) => format!("{}#TM_OPEN#{id}", keys::org_partition(org)),
        Parent::Facility(id) => format!("{}#FAC_OPEN#{id}", keys::org_partition(org)),
        Parent::Role(id) => format!("{}#ROLE_HOLDER#{id}", keys::org_partition(org)),
        Parent::Group(id) => format!("{}#GROUP_MEMBER#{id}", keys::org_partition(org)),
    }
}

/// A parent with an item of its own, where `close` raises its fence.
#[derive(Debug, Clone, Copy)]
pub enum Closable<'a> {
    Module(&'a TrainingModuleId),
    Facility(&'a FacilityId),
}

impl<'a> Closable<'a> {
    fn parent(self) -> Parent<'a> {
        match self {
            Closable::Module(id) => Parent::Module(id),
            Closable::Facility(id) => Parent::Facility(id),
        }
    }

    fn key(self, org: &OrgId) -> Item {
        let sort_key = match self {
            Closable::Module(id) => keys::training_module_sort_key(id),
            Closable::Facility(id) => keys::facility_sort_key(id),
        };
        keys::key(keys::org_partition(org), sort_key)
    }
}

fn link_key(org: &OrgId, parent: Parent<'_>, child: &str) -> Item {
    keys::key(partition(org, parent), child.to_string())
}

/// The child starts keeping the parent in use.
pub fn put(transaction: &mut Transaction, org: &OrgId, parent: Parent<'_>, child: &str) -> ApiResult<()> {
    transaction.put(link_key(org, parent, child), None, None)
}

/// The child starts keeping a closable parent in use: its link, and the check (not a
/// write) that the parent is active and not fenced when the transaction commits; `gone`
/// is the answer when it is not.
pub fn put_checked(
    transaction: &mut Transaction,
    org: &OrgId,
    parent: Closable<'_>,
    child: &str,
    now: Timestamp,
    gone: ApiError,
) -> ApiResult<()> {
    transaction.condition_check(parent.key(org), parent_usable(now), gone)?;
    put(transaction, org, parent.parent(), child)
}

/// The child stops keeping the parent in use. Unconditional: deleting a link that is not
/// there changes nothing.
pub fn delete(transaction: &mut Transaction, org: &OrgId, parent: Parent<'_>, child: &str) -> ApiResult<()> {
    transaction.delete(link_key(org, parent, child), None, None)
}

/// One page of the parent's children whose ids start with `prefix` (a facility's
/// authorised members, `usr_`, apart from its open assignments, `ta_`), in id order.
pub async fn children(
    store: &Store,
    org: &OrgId,
    parent: Parent<'_>,
    prefix: &str,
    limit: usize,
    after: Option<&std::collections::BTreeMap<String, String>>,
) -> ApiResult<super::Page<String>> {
    let spec = QuerySpec::table(partition(org, parent), SortRange::BeginsWith(prefix.to_string()));
    let page = store.query_page(&spec, limit, after).await?;
    Ok(super::Page {
        items: page
            .items
            .iter()
            .filter_map(|item| keys::string_attribute(item, keys::SK))
            .collect(),
        next: page.next,
    })
}

/// The parent's first `limit` children whose ids start with `prefix`, read strongly
/// consistent: what a change that must see every child reads.
pub async fn first_children(
    store: &Store,
    org: &OrgId,
    parent: Parent<'_>,
    prefix: &str,
    limit: usize,
) -> ApiResult<Vec<String>> {
    let spec = QuerySpec::table(partition(org, parent), SortRange::BeginsWith(prefix.to_string())).consistent();
    let page = store.query_page(&spec, limit, None).await?;
    Ok(page
        .items
        .iter()
        .filter_map(|item| keys::string_attribute(item, keys::SK))
        .collect())
}

/// How many children link to the parent: strongly consistent, counted by DynamoDB
/// (`Select COUNT`), page after page.
pub async fn count(store: &Store, org: &OrgId, parent: Parent<'_>) -> ApiResult<u64> {
    store
        .count(&QuerySpec::table(partition(org, parent), SortRange::All).consistent())
        .await
}

/// The time until which a fence raised at `now` holds, in epoch milliseconds.
pub fn fence_until(now: Timestamp) -> i64 {
    now.millis() + FENCE_MILLIS
}

/// Whether any child still links to the parent: one strongly consistent read of one item.
pub async fn any(store: &Store, org: &OrgId, parent: Parent<'_>) -> ApiResult<bool> {
    let spec = QuerySpec::table(partition(org, parent), SortRange::All).consistent();
    let page = store.query_page(&spec, 1, None).await?;
    Ok(!page.items.is_empty())
}

/// The condition a child's transaction checks on its parent's item: active and not
/// fenced at `now`.
fn parent_usable(now: Timestamp) -> Condition {
    Condition::new("#status = :active AND (attribute_not_exists(#fence) OR #fence < :now)")
        .name("#status", "status")
        .name("#fence", FENCE)
        .value(":active", AttributeValue::S("active".into()))
        .value(":now", AttributeValue::N(now.millis().to_string()))
}

/// A raised fence: its time identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    until: i64,
}

impl Fence {
    /// Whether the fence still holds at `now` (a change it protects must commit before).
    pub fn holds_at(self, now: Timestamp) -> bool {
        now.millis() < self.until
    }

    /// The condition a closing change adds: its own fence is still on the parent, so no
    /// child linked since the query.
    pub fn still_raised(self) -> Condition {
        Condition::new("#fence = :fence")
            .name("#fence", FENCE)
            .value(":fence", AttributeValue::N(self.until.to_string()))
    }
}

/// Raises the fence on the parent's item, read at `version`; `changed` is the answer when
/// it changed since.
async fn raise_fence(store: &Store, parent_key: Item, version: u64, changed: ApiError) -> ApiResult<Fence> {
    let until = fence_until(store.clock().now());
    let mut transaction = Transaction::new();
    transaction.set_attribute(
        parent_key,
        FENCE,
        Some(AttributeValue::N(until.to_string())),
        Condition::at_version(version),
        changed,
    )?;
    // Sent now even under an `Idempotency-Key`: the query after it relies on the fence
    // being in the table, so it is never held for the answer (`Transaction::commit`).
    transaction.send(store).await?;
    Ok(Fence { until })
}

/// Closes a parent (retire, delete) while no child links to it: raises the fence on the
/// parent's item, read at `version`, answers `in_use` if a link is left, then runs `commit`,
/// whose write of the parent must carry `fence.still_raised()`. The fence is lowered
/// whenever the closing change does not happen; a committed change replaced the parent's
/// item, fence and all.
pub async fn close<Commit, Done>(
    store: &Store,
    org: &OrgId,
    parent: Closable<'_>,
    version: u64,
    in_use: ApiError,
    changed: ApiError,
    commit: Commit,
) -> ApiResult<()>
where
    Commit: FnOnce(Fence) -> Done,
    Done: std::future::Future<Output = ApiResult<()>>,
{
    let parent_key = parent.key(org);
    let fence = raise_fence(store, parent_key.clone(), version, changed).await?;
    let outcome = match any(store, org, parent.parent()).await {
        Ok(true) => Err(in_use),
        Ok(false) if !fence.holds_at(store.clock().now()) => {
            Err(ApiError::conflict("this change took too long and was not made; retry"))
        }
        Ok(false) => commit(fence).await,
        Err(error) => Err(error),
    };
    if outcome.is_err() {
        lower_fence(store, parent_key, fence).await;
    }
    outcome
}

/// Lowers the fence when the closing change did not happen. Best effort: a fence already
/// gone (the parent was replaced meanwhile) needs nothing, and one this call fails to lower
/// expires by itself.
async fn lower_fence(store: &Store, parent_key: Item, fence: Fence) {
    let mut transaction = Transaction::new();
    let gone = ApiError::conflict("the fence was already gone");
    if transaction
        .set_attribute(parent_key, FENCE, None, fence.still_raised(), gone)
        .is_ok()
    {
        let _ = transaction.send(store).await;
    }
}
