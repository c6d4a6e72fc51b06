//! Training modules (seed 001): list, create, read, update and delete (retire) the
//! organization's curriculum.

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingModuleId};
use crate::model::events::Event;
use crate::model::events::training_modules::{
    TrainingModuleChanges, TrainingModuleCreated, TrainingModuleRetired, TrainingModuleUpdated,
};
use crate::model::principal::Principal;
use crate::model::training_modules::{ModuleEdit, ModuleStatus, NewModule, TrainingModule, new_module};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};

pub async fn get_module_record(store: &Store, org: &OrgId, id: &TrainingModuleId) -> ApiResult<TrainingModule> {
    store::training_modules::get(store, org, id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "training module",
            id: id.to_string(),
        })
}

pub async fn get_module(store: &Store, principal: &Principal, id: &TrainingModuleId) -> ApiResult<TrainingModule> {
    principal.require(Permission::TrainingRead)?;
    get_module_record(store, principal.org(), id).await
}

pub async fn list_modules(
    store: &Store,
    principal: &Principal,
    include_retired: bool,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingModule>> {
    principal.require(Permission::TrainingRead)?;
    let result =
        store::training_modules::list(store, principal.org(), include_retired, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

pub async fn create_module(store: &Store, principal: &Principal, input: NewModule) -> ApiResult<TrainingModule> {
    principal.require(Permission::TrainingWrite)?;
    let module = new_module(principal.org(), input, store.clock().now());
    let mut transaction = Transaction::new();
    store::training_modules::put_new(&mut transaction, &module)?;
    let event = Event::TrainingModuleCreated(TrainingModuleCreated::of(&module));
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        module.id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(module)
}

/// Changes the module's metadata. A new `completionIntervalDays` applies to completions
/// recorded from now on; an expiry already computed stays as it was recorded.
pub async fn update_module(
    store: &Store,
    principal: &Principal,
    id: &TrainingModuleId,
    input: ModuleEdit,
) -> ApiResult<TrainingModule> {
    principal.require(Permission::TrainingWrite)?;
    let before = get_module_record(store, principal.org(), id).await?;
    before.require_active()?;
    let mut after = before.clone();
    if let Some(title) = input.title {
        after.title = title;
    }
    if let Some(description) = input.description {
        after.description = description;
    }
    if let Some(standard) = input.cip_standard {
        after.cip_standard = standard;
    }
    if let Some(days) = input.completion_interval_days {
        after.completion_interval_days = days;
    }
    if let Some(url) = input.external_module_url {
        after.external_module_url = url;
    }
    if let Some(activity) = input.xapi_activity_id {
        after.xapi_activity_id = activity;
    }
    if let Some(enabled) = input.renewal_enabled {
        after.renewal_enabled = enabled;
    }
    let changes = TrainingModuleChanges::between(&before, &after);
    if changes.is_empty() {
        return Ok(before);
    }
    after.updated_at = store.clock().now();
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::training_modules::put_updated(&mut transaction, &before, &after)?;
    let event = Event::TrainingModuleUpdated(TrainingModuleUpdated { changes });
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

/// `DELETE`: retires the module (refused while it has open assignments). It leaves the
/// list and takes no new assignments; its assignments' history still names it.
pub async fn retire_module(store: &Store, principal: &Principal, id: &TrainingModuleId) -> ApiResult<TrainingModule> {
    principal.require(Permission::TrainingWrite)?;
    let before = get_module_record(store, principal.org(), id).await?;
    if before.status == ModuleStatus::Retired {
        return Ok(before);
    }
    let now = store.clock().now();
    let mut after = before.clone();
    after.status = ModuleStatus::Retired;
    after.retired_at = Some(now);
    after.updated_at = now;
    after.version = before.version + 1;
    let (before, after) = (&before, &after);
    store::training_modules::retire(store, before, move |fence| async move {
        let mut transaction = Transaction::new();
        store::training_modules::put_retired(&mut transaction, before, after, fence)?;
        let event = Event::TrainingModuleRetired(TrainingModuleRetired {
            title: before.title.clone(),
        });
        store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
        transaction.commit(store).await
    })
    .await?;
    Ok(after.clone())
}
