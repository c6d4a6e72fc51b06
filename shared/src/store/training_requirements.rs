//! Training requirements, their backfills and what they made.
//!
//! - A requirement: `ORG#<org>#TRAINING_REQUIREMENTS / trq_…`, so the engine reads an
//!   organization's requirements in one Query.
//! - Its backfill: `ORG#<org>#TRAINING_REQUIREMENTS / BACKFILL#trq_…`; while running it
//!   also sits on GSI7 `TRQ_BACKFILL / <started millis>#<org>#<trq>`, which the rule
//!   function's sweep reads across organizations; a finished one leaves it.
//! - What it made: `ORG#<org>#TRQ#<trq> / usr_…` names the assignment the requirement made
//!   for that person last. Written in the assignment's transaction on a condition, it is
//!   what keeps a retried or concurrent run from making a second.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI7, GSI7PK, GSI7SK};
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingAssignmentId, TrainingRequirementId, UserId};
use crate::model::training_requirements::{Backfill, BackfillStatus, TrainingRequirement};
use crate::time::Timestamp;

const BACKFILL_PREFIX: &str = "BACKFILL#";
const BACKFILL_QUEUE: &str = "TRQ_BACKFILL";

fn requirements_partition(org: &OrgId) -> String {
    format!("ORG#{org}#TRAINING_REQUIREMENTS")
}

fn requirement_key(org: &OrgId, id: &TrainingRequirementId) -> Item {
    keys::key(requirements_partition(org), id.as_str())
}

fn backfill_key(org: &OrgId, id: &TrainingRequirementId) -> Item {
    keys::key(requirements_partition(org), format!("{BACKFILL_PREFIX}{id}"))
}

fn marker_key(org: &OrgId, id: &TrainingRequirementId, user: &UserId) -> Item {
    keys::key(format!("ORG#{org}#TRQ#{id}"), user.as_str())
}

fn requirement_item(requirement: &TrainingRequirement) -> ApiResult<Item> {
    let mut item = to_item(requirement)?;
    item.extend(requirement_key(&requirement.organization_id, &requirement.id));
    Ok(item)
}

fn backfill_item(backfill: &Backfill) -> ApiResult<Item> {
    let mut item = to_item(backfill)?;
    item.extend(backfill_key(&backfill.organization_id, &backfill.requirement_id));
    if backfill.status == BackfillStatus::Running {
        item.insert(GSI7PK.into(), AttributeValue::S(BACKFILL_QUEUE.into()));
        item.insert(
            GSI7SK.into(),
            AttributeValue::S(format!(
                "{}#{}#{}",
                keys::millis_sort_key(backfill.started_at.millis()),
                backfill.organization_id,
                backfill.requirement_id
            )),
        );
    }
    Ok(item)
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the training requirement was changed by a concurrent request; retry")
}

pub async fn get(store: &Store, org: &OrgId, id: &TrainingRequirementId) -> ApiResult<Option<TrainingRequirement>> {
    store.get(requirement_key(org, id)).await
}

pub async fn get_backfill(store: &Store, org: &OrgId, id: &TrainingRequirementId) -> ApiResult<Option<Backfill>> {
    store.get(backfill_key(org, id)).await
}

/// Every requirement of the organization (at most `MAX_REQUIREMENTS`), by id: one
/// strongly consistent Query.
pub async fn all(store: &Store, org: &OrgId) -> ApiResult<Vec<TrainingRequirement>> {
    let spec = QuerySpec::table(
        requirements_partition(org),
        SortRange::BeginsWith(TrainingRequirementId::PREFIX.into()),
    )
    .consistent();
    store
        .query_all(&spec)
        .await?
        .into_iter()
        .map(super::from_item)
        .collect()
}

/// One page of the organization's requirements, by id (creation).
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&std::collections::BTreeMap<String, String>>,
) -> ApiResult<super::Page<TrainingRequirement>> {
    let spec = QuerySpec::table(
        requirements_partition(org),
        SortRange::BeginsWith(TrainingRequirementId::PREFIX.into()),
    );
    store.query_records(&spec, limit, after).await
}

/// A new requirement and its first backfill.
pub fn put_new(transaction: &mut Transaction, requirement: &TrainingRequirement, backfill: &Backfill) -> ApiResult<()> {
    transaction.put_new(
        requirement_item(requirement)?,
        ApiError::internal("training requirement id collision"),
    )?;
    transaction.put(backfill_item(backfill)?, None, None)
}

/// Replaces a requirement read at `before.version`; a widening's backfill replaces the
/// one running (it goes through every member again, for the new version).
pub fn put_updated(
    transaction: &mut Transaction,
    before: &TrainingRequirement,
    after: &TrainingRequirement,
    backfill: Option<&Backfill>,
) -> ApiResult<()> {
    transaction.put(
        requirement_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )?;
    match backfill {
        Some(backfill) => transaction.put(backfill_item(backfill)?, None, None),
        None => Ok(()),
    }
}

/// Retires a requirement read at `requirement.version`, with its backfill: a batch that
/// reads it afterwards finds nothing and stops. The assignments it made stay.
pub fn delete(transaction: &mut Transaction, requirement: &TrainingRequirement) -> ApiResult<()> {
    transaction.delete(
        requirement_key(&requirement.organization_id, &requirement.id),
        Some(Condition::at_version(requirement.version)),
        Some(changed_concurrently()),
    )?;
    transaction.delete(backfill_key(&requirement.organization_id, &requirement.id), None, None)
}

/// Saves a batch's progress if no other run saved one since `seen_batches` (the loser of
/// a race stops; what it made is kept, and markers made it harmless). `false`: it lost.
pub async fn save_progress(store: &Store, backfill: &Backfill, seen_batches: u64) -> ApiResult<bool> {
    let condition = Condition::new("#batches = :seen AND #version = :version")
        .name("#batches", "batches")
        .name("#version", "requirementVersion")
        .value(":seen", AttributeValue::N(seen_batches.to_string()))
        .value(":version", AttributeValue::N(backfill.requirement_version.to_string()));
    store.put_if(backfill_item(backfill)?, condition).await
}

/// Running backfills, every organization's, oldest first.
pub async fn running(store: &Store, limit: usize) -> ApiResult<Vec<Backfill>> {
    let spec = QuerySpec::index(GSI7, GSI7PK, GSI7SK, BACKFILL_QUEUE.into(), SortRange::All);
    Ok(store.query_records(&spec, limit, None).await?.items)
}

/// The organization's running backfills (a strongly consistent Query of its requirements'
/// partition).
pub async fn running_in(store: &Store, org: &OrgId) -> ApiResult<Vec<Backfill>> {
    let spec = QuerySpec::table(
        requirements_partition(org),
        SortRange::BeginsWith(BACKFILL_PREFIX.into()),
    )
    .consistent();
    let all: Vec<Backfill> = store
        .query_all(&spec)
        .await?
        .into_iter()
        .map(super::from_item)
        .collect::<ApiResult<_>>()?;
    Ok(all
        .into_iter()
        .filter(|backfill| backfill.status == BackfillStatus::Running)
        .collect())
}

/// An assignment a requirement made for a person, with the ones the engine's read saw it
/// make before.
pub struct Made<'a> {
    pub org: &'a OrgId,
    pub requirement: &'a TrainingRequirementId,
    pub user: &'a UserId,
    pub assignment: &'a TrainingAssignmentId,
    pub made_before: &'a [TrainingAssignmentId],
}

/// The marker must be absent or name one of `made_before`, so a run that read before
/// another's write makes nothing: the transaction fails with `ALREADY_MADE`.
pub fn mark_made(transaction: &mut Transaction, made: &Made<'_>, now: Timestamp) -> ApiResult<()> {
    let mut item = marker_key(made.org, made.requirement, made.user);
    item.insert("assignmentId".into(), AttributeValue::S(made.assignment.to_string()));
    item.insert("madeAt".into(), AttributeValue::S(now.to_string()));
    let mut condition = Condition::item_absent();
    if !made.made_before.is_empty() {
        let placeholders: Vec<String> = (0..made.made_before.len()).map(|i| format!(":made{i}")).collect();
        let mut either = Condition::new(format!(
            "attribute_not_exists(PK) OR #assignment IN ({})",
            placeholders.join(", ")
        ))
        .name("#assignment", "assignmentId");
        for (placeholder, id) in placeholders.iter().zip(made.made_before) {
            either = either.value(placeholder, AttributeValue::S(id.to_string()));
        }
        condition = either;
    }
    transaction.put(item, Some(condition), Some(already_made()))
}

/// What a lost race to make a requirement's assignment is: nothing to do.
pub const ALREADY_MADE: &str = "the requirement's assignment for this person was made meanwhile";

pub fn already_made() -> ApiError {
    ApiError::conflict(ALREADY_MADE)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::ids::{FacilityId, RoleId, TrainingModuleId};
    use crate::model::roles::{RoleRef, SystemRole};
    use crate::model::training_requirements::{AppliesTo, NewRequirement, new_requirement, start_backfill};

    fn role() -> impl Strategy<Value = RoleRef> {
        prop_oneof![
            proptest::sample::select(SystemRole::ALL.to_vec()).prop_map(RoleRef::System),
            Just(()).prop_map(|()| RoleRef::Custom(RoleId::new())),
        ]
    }

    fn applies_to() -> impl Strategy<Value = (bool, Vec<RoleRef>, usize)> {
        (any::<bool>(), proptest::collection::vec(role(), 0..40), 0..40usize)
    }

    proptest! {
        /// Whatever `AppliesTo::parse` accepts is stored and read back equal, with its
        /// backfill (a member position included).
        #[test]
        fn an_accepted_requirement_and_its_backfill_read_back_equal(
            (everyone, roles, facilities) in applies_to(),
            days in 1..=365u32,
            before_access in any::<bool>(),
            position in proptest::option::of("[A-Za-z0-9#_]{1,40}"),
        ) {
            let facility_ids: Vec<FacilityId> = (0..facilities).map(|_| FacilityId::new()).collect();
            let Ok(parsed) = AppliesTo::parse(everyone, &roles, &facility_ids) else {
                return Ok(());
            };
            let org = OrgId::new();
            let now = Timestamp::from_millis(1_700_000_000_123);
            let requirement = new_requirement(
                &org,
                NewRequirement {
                    training_module_id: TrainingModuleId::new(),
                    applies_to: parsed,
                    due_within_days: days,
                    before_access,
                },
                &UserId::new(),
                now,
            );
            let read: TrainingRequirement = super::super::from_item(requirement_item(&requirement).unwrap()).unwrap();
            prop_assert_eq!(&read, &requirement);
            let mut backfill = start_backfill(&requirement, now);
            backfill.after = position.map(|sk| BTreeMap::from([("PK".to_string(), "ORG#x".to_string()), ("SK".to_string(), sk)]));
            let read: Backfill = super::super::from_item(backfill_item(&backfill).unwrap()).unwrap();
            prop_assert_eq!(read, backfill);
        }
    }
}
