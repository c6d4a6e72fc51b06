//! The events of invitations (`invitation.*`). A payload never holds the invitation's
//! token.

use serde::Serialize;

use crate::ids::UserId;
use crate::model::invitations::InvitationStatus;
use crate::model::roles::RoleRef;
use crate::time::Timestamp;

/// An invitation was created (`emailSent` false when SES refused the message).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationCreated {
    pub email: String,
    pub roles: Vec<RoleRef>,
    pub expires_at: Timestamp,
    pub email_sent: bool,
    pub identity_provider: Option<String>,
}

/// An invitation was accepted: `userId` is the member it made (its `user.created` event
/// follows in the same transaction).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationAccepted {
    pub email: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
}

/// An invitation was cancelled, from the status it had.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationCancelled {
    pub email: String,
    pub status_before: InvitationStatus,
}

/// An invitation was sent again with a new token and expiry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationResent {
    pub email: String,
    pub expires_at: Timestamp,
    pub send_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::roles::SystemRole;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let at = Timestamp::parse("t", "2026-12-05T10:00:00Z").unwrap();
        let roles = vec![RoleRef::System(SystemRole::Viewer)];
        let created = InvitationCreated {
            email: "ana@grid.example".into(),
            roles: roles.clone(),
            expires_at: at,
            email_sent: true,
            identity_provider: None,
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({
                "email": "ana@grid.example",
                "roles": roles,
                "expiresAt": at,
                "emailSent": true,
                "identityProvider": None::<String>,
            })
        );
        let user = UserId::new();
        let accepted = InvitationAccepted {
            email: "ana@grid.example".into(),
            user_id: user.clone(),
        };
        assert_eq!(
            serde_json::to_value(&accepted).unwrap(),
            json!({ "email": "ana@grid.example", "userId": user })
        );
        let cancelled = InvitationCancelled {
            email: "ana@grid.example".into(),
            status_before: InvitationStatus::Pending,
        };
        assert_eq!(
            serde_json::to_value(&cancelled).unwrap(),
            json!({ "email": "ana@grid.example", "statusBefore": InvitationStatus::Pending })
        );
        let resent = InvitationResent {
            email: "ana@grid.example".into(),
            expires_at: at,
            send_count: 2,
        };
        assert_eq!(
            serde_json::to_value(&resent).unwrap(),
            json!({ "email": "ana@grid.example", "expiresAt": at, "sendCount": 2 })
        );
    }
}
