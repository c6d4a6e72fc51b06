//! Evidence packages: `ORG#<org> / EVP#<package>`. A package waiting for the builder, or
//! being built, also sits in the builder's queue (GSI1 `EVIDENCE_QUEUE / <package>`,
//! across organizations, read only by the builder); a finished one leaves it.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK};
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{EvidencePackageId, OrgId};
use crate::model::evidence_packages::{EvidencePackage, PackageStatus};

const SORT_PREFIX: &str = "EVP#";
const QUEUE_PARTITION: &str = "EVIDENCE_QUEUE";

fn package_key(org: &OrgId, id: &EvidencePackageId) -> Item {
    keys::key(keys::org_partition(org), format!("{SORT_PREFIX}{id}"))
}

fn package_item(package: &EvidencePackage) -> ApiResult<Item> {
    let mut item = to_item(package)?;
    item.extend(package_key(&package.organization_id, &package.id));
    if matches!(package.status, PackageStatus::Pending | PackageStatus::Building) {
        item.insert(GSI1PK.into(), AttributeValue::S(QUEUE_PARTITION.into()));
        item.insert(GSI1SK.into(), AttributeValue::S(package.id.to_string()));
    }
    Ok(item)
}

pub async fn get(store: &Store, org: &OrgId, id: &EvidencePackageId) -> ApiResult<Option<EvidencePackage>> {
    store.get(package_key(org, id)).await
}

pub fn put_new(transaction: &mut Transaction, package: &EvidencePackage) -> ApiResult<()> {
    transaction.put_new(
        package_item(package)?,
        ApiError::conflict("this evidence package exists already"),
    )
}

/// Replaces `before` with `after`, on the condition that nobody changed it since it was
/// read (another builder run claiming it loses here).
pub fn put_updated(transaction: &mut Transaction, before: &EvidencePackage, after: &EvidencePackage) -> ApiResult<()> {
    transaction.put(
        package_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(ApiError::conflict("another run changed this evidence package")),
    )
}

/// One page of the organization's packages, newest first.
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<EvidencePackage>> {
    let spec =
        QuerySpec::table(keys::org_partition(org), SortRange::BeginsWith(SORT_PREFIX.to_string())).newest_first();
    store.query_records(&spec, limit, after).await
}

/// Packages waiting for the builder or being built, every organization's, oldest first.
pub async fn queued(store: &Store, limit: usize) -> ApiResult<Vec<EvidencePackage>> {
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        QUEUE_PARTITION.to_string(),
        SortRange::BeginsWith(EvidencePackageId::PREFIX.to_string()),
    );
    Ok(store.query_records(&spec, limit, None).await?.items)
}
