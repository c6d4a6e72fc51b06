//! An evidence package's `manifest.json`: what was asked, by whom, when, and the SHA-256 of
//! every other file, signed with the audit trail's key. Verifying a package needs the zip
//! and the public key alone (`verify_package`; the `verify-audit` binary's `--package`).

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, EvidencePackageId, OrgId, UserId};
use crate::model::audit_digest::{self, AuditBundle, PublicKey, SIGNING_ALGORITHM, VerificationReport, sha256_hex};
use crate::model::evidence_files::read_package;
use crate::model::evidence_packages::{PackageFile, PackageRequest};
use crate::time::Timestamp;

/// Names the manifest's form and its signed bytes; a verifier refuses one it does not know.
pub const MANIFEST_FORMAT: &str = "raptor-comply-evidence-manifest/1";
pub const MANIFEST_FILE: &str = "manifest.json";
/// The audit trail of the package's period, as the offline verifier reads it.
pub const AUDIT_BUNDLE_FILE: &str = "audit/bundle.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// `MANIFEST_FORMAT`.
    pub format: String,
    pub package_id: EvidencePackageId,
    pub organization_id: OrgId,
    pub organization_name: String,
    pub request: PackageRequest,
    pub requested_by: UserId,
    pub requested_with_api_key: Option<ApiKeyId>,
    pub requested_at: Timestamp,
    pub built_at: Timestamp,
    /// Every other file of the zip, in the order written.
    pub files: Vec<PackageFile>,
    /// Absent while the manifest is being signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<ManifestSignature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSignature {
    /// The SHA-256 of the manifest's canonical bytes without `signature`.
    pub manifest_sha256: String,
    /// `ECDSA_SHA_256`.
    pub signing_algorithm: String,
    pub key_id: String,
    /// The DER signature over `string_to_sign`, base64.
    pub signature: String,
}

impl Manifest {
    /// The SHA-256 (hex) of the manifest's canonical bytes (`docs/audit.md`), without its
    /// signature.
    pub fn unsigned_hash(&self) -> ApiResult<String> {
        let unsigned = Manifest {
            signature: None,
            ..self.clone()
        };
        Ok(sha256_hex(&audit_digest::canonical_json(&unsigned)?))
    }

    /// The bytes the key signs (KMS hashes them with SHA-256 itself).
    pub fn string_to_sign(&self, manifest_sha256: &str) -> Vec<u8> {
        format!(
            "{MANIFEST_FORMAT}\n{}\n{}\n{manifest_sha256}",
            self.organization_id, self.package_id
        )
        .into_bytes()
    }
}

/// What checking a package found. `verified` only when nothing is wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageVerification {
    pub verified: bool,
    /// The manifest hashes to what its signature says, and the key signed that.
    pub manifest_signed: bool,
    pub files_checked: usize,
    /// Listed files whose bytes differ from the manifest's hash.
    pub files_changed: Vec<String>,
    /// Listed files the zip lacks.
    pub files_missing: Vec<String>,
    /// Files the zip holds that the manifest does not list.
    pub files_unlisted: Vec<String>,
    /// The audit trail the package carries, verified against its digests.
    pub audit: Option<VerificationReport>,
}

/// Checks a package's zip with `key` alone: the manifest's signature, every file against
/// its hash, and the audit trail it carries against its signed digests.
pub fn verify_package(zip: &[u8], key: &PublicKey) -> ApiResult<PackageVerification> {
    let files = read_package(zip)?;
    let manifest_bytes = files
        .iter()
        .find(|(name, _)| name == MANIFEST_FILE)
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| ApiError::validation("package", "the zip has no manifest.json"))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|error| ApiError::validation("package", format!("manifest.json is not a manifest: {error}")))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(ApiError::validation(
            "package",
            format!("manifest format `{}` is not {MANIFEST_FORMAT}", manifest.format),
        ));
    }
    let mut report = PackageVerification {
        manifest_signed: match &manifest.signature {
            Some(signature) => {
                let hash = manifest.unsigned_hash()?;
                hash == signature.manifest_sha256
                    && signature.signing_algorithm == SIGNING_ALGORITHM
                    && key.verifies(&manifest.string_to_sign(&hash), &signature.signature)
            }
            None => false,
        },
        files_checked: manifest.files.len(),
        ..PackageVerification::default()
    };
    for listed in &manifest.files {
        match files.iter().find(|(name, _)| name == &listed.name) {
            None => report.files_missing.push(listed.name.clone()),
            Some((_, bytes)) if sha256_hex(bytes) != listed.sha256 => report.files_changed.push(listed.name.clone()),
            Some(_) => {}
        }
    }
    for (name, _) in &files {
        if name != MANIFEST_FILE && !manifest.files.iter().any(|listed| &listed.name == name) {
            report.files_unlisted.push(name.clone());
        }
    }
    if let Some((_, bytes)) = files.iter().find(|(name, _)| name == AUDIT_BUNDLE_FILE) {
        let bundle: AuditBundle = serde_json::from_slice(bytes)
            .map_err(|error| ApiError::validation("package", format!("{AUDIT_BUNDLE_FILE} is unreadable: {error}")))?;
        report.audit = Some(audit_digest::verify_bundle(&bundle, Some(key))?);
    }
    report.verified = report.manifest_signed
        && report.files_changed.is_empty()
        && report.files_missing.is_empty()
        && report.files_unlisted.is_empty()
        && report.audit.as_ref().is_some_and(|audit| audit.verified);
    Ok(report)
}
