//! The events of organizations (`organization.*`).

use serde::Serialize;

/// An organization was bootstrapped, with its first admin and their key.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationCreated {
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payload_is_what_the_untyped_event_stored() {
        let payload = OrganizationCreated { name: "Grid Co".into() };
        assert_eq!(serde_json::to_value(&payload).unwrap(), json!({ "name": "Grid Co" }));
    }
}
