//! Training modules: `ORG#<org> / TM#<tm>`. The open assignments that name a module link
//! to it (`store::links`); retiring it needs none left.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::links::{self, Closable, Fence, Parent};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingAssignmentId, TrainingModuleId};
use crate::model::training_modules::TrainingModule;
use crate::time::Timestamp;

fn module_key(org: &OrgId, id: &TrainingModuleId) -> Item {
    keys::key(keys::org_partition(org), keys::training_module_sort_key(id))
}

fn module_item(module: &TrainingModule) -> ApiResult<Item> {
    let mut item = to_item(module)?;
    item.extend(module_key(&module.organization_id, &module.id));
    if let Some(activity) = module.activity_id() {
        item.insert(
            keys::GSI3PK.into(),
            AttributeValue::S(keys::modules_with_activity_partition(&module.organization_id, activity)),
        );
        item.insert(keys::GSI3SK.into(), AttributeValue::S(module.id.to_string()));
    }
    Ok(item)
}

/// The modules of `org` whose xAPI activity id (`TrainingModule::activity_id`) is `url`
/// (GSI3, sparse), retired ones included.
pub async fn with_activity(store: &Store, org: &OrgId, url: &str) -> ApiResult<Vec<TrainingModule>> {
    let spec = QuerySpec::index(
        keys::GSI3,
        keys::GSI3PK,
        keys::GSI3SK,
        keys::modules_with_activity_partition(org, url),
        SortRange::BeginsWith(TrainingModuleId::PREFIX.into()),
    );
    let mut modules: Vec<TrainingModule> = Vec::new();
    for item in store.query_all(&spec).await? {
        let module: TrainingModule = super::from_item(item)?;
        if module.activity_id() == Some(url) {
            modules.push(module);
        }
    }
    Ok(modules)
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

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the training module was changed by a concurrent request; retry")
}

/// Replaces a module read at `before.version`.
pub fn put_updated(transaction: &mut Transaction, before: &TrainingModule, after: &TrainingModule) -> ApiResult<()> {
    transaction.put(
        module_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )
}

/// Retires a module while no open assignment names it: `commit` writes `after` (with
/// `put_retired`) and its event under the fence `store::links::close` raised.
pub async fn retire<Commit, Done>(store: &Store, before: &TrainingModule, commit: Commit) -> ApiResult<()>
where
    Commit: FnOnce(Fence) -> Done,
    Done: std::future::Future<Output = ApiResult<()>>,
{
    let in_use = ApiError::conflict(
        "this training module has open assignments (assigned, in progress or overdue); complete, waive or delete them first",
    );
    links::close(
        store,
        &before.organization_id,
        Closable::Module(&before.id),
        before.version,
        in_use,
        changed_concurrently(),
        commit,
    )
    .await
}

/// The retired module, written under its retirement's fence.
pub fn put_retired(
    transaction: &mut Transaction,
    before: &TrainingModule,
    after: &TrainingModule,
    fence: Fence,
) -> ApiResult<()> {
    transaction.put(
        module_item(after)?,
        Some(Condition::at_version(before.version).and(fence.still_raised())),
        Some(changed_concurrently()),
    )
}

/// An open assignment starts naming the module: its link, and the check that the module
/// is active and not being retired when the transaction commits.
pub fn link_open_assignment(
    transaction: &mut Transaction,
    org: &OrgId,
    id: &TrainingModuleId,
    assignment: &TrainingAssignmentId,
    now: Timestamp,
) -> ApiResult<()> {
    let gone = ApiError::conflict(format!("training module `{id}` was retired meanwhile"));
    links::put_checked(transaction, org, Closable::Module(id), assignment.as_str(), now, gone)
}

/// An assignment stops being open or stops naming the module.
pub fn unlink_open_assignment(
    transaction: &mut Transaction,
    org: &OrgId,
    id: &TrainingModuleId,
    assignment: &TrainingAssignmentId,
) -> ApiResult<()> {
    links::delete(transaction, org, Parent::Module(id), assignment.as_str())
}

/// The organization's active modules, by creation; `include_retired` lists all.
pub async fn list(
    store: &Store,
    org: &OrgId,
    include_retired: bool,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<TrainingModule>> {
    let filter = (!include_retired).then(Filter::active);
    let spec = QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::TRAINING_MODULE_PREFIX.into()),
    )
    .with_filter(filter);
    store.query_records(&spec, limit, after).await
}
