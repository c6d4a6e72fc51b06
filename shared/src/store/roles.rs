//! The roles document: `ORG#<org> / ROLES`, every custom role of the organization in one
//! item, written with optimistic concurrency on its `version`.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, PK, SK};
use super::transaction::Condition;
use super::{Item, Transaction, item_size, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::OrgId;
use crate::model::roles::RolesDocument;

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
