//! Named permissions, the currency of roles, API key scopes and endpoint checks.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Permission {
            $(#[serde(rename = $name)] $variant),+
        }

        // By hand: utoipa's derive does not see serde renames written inside a macro.
        impl utoipa::PartialSchema for Permission {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($name),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for Permission {}

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name),+ }
            }

            pub fn parse(name: &str) -> Option<Permission> {
                match name { $($name => Some(Permission::$variant),)+ _ => None }
            }
        }
    };
}

permissions! {
    UsersRead => "users:read",
    UsersWrite => "users:write",
    RolesRead => "roles:read",
    RolesWrite => "roles:write",
    ApiKeysManage => "api_keys:manage",
    AuditRead => "audit:read",
    InvitationsRead => "invitations:read",
    InvitationsWrite => "invitations:write",
    CipRead => "cip:read",
    CipWrite => "cip:write",
    TrainingRead => "training:read",
    TrainingWrite => "training:write",
    TrainingWaive => "training:waive",
    WebhooksRead => "webhooks:read",
    WebhooksWrite => "webhooks:write",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub type PermissionSet = BTreeSet<Permission>;

pub fn all_permissions() -> PermissionSet {
    Permission::ALL.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_name() {
        for permission in Permission::ALL {
            assert_eq!(Permission::parse(permission.as_str()), Some(*permission));
            let json = serde_json::to_string(permission).unwrap();
            assert_eq!(json, format!("\"{}\"", permission.as_str()));
        }
        assert_eq!(Permission::parse("users:delete"), None);
    }
}
