//! Evidence packages through the REST door: the request body, parsed into the command's
//! `PackageRequest` (errors name the JSON fields), and the view, which carries a
//! 15-minute download link once the package is ready.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::export_files::{ExportBucket, LINK_LIFETIME};
use crate::ids::{ApiKeyId, EvidencePackageId, UserId};
use crate::model::evidence_packages::{EvidencePackage, MAX_SAMPLE_USERS, PackageFile, PackageRequest, PackageStatus};
use crate::model::principal::Principal;
use crate::operations::evidence_packages::{self, require_evidence_access};
use crate::pagination::{ListPage, PageRequest};
use crate::store::Store;
use crate::time::{Date, Timestamp};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEvidencePackage {
    /// The date the populations are taken on (end of that UTC day), today or earlier.
    pub as_of: String,
    /// The audit trail's first day.
    pub from: String,
    /// The audit trail's last day, on or after `from`.
    pub to: String,
    /// People whose own records the package holds (at most 100).
    pub sample: Option<Sample>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sample {
    #[schema(value_type = Vec<String>)]
    pub user_ids: Vec<String>,
}

impl CreateEvidencePackage {
    pub fn parse(self, today: Date) -> ApiResult<PackageRequest> {
        let sample = self.sample.map(|sample| sample.user_ids).unwrap_or_default();
        // Refused before parsing each: a list this long is no sample.
        if sample.len() > MAX_SAMPLE_USERS * 10 {
            return Err(ApiError::validation(
                "sample.userIds",
                format!("a sample holds at most {MAX_SAMPLE_USERS} people"),
            ));
        }
        let user_ids = sample
            .iter()
            .enumerate()
            .map(|(index, id)| UserId::parse(&format!("sample.userIds[{index}]"), id))
            .collect::<ApiResult<Vec<_>>>()?;
        PackageRequest::new(
            Date::parse("asOf", &self.as_of)?,
            Date::parse("from", &self.from)?,
            Date::parse("to", &self.to)?,
            user_ids,
            today,
        )
    }
}

/// What was asked for, in the request body's shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRequestView {
    pub as_of: Date,
    pub from: Date,
    pub to: Date,
    pub sample: SampleView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SampleView {
    pub user_ids: Vec<UserId>,
}

/// Where to fetch a ready package: a presigned link, good for 15 minutes; read the package
/// again for a fresh one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageDownload {
    pub url: String,
    pub expires_in_seconds: u64,
    pub file_name: String,
}

/// The evidence package object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePackageView {
    pub id: EvidencePackageId,
    /// `pending` (asked for), `building`, `ready`, or `failed` with `failureReason`.
    pub status: PackageStatus,
    pub request: PackageRequestView,
    pub requested_by: UserId,
    pub requested_with_api_key: Option<ApiKeyId>,
    pub requested_at: Timestamp,
    /// Builds started so far.
    pub attempts: u32,
    pub finished_at: Option<Timestamp>,
    pub failure_reason: Option<String>,
    /// The zip's size, once ready.
    pub bytes: Option<u64>,
    /// The SHA-256 of the package's `manifest.json`, once ready.
    pub manifest_sha256: Option<String>,
    /// Every file but the manifest, with its SHA-256, once ready.
    pub files: Vec<PackageFile>,
    /// Only when reading one ready package.
    pub download: Option<PackageDownload>,
}

impl EvidencePackageView {
    pub fn of(package: &EvidencePackage) -> Self {
        EvidencePackageView {
            id: package.id.clone(),
            status: package.status,
            request: PackageRequestView {
                as_of: package.request.as_of,
                from: package.request.from,
                to: package.request.to,
                sample: SampleView {
                    user_ids: package.request.sample_user_ids.clone(),
                },
            },
            requested_by: package.requested_by.clone(),
            requested_with_api_key: package.requested_with_api_key.clone(),
            requested_at: package.requested_at,
            attempts: package.attempts,
            finished_at: package.finished_at,
            failure_reason: package.failure_reason.clone(),
            bytes: package.bytes,
            manifest_sha256: package.manifest_sha256.clone(),
            files: package.files.clone(),
            download: None,
        }
    }
}

/// `POST /evidence-packages`. The permissions are checked before the body's fields.
pub async fn create(
    store: &Store,
    principal: &Principal,
    body: CreateEvidencePackage,
) -> ApiResult<EvidencePackageView> {
    require_evidence_access(principal)?;
    let request = body.parse(store.clock().today())?;
    let package = evidence_packages::request_package(store, principal, request).await?;
    Ok(EvidencePackageView::of(&package))
}

/// `GET /evidence-packages/{id}`: a ready package with its download link.
pub async fn get(
    store: &Store,
    bucket: Option<&ExportBucket>,
    principal: &Principal,
    id: &EvidencePackageId,
) -> ApiResult<EvidencePackageView> {
    let package = evidence_packages::get_package(store, principal, id).await?;
    let mut view = EvidencePackageView::of(&package);
    if let (PackageStatus::Ready, Some(key)) = (package.status, &package.object_key) {
        let bucket = bucket.ok_or_else(|| ApiError::internal("EXPORT_BUCKET is not set: no package can be fetched"))?;
        view.download = Some(PackageDownload {
            url: bucket.link(key).await?,
            expires_in_seconds: LINK_LIFETIME.as_secs(),
            file_name: format!("evidence-{}-{}.zip", package.request.as_of, package.id),
        });
    }
    Ok(view)
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<EvidencePackageView>> {
    let page = evidence_packages::list_packages(store, principal, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(EvidencePackageView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
