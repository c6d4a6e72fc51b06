//! Training modules: `ORG#<org> / TM#<tm>`, and `ORG#<org> / TM_OPEN#<tm>` counting the
//! open assignments that name the module (retiring it needs zero).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::{Condition, CounterLimit};
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingModuleId};
use crate::model::training_modules::{ModuleStatus, TrainingModule};

fn module_key(org: &OrgId, id: &TrainingModuleId) -> Item {
    keys::key(keys::org_partition(org), keys::training_module_sort_key(id))
}

fn open_assignments_key(org: &OrgId, id: &TrainingModuleId) -> Item {
    keys::key(keys::org_partition(org), keys::training_module_open_sort_key(id))
}

fn module_item(module: &TrainingModule) -> ApiResult<Item> {
    let mut item = to_item(module)?;
    item.extend(module_key(&module.organization_id, &module.id));
    Ok(item)
}

pub async fn get(store: &Store, org: &OrgId, id: &TrainingModuleId) -> ApiResult<Option<TrainingModule>> {
    store.get(module_key(org, id)).await
}

/// Several modules of one organization; those that do not exist are absent.
pub async fn get_many(store: &Store, org: &OrgId, ids: &[TrainingModuleId]) -> ApiResult<Vec<TrainingModule>> {
    store
        .get_records(ids.iter().map(|id| module_key(org, id)).collect())
        .await
}

pub fn put_new(transaction: &mut Transaction, module: &TrainingModule) -> ApiResult<()> {
    transaction.put_new(module_item(module)?, ApiError::internal("training module id collision"))
}

/// Replaces a module read at `before.version`; retiring it commits only while no open
/// assignment names it.
pub fn put_updated(transaction: &mut Transaction, before: &TrainingModule, after: &TrainingModule) -> ApiResult<()> {
    transaction.put(
        module_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(ApiError::conflict(
            "the training module was changed by a concurrent request; retry",
        )),
    )?;
    if before.status == ModuleStatus::Active && after.status == ModuleStatus::Retired {
        let unused = Condition::new("attribute_not_exists(PK) OR #count = :zero")
            .name("#count", "count")
            .value(":zero", AttributeValue::N("0".into()));
        transaction.condition_check(
            open_assignments_key(&after.organization_id, &after.id),
            unused,
            ApiError::conflict(
                "this training module has open assignments (assigned, in progress or overdue); complete, waive or delete them first",
            ),
        )?;
    }
    Ok(())
}

/// Counts an open assignment onto (`delta` 1) or off (-1) the module; adding requires the
/// module to be active when the transaction commits.
pub fn count_open_assignment(
    transaction: &mut Transaction,
    org: &OrgId,
    id: &TrainingModuleId,
    delta: i64,
) -> ApiResult<()> {
    let key = open_assignments_key(org, id);
    if delta > 0 {
        let active = Condition::new("#status = :active")
            .name("#status", "status")
            .value(":active", AttributeValue::S("active".into()));
        transaction.condition_check(
            module_key(org, id),
            active,
            ApiError::conflict(format!("training module `{id}` was retired meanwhile")),
        )?;
        transaction.add_to_counter(key, "count", delta, None)
    } else {
        transaction.add_to_counter(
            key,
            "count",
            delta,
            Some((
                CounterLimit::AtLeast(0),
                ApiError::conflict("the module's assignments changed concurrently; retry"),
            )),
        )
    }
}

/// The organization's active modules, by creation; `include_retired` lists all.
pub async fn list(
    store: &Store,
    org: &OrgId,
    include_retired: bool,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingModule>> {
    let filter = (!include_retired).then(|| Filter {
        expression: "#status = :active".into(),
        names: HashMap::from([("#status".to_string(), "status".to_string())]),
        values: HashMap::from([(":active".to_string(), AttributeValue::S("active".into()))]),
    });
    let spec = QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::TRAINING_MODULE_PREFIX.into()),
    )
    .with_filter(filter);
    store.query_records(&spec, limit, after).await
}
