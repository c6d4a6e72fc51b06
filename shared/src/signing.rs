//! Signing the audit trail's digests with an asymmetric KMS key (`ECC_NIST_P256`,
//! `ECDSA_SHA_256`): the private key never leaves KMS, and the public key is published so
//! anyone can check a digest (`model::audit_digest`). It sits beside the store, as `mail`.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::sync::OnceCell;

use crate::error::{ApiError, ApiResult};
use crate::model::audit_digest::PublicKey;

/// The environment variable naming the key (its id, ARN or alias).
pub const SIGNING_KEY_VARIABLE: &str = "AUDIT_SIGNING_KEY_ID";

/// The KMS client and the key; built once per cold start. The public key is read from KMS
/// once and kept.
#[derive(Debug)]
pub struct AuditSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    public_key: OnceCell<PublicKey>,
}

/// A signature and the key that made it (its ARN, whatever name the key was given by).
pub struct Signed {
    pub key_arn: String,
    /// DER, base64.
    pub signature: String,
}

impl AuditSigner {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        AuditSigner {
            client,
            key_id: key_id.into(),
            public_key: OnceCell::new(),
        }
    }

    /// Signs `message` (at most 4 KB: KMS hashes a RAW message itself).
    pub async fn sign(&self, message: &[u8]) -> ApiResult<Signed> {
        let output = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await?;
        let signature = output
            .signature
            .ok_or_else(|| ApiError::internal("KMS answered a Sign without a signature"))?;
        Ok(Signed {
            key_arn: output.key_id.unwrap_or_else(|| self.key_id.clone()),
            signature: BASE64.encode(signature.as_ref()),
        })
    }

    /// The key's public half (`GetPublicKey`, once per cold start).
    pub async fn public_key(&self) -> ApiResult<&PublicKey> {
        self.public_key
            .get_or_try_init(|| async {
                let output = self.client.get_public_key().key_id(&self.key_id).send().await?;
                let der = output
                    .public_key
                    .ok_or_else(|| ApiError::internal("KMS answered GetPublicKey without a key"))?;
                let key_arn = output.key_id.unwrap_or_else(|| self.key_id.clone());
                Ok(PublicKey::from_der(key_arn, der.as_ref()))
            })
            .await
    }
}
