//! Bearer tokens that name their record: `<prefix><record ulid>_<secret>`.
//!
//! The id lets the record be read in one GetItem; the secret (256 bits from the OS CSPRNG)
//! is stored only as its SHA-256 and compared in constant time. API keys (`rck_`) and
//! invitation links (`rci_`) both use it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;
pub use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};

const SECRET_BYTES: usize = 32;

/// The longest token we issue is about 80 characters; anything longer is refused before
/// any lookup.
pub const MAX_TOKEN_LENGTH: usize = 200;

pub struct IssuedToken {
    /// Shown once (in a response or an email), never stored; its `Debug` prints no secret.
    pub token: SecretString,
    pub hash: String,
    /// The start of the token, so people can tell their tokens apart.
    pub prefix: String,
}

/// A new token for the record whose ULID text is `ulid`.
pub fn issue(token_prefix: &str, ulid: &str) -> ApiResult<IssuedToken> {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.try_fill_bytes(&mut bytes).map_err(ApiError::internal)?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let token = format!("{token_prefix}{ulid}_{secret}");
    let prefix = token.chars().take(token_prefix.len() + 10).collect();
    Ok(IssuedToken {
        hash: hash(&secret),
        token: SecretString::from(token),
        prefix,
    })
}

/// 256 random bits from the OS CSPRNG, base64url: a secret we must keep in full (a
/// webhook signing secret), not only its hash.
pub fn random_secret() -> ApiResult<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.try_fill_bytes(&mut bytes).map_err(ApiError::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The record's ULID text and the secret, if `token` has the shape of one of ours.
pub fn split<'a>(token_prefix: &str, token: &'a str) -> Option<(&'a str, &'a str)> {
    if token.len() > MAX_TOKEN_LENGTH {
        return None;
    }
    let (ulid, secret) = token.strip_prefix(token_prefix)?.split_once('_')?;
    (!secret.is_empty()).then_some((ulid, secret))
}

fn hash(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

pub fn matches(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Writes a secret into a response body (`#[serde(serialize_with = …)]`): the one place
/// a token leaves the process on purpose, besides the invitation email.
pub fn serialize_exposed<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// `serialize_exposed` for a token that only some responses carry.
pub fn serialize_exposed_option<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_some(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}
