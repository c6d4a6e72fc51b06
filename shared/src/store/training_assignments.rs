//! Training assignments: `ORG#<org> / TA#<ta>`, indexed for each filter and sort of
//! `GET /training-assignments` (GSI1 by person, GSI2 by module, GSI3 by due date, GSI4
//! by progress group, GSI5 by completion, GSI6 by expiry), and one link item per scoped
//! facility, `ORG#<org>#TA_FACILITY#<fac> / <ta>`. Which index serves which query is the
//! table in `docs/access-patterns.md`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{
    self, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, GSI3SK, GSI4, GSI4PK, GSI4SK, GSI5, GSI5PK, GSI5SK,
    GSI6, GSI6PK, GSI6SK, GSI7, GSI7PK, GSI7SK, SK,
};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, from_item, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId, TrainingAssignmentId};
use crate::model::training_assignments::{
    AssignmentQuery, AssignmentSort, Progress, TrainingAssignment, TrainingStatus,
};
use crate::time::{Date, Timestamp};

fn assignment_key(org: &OrgId, id: &TrainingAssignmentId) -> Item {
    keys::key(keys::org_partition(org), keys::training_assignment_sort_key(id))
}

fn facility_link_key(org: &OrgId, facility: &FacilityId, id: &TrainingAssignmentId) -> Item {
    keys::key(keys::assignments_of_facility_partition(org, facility), id.to_string())
}

/// The progress group of GSI4.
fn group(progress: Progress) -> &'static str {
    match progress {
        Progress::Assigned | Progress::InProgress => "open",
        Progress::Complete => "complete",
        Progress::Waived => "waived",
    }
}

/// The stored record's own attributes (`StoredAssignment`), which a list reads without
/// the index attributes beside them (`QuerySpec::projecting`). A test keeps it equal to
/// what `assignment_item` writes less the index attributes.
pub const RECORD_ATTRIBUTES: &[&str] = &[
    "id",
    "organizationId",
    "userId",
    "trainingModuleId",
    "progress",
    "status",
    "dueDate",
    "notes",
    "facilityIds",
    "startedAt",
    "completedAt",
    "completedBy",
    "score",
    "certificateReference",
    "sourceStatementId",
    "expiresAt",
    "waivedAt",
    "waivedBy",
    "waiverReason",
    "createdBy",
    "createdAt",
    "updatedAt",
    "version",
    "renewalOf",
    "renewedBy",
    "renewalSkipped",
    "markedOverdueAt",
    "requirementId",
];

fn assignment_item(assignment: &TrainingAssignment) -> ApiResult<Item> {
    let org = &assignment.organization_id;
    let id = assignment.id.to_string();
    let mut item = to_item(assignment)?;
    // An unset field is left out rather than stored as NULL: about a third fewer
    // attributes to store, read and parse per assignment (a read takes absent as unset).
    item.retain(|_, value| !matches!(value, AttributeValue::Null(true)));
    item.extend(assignment_key(org, &assignment.id));
    let mut index = |partition: &str, sort: &str, pk: String, sk: String| {
        item.insert(partition.to_string(), AttributeValue::S(pk));
        item.insert(sort.to_string(), AttributeValue::S(sk));
    };
    let mut numbers = Vec::new();
    index(
        GSI1PK,
        GSI1SK,
        keys::assignments_of_user_partition(org, &assignment.user_id),
        id.clone(),
    );
    index(
        GSI2PK,
        GSI2SK,
        keys::assignments_of_module_partition(org, &assignment.training_module_id),
        id.clone(),
    );
    index(
        GSI3PK,
        GSI3SK,
        keys::assignments_by_due_date_partition(org),
        format!("{}#{id}", assignment.due_date),
    );
    index(
        GSI4PK,
        GSI4SK,
        keys::assignments_in_group_partition(org, group(assignment.progress())),
        id.clone(),
    );
    // GSI5 and GSI6 are sparse: only assignments with a completion (an expiry) are in them.
    if let Some(completed_at) = assignment.state.completed_at() {
        index(
            GSI5PK,
            GSI5SK,
            keys::assignments_by_completion_partition(org),
            format!("{}#{id}", keys::millis_sort_key(completed_at.millis())),
        );
        numbers.push(("completedAtMillis", completed_at.millis()));
    }
    if let Some(expires_at) = assignment.state.expires_at() {
        index(
            GSI6PK,
            GSI6SK,
            keys::assignments_by_expiry_partition(org),
            format!("{}#{id}", keys::millis_sort_key(expires_at.millis())),
        );
        numbers.push(("expiresAtMillis", expires_at.millis()));
    }
    // GSI7 (the daily job's, across organizations) is sparse too.
    let shard = keys::schedule_shard(&assignment.id);
    if assignment.awaits_overdue_mark() {
        index(
            GSI7PK,
            GSI7SK,
            keys::open_assignments_by_due_date_partition(shard),
            format!("{}#{org}#{id}", assignment.due_date),
        );
    }
    if let (true, Some(expires_at)) = (assignment.awaits_renewal(), assignment.state.expires_at()) {
        index(
            GSI7PK,
            GSI7SK,
            keys::completions_awaiting_renewal_partition(shard),
            format!("{}#{org}#{id}", keys::millis_sort_key(expires_at.millis())),
        );
    }
    // For filters on another index: times as numbers.
    for (name, millis) in numbers {
        item.insert(name.into(), number(millis));
    }
    Ok(item)
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the training assignment was changed by a concurrent request; retry")
}

pub async fn get(store: &Store, org: &OrgId, id: &TrainingAssignmentId) -> ApiResult<Option<TrainingAssignment>> {
    store.get(assignment_key(org, id)).await
}

fn facility_link(assignment: &TrainingAssignment, facility: &FacilityId) -> Item {
    let mut link = facility_link_key(&assignment.organization_id, facility, &assignment.id);
    link.insert("assignmentId".into(), AttributeValue::S(assignment.id.to_string()));
    link
}

fn link_facility(
    transaction: &mut Transaction,
    assignment: &TrainingAssignment,
    facility: &FacilityId,
) -> ApiResult<()> {
    transaction.put(facility_link(assignment, facility), None, None)
}

fn unlink_facility(
    transaction: &mut Transaction,
    assignment: &TrainingAssignment,
    facility: &FacilityId,
) -> ApiResult<()> {
    transaction.delete(
        facility_link_key(&assignment.organization_id, facility, &assignment.id),
        None,
        None,
    )
}

pub fn put_new(transaction: &mut Transaction, assignment: &TrainingAssignment) -> ApiResult<()> {
    transaction.put_new(
        assignment_item(assignment)?,
        ApiError::internal("training assignment id collision"),
    )?;
    for facility in &assignment.facility_ids {
        link_facility(transaction, assignment, facility)?;
    }
    Ok(())
}

/// Replaces an assignment read at `before.version`, and its facility links with it.
pub fn put_updated(
    transaction: &mut Transaction,
    before: &TrainingAssignment,
    after: &TrainingAssignment,
) -> ApiResult<()> {
    transaction.put(
        assignment_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )?;
    for facility in after.facility_ids.iter().filter(|id| !before.facility_ids.contains(id)) {
        link_facility(transaction, after, facility)?;
    }
    for facility in before.facility_ids.iter().filter(|id| !after.facility_ids.contains(id)) {
        unlink_facility(transaction, before, facility)?;
    }
    Ok(())
}

/// Erases an assignment read at `assignment.version`, with its facility links.
pub fn delete(transaction: &mut Transaction, assignment: &TrainingAssignment) -> ApiResult<()> {
    transaction.delete(
        assignment_key(&assignment.organization_id, &assignment.id),
        Some(Condition::at_version(assignment.version)),
        Some(changed_concurrently()),
    )?;
    for facility in &assignment.facility_ids {
        unlink_facility(transaction, assignment, facility)?;
    }
    Ok(())
}

/// Writes assignments with their index entries and facility links as they are, 25 items
/// a BatchWriteItem: a bulk load (the export benchmark seeds 100,000 this way). It writes
/// no audit event and moves no open-assignment count, so it is never an API path.
pub async fn import_batch(store: &Store, assignments: &[TrainingAssignment]) -> ApiResult<()> {
    let mut writes = Vec::new();
    for assignment in assignments {
        writes.push(assignment_item(assignment)?);
        for facility in &assignment.facility_ids {
            writes.push(facility_link(assignment, facility));
        }
    }
    super::put_all(store, writes).await
}

/// Every assignment of one person in the organization, in creation order (GSI1).
pub async fn of_user(store: &Store, org: &OrgId, user: &crate::ids::UserId) -> ApiResult<Vec<TrainingAssignment>> {
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        keys::assignments_of_user_partition(org, user),
        SortRange::BeginsWith(TrainingAssignmentId::PREFIX.into()),
    );
    store.query_all(&spec).await?.into_iter().map(from_item).collect()
}

/// One page of the open assignments not yet marked overdue whose due date is before
/// `today`, of every organization, in one of the daily job's shards (GSI7).
pub async fn open_past_due(
    store: &Store,
    shard: u8,
    today: Date,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingAssignment>> {
    // `<due date>#…` sorts after every earlier date and after `today` itself.
    let partition = keys::open_assignments_by_due_date_partition(shard);
    job_page(store, partition, today.to_string(), limit, after).await
}

/// One page of the completions not yet renewed that expire before `until`, of every
/// organization, in one of the daily job's shards (GSI7).
pub async fn awaiting_renewal(
    store: &Store,
    shard: u8,
    until: Timestamp,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingAssignment>> {
    let partition = keys::completions_awaiting_renewal_partition(shard);
    job_page(store, partition, keys::millis_sort_key(until.millis()), limit, after).await
}

/// A page of one GSI7 partition, from its start up to `upper`.
async fn job_page(
    store: &Store,
    partition: String,
    upper: String,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingAssignment>> {
    let spec = QuerySpec::index(GSI7, GSI7PK, GSI7SK, partition, SortRange::Between("0".into(), upper));
    store.query_records(&spec, limit, after).await
}

/// The daily job's write of an assignment it read at `before`: conditioned on the version
/// (which the job does not change) and on the job's own fields still being unset, so a
/// completion, a waiver or a second run of the job that landed first is never overwritten.
pub fn put_scheduled_change(
    transaction: &mut Transaction,
    before: &TrainingAssignment,
    after: &TrainingAssignment,
) -> ApiResult<()> {
    let unset =
        |placeholder: &str| format!("(attribute_not_exists({placeholder}) OR attribute_type({placeholder}, :null))");
    let condition = Condition::new(format!(
        "#version = :version AND #status = :status AND {} AND {}",
        unset("#renewedBy"),
        unset("#renewalSkipped")
    ))
    .name("#version", "version")
    .name("#status", "status")
    .name("#renewedBy", "renewedBy")
    .name("#renewalSkipped", "renewalSkipped")
    .value(":version", number(i64::try_from(before.version).unwrap_or(i64::MAX)))
    .value(":status", text(before.status.as_str()))
    .value(":null", text("NULL"));
    transaction.put(
        assignment_item(after)?,
        Some(condition),
        Some(ApiError::conflict("the assignment changed while the daily job ran")),
    )
}

/// One FilterExpression built condition by condition, with its names and values.
#[derive(Default)]
struct Conditions {
    parts: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Conditions {
    fn add(&mut self, expression: &str, names: &[(&str, &str)], values: Vec<(&str, AttributeValue)>) {
        self.parts.push(format!("({expression})"));
        for (placeholder, name) in names {
            self.names.insert((*placeholder).to_string(), (*name).to_string());
        }
        for (placeholder, value) in values {
            self.values.insert(placeholder.to_string(), value);
        }
    }

    fn into_filter(self) -> Option<Filter> {
        (!self.parts.is_empty()).then(|| Filter {
            expression: self.parts.join(" AND "),
            names: self.names,
            values: self.values,
        })
    }
}

fn text(value: impl ToString) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Which key serves a query: the sort's index, else the most selective filter's, else
/// the organization's assignments in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Sort,
    User,
    Module,
    Group,
    Everything,
}

fn spec_for(org: &OrgId, query: &AssignmentQuery) -> (QuerySpec, Served) {
    let after_millis = |t: Option<crate::time::Timestamp>| keys::millis_sort_key(t.map_or(0, |t| t.millis()));
    let before_millis = |t: Option<crate::time::Timestamp>| match t {
        Some(t) => keys::millis_sort_key(t.millis()),
        None => "~".to_string(),
    };
    let index = |name, pk, sk, partition, sort| (QuerySpec::index(name, pk, sk, partition, sort), Served::Sort);
    match query.sort {
        AssignmentSort::DueDate => index(
            GSI3,
            GSI3PK,
            GSI3SK,
            keys::assignments_by_due_date_partition(org),
            match query.due_before {
                Some(bound) => SortRange::Between("0".into(), bound.to_string()),
                None => SortRange::All,
            },
        ),
        AssignmentSort::CompletedAt => index(
            GSI5,
            GSI5PK,
            GSI5SK,
            keys::assignments_by_completion_partition(org),
            SortRange::Between(
                after_millis(query.completed_after),
                before_millis(query.completed_before),
            ),
        ),
        AssignmentSort::ExpiresAt => index(
            GSI6,
            GSI6PK,
            GSI6SK,
            keys::assignments_by_expiry_partition(org),
            SortRange::Between(after_millis(None), before_millis(query.expires_before)),
        ),
        AssignmentSort::CreatedAt => {
            let by_id = || SortRange::BeginsWith(TrainingAssignmentId::PREFIX.into());
            if let Some(user) = &query.user_id {
                let partition = keys::assignments_of_user_partition(org, user);
                (QuerySpec::index(GSI1, GSI1PK, GSI1SK, partition, by_id()), Served::User)
            } else if let Some(module) = &query.module_id {
                let partition = keys::assignments_of_module_partition(org, module);
                (
                    QuerySpec::index(GSI2, GSI2PK, GSI2SK, partition, by_id()),
                    Served::Module,
                )
            } else if let Some(status) = query.status {
                let group = match status {
                    TrainingStatus::Complete => "complete",
                    TrainingStatus::Waived => "waived",
                    _ => "open",
                };
                let partition = keys::assignments_in_group_partition(org, group);
                (
                    QuerySpec::index(GSI4, GSI4PK, GSI4SK, partition, by_id()),
                    Served::Group,
                )
            } else {
                let everything = QuerySpec::table(
                    keys::org_partition(org),
                    SortRange::BeginsWith(keys::TRAINING_ASSIGNMENT_PREFIX.into()),
                );
                (everything, Served::Everything)
            }
        }
    }
}

/// The conditions of `query` that its key does not already guarantee.
fn remaining_conditions(query: &AssignmentQuery, served: Served, today: Date) -> Conditions {
    let mut conditions = Conditions::default();
    if let (Some(user), false) = (&query.user_id, served == Served::User) {
        conditions.add(
            "#userId = :userId",
            &[("#userId", "userId")],
            vec![(":userId", text(user))],
        );
    }
    if let (Some(module), false) = (&query.module_id, served == Served::Module) {
        conditions.add(
            "#module = :module",
            &[("#module", "trainingModuleId")],
            vec![(":module", text(module))],
        );
    }
    if let Some(facility) = &query.facility_id {
        conditions.add(
            "contains(#facilities, :facility)",
            &[("#facilities", "facilityIds")],
            vec![(":facility", text(facility))],
        );
    }
    if let Some(status) = query.status {
        let names = [("#progress", "progress"), ("#due", "dueDate")];
        let today = || (":today", text(today));
        match status {
            TrainingStatus::Complete | TrainingStatus::Waived if served == Served::Group => {}
            TrainingStatus::Complete => conditions.add(
                "#progress = :complete",
                &names[..1],
                vec![(":complete", text("complete"))],
            ),
            TrainingStatus::Waived => {
                conditions.add("#progress = :waived", &names[..1], vec![(":waived", text("waived"))]);
            }
            TrainingStatus::Overdue => conditions.add(
                "#progress IN (:assigned, :in_progress) AND #due < :today",
                &names,
                vec![
                    (":assigned", text("assigned")),
                    (":in_progress", text("in_progress")),
                    today(),
                ],
            ),
            TrainingStatus::Assigned | TrainingStatus::InProgress => conditions.add(
                "#progress = :progress AND #due >= :today",
                &names,
                vec![(":progress", text(status.as_str())), today()],
            ),
        }
    }
    let by_completion = query.sort == AssignmentSort::CompletedAt;
    if let (Some(after), false) = (query.completed_after, by_completion) {
        conditions.add(
            "#completedAt >= :completedAfter",
            &[("#completedAt", "completedAtMillis")],
            vec![(":completedAfter", number(after.millis()))],
        );
    }
    if let (Some(before), false) = (query.completed_before, by_completion) {
        conditions.add(
            "#completedAt < :completedBefore",
            &[("#completedAt", "completedAtMillis")],
            vec![(":completedBefore", number(before.millis()))],
        );
    }
    if let (Some(bound), false) = (query.due_before, query.sort == AssignmentSort::DueDate) {
        conditions.add(
            "#dueBefore < :dueBefore",
            &[("#dueBefore", "dueDate")],
            vec![(":dueBefore", text(bound))],
        );
    }
    if let (Some(bound), false) = (query.expires_before, query.sort == AssignmentSort::ExpiresAt) {
        conditions.add(
            "#expiresAt < :expiresBefore",
            &[("#expiresAt", "expiresAtMillis")],
            vec![(":expiresBefore", number(bound.millis()))],
        );
    }
    conditions
}

/// One page of `GET /training-assignments`. A facility filter in creation order reads
/// the facility's links and then the assignments they name (BatchGetItem), applying the
/// other filters to those rows; every other query is one Query on the serving key.
pub async fn list(
    store: &Store,
    org: &OrgId,
    query: &AssignmentQuery,
    today: Date,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingAssignment>> {
    if let (Some(facility), AssignmentSort::CreatedAt) = (&query.facility_id, query.sort) {
        return list_scoped_to(store, org, facility, query, today, limit, after).await;
    }
    let (spec, served) = spec_for(org, query);
    let mut spec = spec
        .with_filter(remaining_conditions(query, served, today).into_filter())
        .projecting(RECORD_ATTRIBUTES);
    spec.newest_first = query.descending;
    store.query_records(&spec, limit, after).await
}

async fn list_scoped_to(
    store: &Store,
    org: &OrgId,
    facility: &FacilityId,
    query: &AssignmentQuery,
    today: Date,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingAssignment>> {
    let mut spec = QuerySpec::table(
        keys::assignments_of_facility_partition(org, facility),
        SortRange::BeginsWith(TrainingAssignmentId::PREFIX.into()),
    );
    spec.newest_first = query.descending;
    let links = store.query_page(&spec, limit, after).await?;
    let ids: Vec<String> = links
        .items
        .iter()
        .filter_map(|link| keys::string_attribute(link, SK))
        .collect();
    let partition = keys::org_partition(org);
    let wanted = ids
        .iter()
        .map(|id| keys::key(partition.clone(), format!("{}{id}", keys::TRAINING_ASSIGNMENT_PREFIX)))
        .collect();
    let mut found = store.get_many(wanted).await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in &ids {
        let key = (partition.clone(), format!("{}{id}", keys::TRAINING_ASSIGNMENT_PREFIX));
        if let Some(item) = found.remove(&key) {
            let assignment: TrainingAssignment = from_item(item)?;
            if query.matches(&assignment, today) {
                items.push(assignment);
            }
        }
    }
    Ok(Page {
        items,
        next: links.next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_projects_every_attribute_of_the_record_and_no_index_attribute() {
        let assignment = crate::model::training_assignments::new_assignment(
            &OrgId::new(),
            crate::model::training_assignments::NewAssignment {
                user_id: crate::ids::UserId::new(),
                training_module_id: crate::ids::TrainingModuleId::new(),
                due_date: Date::parse("d", "2025-05-01").unwrap(),
                notes: None,
                facility_ids: Vec::new(),
            },
            &crate::ids::UserId::new(),
            crate::time::Timestamp::from_millis(1_700_000_000_000),
        );
        let mut record: Vec<String> = to_item(&assignment).unwrap().into_keys().collect();
        record.sort();
        let mut projected: Vec<String> = RECORD_ATTRIBUTES.iter().map(|name| name.to_string()).collect();
        projected.sort();
        assert_eq!(projected, record, "RECORD_ATTRIBUTES is the stored record's fields");
        let item = assignment_item(&assignment).unwrap();
        assert!(item.keys().any(|key| !RECORD_ATTRIBUTES.contains(&key.as_str())));
    }

    #[test]
    fn unset_fields_are_not_stored_and_read_back_as_unset() {
        use crate::model::training_assignments::{Completion, NewAssignment, complete, new_assignment, waive};
        let by = crate::ids::UserId::new();
        let at = crate::time::Timestamp::from_millis(1_700_000_000_000);
        let open = new_assignment(
            &OrgId::new(),
            NewAssignment {
                user_id: crate::ids::UserId::new(),
                training_module_id: crate::ids::TrainingModuleId::new(),
                due_date: Date::parse("d", "2025-05-01").unwrap(),
                notes: None,
                facility_ids: Vec::new(),
            },
            &by,
            at,
        );
        let completion = Completion {
            completed_at: at.plus_days(1),
            score: None,
            certificate_reference: Some("LMS-1".into()),
            source_statement_id: Some("fd41c918-b88b-4b20-a0a5-a4c32391aaa0".into()),
        };
        let completed = complete(&open, completion, &by, Some(365), at.plus_days(1)).unwrap();
        let waived = waive(&open, "not needed", &by, at.plus_days(2)).unwrap();
        for assignment in [open, completed, waived] {
            let item = assignment_item(&assignment).unwrap();
            let nulls: Vec<&String> = item
                .iter()
                .filter(|(_, value)| matches!(value, AttributeValue::Null(_)))
                .map(|(name, _)| name)
                .collect();
            assert!(nulls.is_empty(), "stored as NULL: {nulls:?}");
            assert!(!item.contains_key("waiverReason") || assignment.progress() == Progress::Waived);
            let back: TrainingAssignment = from_item(item).unwrap();
            assert_eq!(back, assignment);
        }
    }

    #[test]
    fn every_single_filter_and_sort_is_served_by_a_key_not_a_filter_alone() {
        let org = OrgId::new();
        let today = Date::parse("d", "2025-05-01").unwrap();
        let queries = [
            (
                AssignmentQuery {
                    user_id: Some(crate::ids::UserId::new()),
                    ..Default::default()
                },
                Served::User,
            ),
            (
                AssignmentQuery {
                    module_id: Some(crate::ids::TrainingModuleId::new()),
                    ..Default::default()
                },
                Served::Module,
            ),
            (
                AssignmentQuery {
                    status: Some(TrainingStatus::Waived),
                    ..Default::default()
                },
                Served::Group,
            ),
            (
                AssignmentQuery {
                    sort: AssignmentSort::ExpiresAt,
                    ..Default::default()
                },
                Served::Sort,
            ),
        ];
        for (query, expected) in queries {
            let (spec, served) = spec_for(&org, &query);
            assert_eq!(served, expected, "{query:?}");
            let conditions = remaining_conditions(&query, served, today);
            assert!(conditions.parts.is_empty(), "{query:?}: {:?}", conditions.parts);
            assert_ne!(spec.partition, keys::org_partition(&org));
        }
        // Overdue: the open group's partition, narrowed by the due date.
        let overdue = AssignmentQuery {
            status: Some(TrainingStatus::Overdue),
            ..Default::default()
        };
        let (spec, served) = spec_for(&org, &overdue);
        assert_eq!(spec.partition, keys::assignments_in_group_partition(&org, "open"));
        assert_eq!(remaining_conditions(&overdue, served, today).parts.len(), 1);
    }
}
