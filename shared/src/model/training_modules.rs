//! Training modules: the curriculum (CIP-004 R1 awareness, R2 role-based training). A
//! module says what is to be learned and how long a completion counts; assignments say
//! who must learn it. A module is retired, never erased, so its assignments' history
//! still names it.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingModuleId};
use crate::time::Timestamp;
use crate::validation;

pub const MAX_TITLE_LENGTH: usize = 200;
pub const MAX_DESCRIPTION_LENGTH: usize = 5000;
pub const MAX_URL_LENGTH: usize = 2000;
/// Ten years: longer than any CIP cycle, short enough to catch a typo in the unit.
pub const MAX_COMPLETION_INTERVAL_DAYS: u32 = 3650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModuleStatus {
    Active,
    /// Deleted through the API: no new assignments, still named by old ones.
    Retired,
}

/// A training module as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrainingModule {
    pub id: TrainingModuleId,
    pub organization_id: OrgId,
    pub title: String,
    pub description: Option<String>,
    pub cip_standard: Option<String>,
    /// How long a completion counts; `None`: it never expires.
    pub completion_interval_days: Option<u32>,
    pub external_module_url: Option<String>,
    /// The xAPI activity id (an IRI) an LMS's statements name for this module, when it is
    /// not `externalModuleUrl` (`docs/lms.md`).
    #[serde(default)]
    pub xapi_activity_id: Option<String>,
    /// Whether the daily job assigns the module again before a completion expires
    /// (CIP-004 R2's 15 months); stored modules from before the setting renew.
    #[serde(default = "renews_by_default")]
    pub renewal_enabled: bool,
    pub status: ModuleStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    pub version: u64,
}

fn renews_by_default() -> bool {
    true
}

impl TrainingModule {
    /// Whether a completion of this module is renewed: it expires, the module is still
    /// taught, and renewal was not turned off.
    pub fn renews(&self) -> bool {
        self.renewal_enabled && self.completion_interval_days.is_some() && self.status == ModuleStatus::Active
    }

    pub fn require_active(&self) -> ApiResult<()> {
        match self.status {
            ModuleStatus::Active => Ok(()),
            ModuleStatus::Retired => Err(ApiError::conflict(format!("training module `{}` is retired", self.id))),
        }
    }
}

/// A new module's values, parsed (`rest::training_modules::CreateTrainingModule::parse`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewModule {
    pub title: String,
    pub description: Option<String>,
    pub cip_standard: Option<String>,
    pub completion_interval_days: Option<u32>,
    pub external_module_url: Option<String>,
    pub xapi_activity_id: Option<String>,
    pub renewal_enabled: bool,
}

/// The fields a module update changes (absent: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleEdit {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub cip_standard: Option<Option<String>>,
    pub completion_interval_days: Option<Option<u32>>,
    pub external_module_url: Option<Option<String>>,
    pub xapi_activity_id: Option<Option<String>>,
    pub renewal_enabled: Option<bool>,
}

pub fn title(value: &str) -> ApiResult<String> {
    validation::one_line_text("title", value, MAX_TITLE_LENGTH)
}

pub fn description(value: Option<&str>) -> ApiResult<Option<String>> {
    validation::optional_free_text("description", value, MAX_DESCRIPTION_LENGTH)
}

/// A NERC CIP standard as auditors write it: `CIP-004`, optionally with its version
/// (`CIP-004-7`). Requirement numbers belong in the title or description.
pub fn cip_standard(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(text) = value.map(str::trim) else {
        return Ok(None);
    };
    let refuse = || {
        ApiError::validation(
            "cipStandard",
            "`cipStandard` must name a NERC CIP standard like `CIP-004` or `CIP-004-7`",
        )
    };
    let number = text.strip_prefix("CIP-").ok_or_else(refuse)?;
    let (standard, version) = match number.split_once('-') {
        Some((standard, version)) => (standard, Some(version)),
        None => (number, None),
    };
    let digits =
        |part: &str, most: usize| !part.is_empty() && part.len() <= most && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(standard, 3) || standard.len() != 3 || version.is_some_and(|version| !digits(version, 2)) {
        return Err(refuse());
    }
    Ok(Some(text.to_string()))
}

pub fn completion_interval_days(value: Option<i64>) -> ApiResult<Option<u32>> {
    value
        .map(|days| {
            u32::try_from(days)
                .ok()
                .filter(|days| (1..=MAX_COMPLETION_INTERVAL_DAYS).contains(days))
                .ok_or_else(|| {
                    ApiError::validation(
                        "completionIntervalDays",
                        format!(
                            "`completionIntervalDays` must be from 1 to {MAX_COMPLETION_INTERVAL_DAYS}; leave it out if a completion never expires"
                        ),
                    )
                })
        })
        .transpose()
}

/// An absolute `https` URL with a host (the trainee's browser opens it), kept as sent.
pub fn external_module_url(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(text) = value.map(str::trim) else {
        return Ok(None);
    };
    let refuse = || {
        ApiError::validation(
            "externalModuleUrl",
            "`externalModuleUrl` must be an absolute https URL, e.g. https://lms.example.com/courses/cip-004",
        )
    };
    if text.len() > MAX_URL_LENGTH || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse());
    }
    let parsed = url::Url::parse(text).map_err(|_| refuse())?;
    let has_host = parsed.host_str().is_some_and(|host| !host.is_empty());
    if parsed.scheme() != "https" || !has_host || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse());
    }
    Ok(Some(text.to_string()))
}

/// An absolute IRI with a scheme and no white space (xAPI activity ids are often `http:`),
/// kept as sent: statements are matched to it exactly.
pub fn xapi_activity_id(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(text) = value.map(str::trim) else {
        return Ok(None);
    };
    let refuse = || {
        ApiError::validation(
            "xapiActivityId",
            "`xapiActivityId` must be an absolute IRI, e.g. http://lms.example.com/activities/cip-004",
        )
    };
    if text.len() > MAX_URL_LENGTH || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse());
    }
    let parsed = url::Url::parse(text).map_err(|_| refuse())?;
    if parsed.cannot_be_a_base() && parsed.scheme() != "urn" && parsed.scheme() != "tag" {
        return Err(refuse());
    }
    Ok(Some(text.to_string()))
}

impl TrainingModule {
    /// The id an LMS's xAPI statements name this module by: `xapiActivityId`, else
    /// `externalModuleUrl`.
    pub fn activity_id(&self) -> Option<&str> {
        self.xapi_activity_id.as_deref().or(self.external_module_url.as_deref())
    }
}

pub fn new_module(org: &OrgId, input: NewModule, now: Timestamp) -> TrainingModule {
    TrainingModule {
        id: TrainingModuleId::new(),
        organization_id: org.clone(),
        title: input.title,
        description: input.description,
        cip_standard: input.cip_standard,
        completion_interval_days: input.completion_interval_days,
        external_module_url: input.external_module_url,
        xapi_activity_id: input.xapi_activity_id,
        renewal_enabled: input.renewal_enabled,
        status: ModuleStatus::Active,
        created_at: now,
        updated_at: now,
        retired_at: None,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xapi_activity_id_is_any_absolute_iri_kept_as_sent() {
        for good in [
            "http://adlnet.gov/expapi/activities/course",
            "https://lms.example.com/au/1?x=y",
            "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
            "tag:lms.example.com,2026:cip-004",
        ] {
            assert_eq!(xapi_activity_id(Some(good)).unwrap().as_deref(), Some(good));
        }
        for bad in [
            "course-1",
            "/relative/path",
            "http://",
            "mailto:x@y.z",
            "http://a b",
            "",
        ] {
            assert!(xapi_activity_id(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cip_standards_are_named_as_nerc_writes_them() {
        for good in ["CIP-004", "CIP-004-7", " CIP-011-3 "] {
            assert!(cip_standard(Some(good)).is_ok(), "{good}");
        }
        for bad in [
            "CIP-4",
            "cip-004",
            "CIP-0044",
            "CIP-004-",
            "CIP-004-123",
            "CIP-004 R2",
            "ISO-27001",
            "",
        ] {
            assert!(cip_standard(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(cip_standard(None).unwrap(), None);
    }

    #[test]
    fn the_completion_interval_is_one_day_to_ten_years() {
        assert_eq!(completion_interval_days(Some(365)).unwrap(), Some(365));
        assert_eq!(completion_interval_days(Some(3650)).unwrap(), Some(3650));
        for bad in [0, -1, 3651, i64::MAX] {
            assert!(completion_interval_days(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn module_urls_must_be_absolute_https_with_a_host() {
        assert!(external_module_url(Some("https://lms.yourcompany.com/courses/cip-004-awareness")).is_ok());
        for bad in [
            "http://lms.example.com/x",
            "javascript:alert(1)",
            "/courses/1",
            "https://",
            "https://user:pass@lms.example.com/",
            "https://lms.example.com/a b",
            "data:text/html,<script>",
        ] {
            assert!(external_module_url(Some(bad)).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// An accepted URL or standard is stored as accepted and accepted again unchanged.
        #[test]
        fn accepted_urls_and_standards_are_fixed_points(
            url in proptest::prop_oneof!["https://[a-z0-9.-]{0,20}/.{0,30}", "\\PC{0,40}"],
            standard in proptest::prop_oneof!["CIP-[0-9]{1,4}(-[0-9]{0,3})?", "\\PC{0,12}"],
        ) {
            if let Ok(Some(accepted)) = external_module_url(Some(&url)) {
                proptest::prop_assert_eq!(external_module_url(Some(&accepted)).unwrap(), Some(accepted.clone()));
            }
            if let Ok(Some(accepted)) = cip_standard(Some(&standard)) {
                proptest::prop_assert_eq!(cip_standard(Some(&accepted)).unwrap(), Some(accepted.clone()));
            }
        }
    }
}
