//! The roles document: `ORG#<org> / ROLES`, every custom role of the organization in one
//! item, written with optimistic concurrency on its `version` by role changes only. Who
//! holds a role is not in it: each holder has a link (`store::links`), so member changes
//! never write the document.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, PK, SK};
use super::links::{self, Parent};
use super::transaction::Condition;
use super::{Item, Store, Transaction, item_size, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, RoleId, UserId};
use crate::model::roles::RolesDocument;
use crate::time::Timestamp;

/// Well below `MAX_ITEM_BYTES`, so a document near the limit can still be edited down.
pub const MAX_ROLES_DOCUMENT_BYTES: usize = 300 * 1024;

pub fn document_key(org: &OrgId) -> Item {
    keys::key(keys::org_partition(org), keys::ROLES_DOCUMENT)
}

fn document_item(org: &OrgId, document: &RolesDocument) -> ApiResult<Item> {
    let mut item = to_item(document)?;
    item.insert(PK.into(), AttributeValue::S(keys::org_partition(org)));
    item.insert(SK.into(), AttributeValue::S(keys::ROLES_DOCUMENT.into()));
    Ok(item)
}

/// The organization's roles document (the default, with no custom role and no group
/// grant, before the first is written).
pub async fn document(store: &Store, org: &OrgId) -> ApiResult<RolesDocument> {
    Ok(store.get(document_key(org)).await?.unwrap_or_default())
}

/// Role text is bounded in characters, but an emoji is 4 bytes: a role change (not a
/// holder count, which barely moves the size) must keep the whole document within
/// `MAX_ROLES_DOCUMENT_BYTES`.
pub fn check_document_fits(org: &OrgId, document: &RolesDocument) -> ApiResult<()> {
    let size = item_size(&document_item(org, document)?);
    if size > MAX_ROLES_DOCUMENT_BYTES {
        return Err(ApiError::conflict(format!(
            "the organization's custom roles would take {} KB, more than the {} KB they may use together; shorten role descriptions or delete unused roles",
            size / 1024,
            MAX_ROLES_DOCUMENT_BYTES / 1024
        )));
    }
    Ok(())
}

/// Writes `document` as the next version of the one that was read (version 0: absent).
pub fn put_document(transaction: &mut Transaction, org: &OrgId, document: &RolesDocument) -> ApiResult<()> {
    let mut next = document.clone();
    next.version = document.version + 1;
    let item = document_item(org, &next)?;
    transaction.put(
        item,
        Some(Condition::at_version(document.version)),
        Some(ApiError::conflict("roles were changed by a concurrent request; retry")),
    )
}

/// A member (not deleted) starts holding a custom role: the link its deletion looks for.
pub fn link_holder(transaction: &mut Transaction, org: &OrgId, role: &RoleId, user: &UserId) -> ApiResult<()> {
    links::put(transaction, org, Parent::Role(role), user.as_str())
}

/// A member stops holding a custom role, or is deleted.
pub fn unlink_holder(transaction: &mut Transaction, org: &OrgId, role: &RoleId, user: &UserId) -> ApiResult<()> {
    links::delete(transaction, org, Parent::Role(role), user.as_str())
}

/// How many members (not deleted) hold the role, read strongly consistent.
pub async fn holders(store: &Store, org: &OrgId, role: &RoleId) -> ApiResult<u64> {
    links::count(store, org, Parent::Role(role)).await
}

/// The check a member change that gives custom roles adds (one ConditionCheck on the
/// document, never a write of it): each role still exists and is not being deleted at
/// `now`.
pub fn check_roles_usable(
    transaction: &mut Transaction,
    org: &OrgId,
    roles: &[&RoleId],
    now: Timestamp,
) -> ApiResult<()> {
    let Some(first) = roles.first() else {
        return Ok(());
    };
    let mut condition = Condition::new("attribute_exists(#roles)")
        .name("#roles", "roles")
        .name("#fence", "closingUntil")
        .value(":now", AttributeValue::N(now.millis().to_string()));
    for (index, role) in roles.iter().enumerate() {
        let entry = format!("#role{index}");
        condition = condition
            .and(Condition::new(format!(
                "attribute_exists(#roles.{entry}) AND (attribute_not_exists(#roles.{entry}.#fence) OR #roles.{entry}.#fence < :now)"
            )))
            .name(&entry, role.as_str());
    }
    let gone = if roles.len() == 1 {
        format!("role `{first}` was deleted meanwhile, or is being deleted; retry")
    } else {
        "a role given was deleted meanwhile, or is being deleted; retry".to_string()
    };
    transaction.condition_check(document_key(org), condition, ApiError::conflict(gone))
}
