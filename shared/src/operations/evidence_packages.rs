//! Evidence packages: asking for one, and reading what became of it. The builder
//! (`operations::evidence_builder`) makes the zip in the background.
//!
//! A package holds the organization's people, training, CIP Senior Manager and audit
//! trail together, so asking for one and reading one need every permission that reads
//! those: `audit:read`, `users:read`, `training:read` and `cip:read` (`docs/permissions.md`).

use crate::error::{ApiError, ApiResult};
use crate::ids::EvidencePackageId;
use crate::model::events::Event;
use crate::model::events::evidence_packages::EvidencePackageRequested;
use crate::model::evidence_packages::{EvidencePackage, PackageRequest};
use crate::model::principal::Principal;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};

/// What asking for or reading a package takes: the reads of everything it holds.
pub const EVIDENCE_PERMISSIONS: [Permission; 4] = [
    Permission::AuditRead,
    Permission::UsersRead,
    Permission::TrainingRead,
    Permission::CipRead,
];

/// `403` naming the first of them the caller lacks.
pub fn require_evidence_access(principal: &Principal) -> ApiResult<()> {
    EVIDENCE_PERMISSIONS
        .into_iter()
        .try_for_each(|permission| principal.require(permission))
}

/// Records the request; the builder's next run takes it. Every sampled id must be a member
/// of the caller's organization (deleted members too: their history is evidence).
pub async fn request_package(
    store: &Store,
    principal: &Principal,
    request: PackageRequest,
) -> ApiResult<EvidencePackage> {
    require_evidence_access(principal)?;
    let org = principal.org();
    let found = store::members::get_many(store, org, &request.sample_user_ids).await?;
    let strangers: Vec<String> = request
        .sample_user_ids
        .iter()
        .filter(|id| !found.iter().any(|member| &member.user_id == *id))
        .map(ToString::to_string)
        .collect();
    if !strangers.is_empty() {
        return Err(ApiError::validation(
            "sample.userIds",
            format!("not members of this organization: {}", strangers.join(", ")),
        ));
    }
    let now = store.clock().now();
    let package = EvidencePackage::new(&principal.actor, request, now);
    let mut transaction = Transaction::new();
    store::evidence_packages::put_new(&mut transaction, &package)?;
    let event = Event::EvidencePackageRequested(EvidencePackageRequested {
        request: package.request.clone(),
    });
    store::audit::record(&mut transaction, &principal.actor, now, package.id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(package)
}

pub async fn get_package(store: &Store, principal: &Principal, id: &EvidencePackageId) -> ApiResult<EvidencePackage> {
    require_evidence_access(principal)?;
    store::evidence_packages::get(store, principal.org(), id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "evidence package",
            id: id.to_string(),
        })
}

/// The organization's packages, newest first.
pub async fn list_packages(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<EvidencePackage>> {
    require_evidence_access(principal)?;
    let result = store::evidence_packages::list(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}
