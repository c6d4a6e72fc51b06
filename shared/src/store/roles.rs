//! The roles document: `ORG#<org> / ROLES`, every custom role of the organization in one
//! item, written with optimistic concurrency on its `version`.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, PK, SK};
use super::transaction::Condition;
use super::{Item, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::OrgId;
use crate::model::roles::RolesDocument;

pub fn document_key(org: &OrgId) -> Item {
    keys::key(keys::org_partition(org), keys::ROLES_DOCUMENT)
}

/// Writes `document` as the next version of the one that was read (version 0: absent).
pub fn put_document(transaction: &mut Transaction, org: &OrgId, document: &RolesDocument) -> ApiResult<()> {
    let mut next = document.clone();
    next.version = document.version + 1;
    let mut item = to_item(&next)?;
    item.insert(PK.into(), AttributeValue::S(keys::org_partition(org)));
    item.insert(SK.into(), AttributeValue::S(keys::ROLES_DOCUMENT.into()));
    transaction.put(
        item,
        Some(Condition::at_version(document.version)),
        Some(ApiError::conflict("roles were changed by a concurrent request; retry")),
    )
}
