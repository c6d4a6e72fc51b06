//! API keys: a member's credential in one organization, with a scope of permissions.
//!
//! The token is `rck_<key ulid>_<secret>` (`model::secret_tokens`): the id lets
//! authentication read the key in one GetItem. It is shown once, in the creation response.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::model::secret_tokens::{self, IssuedToken, SecretString};
use crate::model::users::{Member, MemberStatus};
use crate::permissions::{Permission, PermissionSet};
use crate::time::Timestamp;

const TOKEN_PREFIX: &str = "rck_";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    /// The scope; the key's effective permissions are these ∩ the member's roles.
    pub permissions: Vec<Permission>,
    pub secret_hash: String,
    /// The start of the token, so people can tell their keys apart.
    pub key_prefix: String,
    pub created_at: Timestamp,
    pub created_by: UserId,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<UserId>,
    pub version: u64,
}

/// Why a key that is not revoked cannot be used now: its member, or the member who minted
/// it for them, is not an active member (`None` = missing). Offboarding a person ends every
/// access they created, without touching each key they minted.
pub fn unusable_because(key: &ApiKey, member: Option<&Member>, creator: Option<&Member>) -> Option<String> {
    let status = |member: Option<&Member>| member.map_or("not a member", |m| m.status.as_str());
    if member.is_none_or(|member| member.status != MemberStatus::Active) {
        return Some(format!("its user `{}` is {}", key.user_id, status(member)));
    }
    if key.created_by != key.user_id && creator.is_none_or(|creator| creator.status != MemberStatus::Active) {
        return Some(format!(
            "the member who created it, `{}`, is {}",
            key.created_by,
            status(creator)
        ));
    }
    None
}

/// A key as a command made it, with its secret: shown once, never stored.
#[derive(Debug)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

/// A key with why it cannot be used now (its member or the member who minted it is no
/// longer active), if so.
#[derive(Debug)]
pub struct KeyStanding {
    pub key: ApiKey,
    pub inactive_reason: Option<String>,
}

/// A new key's values, parsed (`rest::api_keys::CreateApiKey::parse`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub name: String,
    /// The member the key acts as; the caller by default.
    pub user_id: Option<UserId>,
    /// The scope; by default everything the caller may use now.
    pub permissions: Option<Vec<Permission>>,
}

pub fn issue_secret(id: &ApiKeyId) -> ApiResult<IssuedToken> {
    secret_tokens::issue(TOKEN_PREFIX, id.as_str().trim_start_matches(ApiKeyId::PREFIX))
}

pub fn parse_token(token: &str) -> Option<(ApiKeyId, &str)> {
    let (ulid, secret) = secret_tokens::split(TOKEN_PREFIX, token)?;
    let id = ApiKeyId::parse("X-API-Key", &format!("{}{ulid}", ApiKeyId::PREFIX)).ok()?;
    Some((id, secret))
}

pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    secret_tokens::matches(secret, stored_hash)
}

/// A new, unsaved key for a member; `scope` is what the key may use.
pub fn new_key(
    org: &OrgId,
    user: &UserId,
    name: String,
    scope: &PermissionSet,
    created_by: &UserId,
    now: Timestamp,
) -> ApiResult<(ApiKey, SecretString)> {
    let id = ApiKeyId::new();
    let secret = issue_secret(&id)?;
    let key = ApiKey {
        id,
        organization_id: org.clone(),
        user_id: user.clone(),
        name,
        permissions: scope.iter().copied().collect(),
        secret_hash: secret.hash,
        key_prefix: secret.prefix,
        created_at: now,
        created_by: created_by.clone(),
        revoked_at: None,
        revoked_by: None,
        version: 1,
    };
    Ok((key, secret.token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_parses_back_to_its_key_and_matches_only_its_own_hash() {
        let id = ApiKeyId::new();
        let secret = issue_secret(&id).unwrap();
        let token = secret_tokens::ExposeSecret::expose_secret(&secret.token);
        let (parsed_id, presented) = parse_token(token).unwrap();
        assert_eq!(parsed_id, id);
        assert!(secret_matches(presented, &secret.hash));
        assert!(!secret_matches("not-the-secret", &secret.hash));
        assert!(token.starts_with(&secret.prefix));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in [
            "",
            "rck_",
            "rck_abc_def",
            "xyz_01hx2m7k3q9v8c6b5n4m3k2j1h_secret",
            "rck_01hx2m7k3q9v8c6b5n4m3k2j1h_",
        ] {
            assert!(parse_token(token).is_none(), "{token}");
        }
    }
}
