//! Facilities: `ORG#<org> / FAC#<fac>`, with `ORG#<org> / FACNAME#<lowercase name>`
//! markers that make a name unique in the organization, and `ORG#<org> / FAC_OPEN#<fac>`
//! counting the open training assignments whose scope holds the facility.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::{Condition, CounterLimit};
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId};
use crate::model::facilities::{Facility, FacilityStatus, name_key};

fn facility_key(org: &OrgId, id: &FacilityId) -> Item {
    keys::key(keys::org_partition(org), keys::facility_sort_key(id))
}

fn name_marker_key(org: &OrgId, name: &str) -> Item {
    keys::key(keys::org_partition(org), keys::facility_name_sort_key(&name_key(name)))
}

fn open_scopes_key(org: &OrgId, id: &FacilityId) -> Item {
    keys::key(keys::org_partition(org), keys::facility_open_scopes_sort_key(id))
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

/// Replaces a facility read at `before.version`, moving its name marker when the name
/// changed (case-insensitively) and releasing it when the facility is deleted; a deletion
/// commits only while no open assignment has the facility in its scope.
pub fn put_updated(transaction: &mut Transaction, before: &Facility, after: &Facility) -> ApiResult<()> {
    transaction.put(
        facility_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )?;
    let deleted = after.status == FacilityStatus::Deleted;
    let renamed = name_key(&before.name) != name_key(&after.name);
    if deleted || renamed {
        delete_name_marker(transaction, before)?;
    }
    if renamed && !deleted {
        put_name_marker(transaction, after)?;
    }
    if deleted {
        let unused = Condition::new("attribute_not_exists(PK) OR #count = :zero")
            .name("#count", "count")
            .value(":zero", AttributeValue::N("0".into()));
        transaction.condition_check(
            open_scopes_key(&after.organization_id, &after.id),
            unused,
            ApiError::conflict(
                "this facility is in the scope of open training assignments; complete, waive or rescope them first",
            ),
        )?;
    }
    Ok(())
}

/// Counts an open assignment into (`delta` 1) or out of (-1) the facility's scope; adding
/// requires the facility to be active when the transaction commits.
pub fn count_open_scope(transaction: &mut Transaction, org: &OrgId, id: &FacilityId, delta: i64) -> ApiResult<()> {
    let key = open_scopes_key(org, id);
    if delta > 0 {
        let active = Condition::new("#status = :active")
            .name("#status", "status")
            .value(":active", AttributeValue::S("active".into()));
        transaction.condition_check(
            facility_key(org, id),
            active,
            ApiError::conflict(format!("facility `{id}` was deleted meanwhile")),
        )?;
        transaction.add_to_counter(key, "count", delta, None)
    } else {
        transaction.add_to_counter(
            key,
            "count",
            delta,
            Some((
                CounterLimit::AtLeast(0),
                ApiError::conflict("a facility scope changed concurrently; retry"),
            )),
        )
    }
}

/// The organization's facilities that are not deleted, by creation (ids are time-ordered).
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<Facility>> {
    let filter = Filter {
        expression: "#status = :active".into(),
        names: HashMap::from([("#status".to_string(), "status".to_string())]),
        values: HashMap::from([(":active".to_string(), AttributeValue::S("active".into()))]),
    };
    let spec = QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::FACILITY_PREFIX.into()),
    )
    .with_filter(Some(filter));
    store.query_records(&spec, limit, after).await
}
