//! Organizations, the tenancy boundary, and what bootstrap takes and gives.

use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, UserId};
use crate::time::Timestamp;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub created_at: Timestamp,
}

pub struct Bootstrap {
    pub organization_name: String,
    pub admin_email: String,
    pub admin_name: String,
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
