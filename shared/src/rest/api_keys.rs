//! API keys through the REST door: the creation body, parsed into the command's input,
//! and the views (never the hash; the secret only in the creation response).

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::{ApiKeyId, UserId};
use crate::model::api_keys::{ApiKey, IssuedApiKey, KeyStanding, NewApiKey};
use crate::model::principal::Principal;
use crate::model::secret_tokens::{self, SecretString};
use crate::operations::api_keys;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;
use crate::validation;

/// Whether a key can be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    /// Not revoked, but its member or the member who minted it is not active.
    Inactive,
    Revoked,
}

/// An API key as the API shows it: never the hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    pub user_id: UserId,
    pub permissions: Vec<Permission>,
    pub key_prefix: String,
    pub status: KeyStatus,
    /// Why an `inactive` key cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactive_reason: Option<String>,
    pub created_at: Timestamp,
    pub created_by: UserId,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<UserId>,
}

impl ApiKeyView {
    /// A key whose member and creator are known to be active (just created or revoked).
    pub fn of(key: &ApiKey) -> Self {
        ApiKeyView::with_reason(key, None)
    }

    /// A key as listed, with `unusable_because` for its member and creator as they are now.
    pub fn with_reason(key: &ApiKey, inactive_reason: Option<String>) -> Self {
        let status = match (&key.revoked_at, &inactive_reason) {
            (Some(_), _) => KeyStatus::Revoked,
            (None, Some(_)) => KeyStatus::Inactive,
            (None, None) => KeyStatus::Active,
        };
        ApiKeyView {
            id: key.id.clone(),
            name: key.name.clone(),
            user_id: key.user_id.clone(),
            permissions: key.permissions.clone(),
            key_prefix: key.key_prefix.clone(),
            status,
            inactive_reason: inactive_reason.filter(|_| status == KeyStatus::Inactive),
            created_at: key.created_at,
            created_by: key.created_by.clone(),
            revoked_at: key.revoked_at,
            revoked_by: key.revoked_by.clone(),
        }
    }
}

/// The creation response: the only time the secret token is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    #[serde(serialize_with = "secret_tokens::serialize_exposed")]
    #[schema(value_type = String)]
    pub secret: SecretString,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    /// The member the key acts as; the caller by default.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub user_id: Option<UserId>,
    /// The scope; by default everything the caller may use now, so a key never exceeds
    /// the caller who made it.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub permissions: Option<Vec<Permission>>,
}

impl CreatedApiKey {
    pub fn of(issued: IssuedApiKey) -> Self {
        CreatedApiKey {
            key: ApiKeyView::of(&issued.key),
            secret: issued.secret,
        }
    }
}

impl CreateApiKey {
    pub fn parse(self) -> ApiResult<NewApiKey> {
        Ok(NewApiKey {
            name: validation::one_line_text("name", &self.name, 100)?,
            user_id: self.user_id,
            permissions: self.permissions,
        })
    }
}

/// `POST /api-keys`. The permission is checked before the body's fields, as the command
/// would, so a caller without it learns nothing from validation errors.
pub async fn create(store: &Store, principal: &Principal, body: CreateApiKey) -> ApiResult<CreatedApiKey> {
    principal.require(Permission::ApiKeysManage)?;
    let issued = api_keys::create_api_key(store, principal, body.parse()?).await?;
    Ok(CreatedApiKey::of(issued))
}

pub async fn list(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<ApiKeyView>> {
    let page = api_keys::list_api_keys(store, principal, page).await?;
    Ok(ListPage {
        data: page
            .data
            .into_iter()
            .map(|KeyStanding { key, inactive_reason }| ApiKeyView::with_reason(&key, inactive_reason))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrgId;
    use crate::model::api_keys::new_key;
    use crate::permissions::PermissionSet;

    #[test]
    fn a_created_keys_secret_is_in_its_json_and_never_in_its_debug_text() {
        let user = UserId::new();
        let (key, secret) = new_key(
            &OrgId::new(),
            &user,
            "k".into(),
            &PermissionSet::new(),
            &user,
            Timestamp::now(),
        )
        .unwrap();
        let exposed = secret_tokens::ExposeSecret::expose_secret(&secret).to_string();
        let issued = IssuedApiKey { key, secret };
        let debug = format!("{issued:?}");
        assert!(!debug.contains(&exposed), "{debug}");
        let created = CreatedApiKey::of(issued);
        let debug = format!("{created:?} {created:#?}");
        assert!(!debug.contains(&exposed), "{debug}");
        // `rck_<ulid>_<secret>`: the secret is base64url, which may hold `_` itself.
        let secret_part = exposed.splitn(3, '_').nth(2).unwrap();
        assert!(secret_part.len() >= 43, "{exposed}");
        assert!(!debug.contains(secret_part));
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["secret"], exposed.as_str());
    }
}
