//! Organizations, the tenancy boundary, and what bootstrap takes and gives.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::{OrgId, UserId};
use crate::model::users::MAX_NAME_LENGTH;
use crate::time::Timestamp;
use crate::validation::{self, DisplayName, Email};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub created_at: Timestamp,
}

/// What bootstrap creates: an organization and its first admin, parsed once by its door
/// (the `bootstrap` binary, the test harness) with `NewOrganization::parse`.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// One line, trimmed; unique among organizations regardless of case.
    pub name: String,
    pub admin_email: Email,
    pub admin_name: DisplayName,
}

impl NewOrganization {
    /// The first invalid value is the error, named as bootstrap's inputs: `organization`,
    /// `adminEmail`, `adminName`.
    pub fn parse(name: &str, admin_email: &str, admin_name: &str) -> ApiResult<NewOrganization> {
        Ok(NewOrganization {
            name: validation::one_line_text("organization", name, MAX_NAME_LENGTH)?,
            admin_email: Email::parse("adminEmail", admin_email)?,
            admin_name: DisplayName::parse("adminName", admin_name)?,
        })
    }
}

pub enum BootstrapOutcome {
    Created {
        organization: Organization,
        admin: UserId,
        /// The admin API key's secret token, shown once.
        api_key: crate::model::secret_tokens::SecretString,
    },
    AlreadyExists {
        organization: OrgId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn bootstrap_input_is_trimmed_and_its_first_bad_value_named() {
        let parsed = NewOrganization::parse("  Grid Co ", " ada@grid.example", "Ada").unwrap();
        assert_eq!(parsed.name, "Grid Co");
        assert_eq!(parsed.admin_email.as_str(), "ada@grid.example");
        for (name, email, admin, field) in [
            ("   ", "ada@grid.example", "Ada", "organization"),
            ("Grid\nCo", "ada@grid.example", "Ada", "organization"),
            ("Grid Co", "not an email", "Ada", "adminEmail"),
            ("Grid Co", "ada@grid.example", "see https://evil.example", "adminName"),
            ("   ", "not an email", "", "organization"),
        ] {
            match NewOrganization::parse(name, email, admin) {
                Err(ApiError::Validation { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{name:?} {email:?} {admin:?}: {other:?}"),
            }
        }
    }
}
