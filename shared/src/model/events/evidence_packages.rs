//! The events of evidence packages (`evidence_package.*`): who asked for which evidence,
//! and what the builder made of it. An auditor's package is itself evidence that the
//! organization answered a request, so its life is in the audit trail.

use serde::Serialize;

use crate::model::evidence_packages::{PackageFile, PackageRequest};

/// A package was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePackageRequested {
    pub request: PackageRequest,
}

/// A package was built: the hash of its manifest and of every file, so the trail itself
/// says what was handed over.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePackageReady {
    pub manifest_sha256: String,
    pub bytes: u64,
    pub files: Vec<PackageFile>,
}

/// A package could not be built.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePackageFailed {
    pub reason: String,
    /// Builds started, this one included.
    pub attempts: u32,
}
