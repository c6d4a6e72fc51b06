//! The events of API keys (`api_key.*`). A payload never holds the key's secret.

use serde::Serialize;

use crate::ids::UserId;
use crate::permissions::Permission;

/// A key was created for a member; `permissions` is its scope (absent for the first
/// admin's bootstrap key, which holds every permission of its member).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    pub name: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

/// A key was revoked.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRevoked {
    pub name: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let user = UserId::new();
        let scoped = ApiKeyCreated {
            name: "LMS sync".into(),
            user_id: user.clone(),
            permissions: Some(vec![Permission::UsersRead]),
        };
        assert_eq!(
            serde_json::to_value(&scoped).unwrap(),
            json!({ "name": "LMS sync", "userId": user, "permissions": [Permission::UsersRead] })
        );
        let bootstrap = ApiKeyCreated {
            permissions: None,
            ..scoped
        };
        assert_eq!(
            serde_json::to_value(&bootstrap).unwrap(),
            json!({ "name": "LMS sync", "userId": user })
        );
        let revoked = ApiKeyRevoked {
            name: "LMS sync".into(),
            user_id: user.clone(),
        };
        assert_eq!(
            serde_json::to_value(&revoked).unwrap(),
            json!({ "name": "LMS sync", "userId": user })
        );
    }
}
