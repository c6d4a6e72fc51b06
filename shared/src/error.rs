//! The one error type of the API and its mapping to `{"error": {"code", "message", "field"?}}`.

use aws_sdk_dynamodb::error::SdkError;
use serde::Serialize;

use crate::permissions::Permission;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("a valid X-API-Key header is required")]
    Unauthenticated,
    #[error("this API key lacks the permission `{permission}`")]
    Forbidden { permission: Permission },
    /// A refusal that is not about a missing permission (e.g. granting what the caller lacks).
    #[error("{message}")]
    ForbiddenAction { message: String },
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// A well-formed id in the path or the body that names nothing in the organization.
    #[error("{resource} `{id}` not found")]
    NotFoundId { resource: &'static str, id: String },
    #[error("{message}")]
    Conflict { message: String },
    /// An `Idempotency-Key` that names another request, or one still being served
    /// (`docs/idempotency.md`).
    #[error("{message}")]
    IdempotencyConflict { message: String },
    /// A quota is used up; the client may retry after `retry_after_seconds`.
    #[error("{message}")]
    RateLimited { message: String, retry_after_seconds: u64 },
    /// A service we depend on (the email service) refused or failed; nothing was changed.
    #[error("{message}")]
    Unavailable { message: String },
    /// The only 5xx: details are logged, never returned.
    #[error("internal error")]
    Internal { detail: String },
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict {
            message: message.into(),
        }
    }

    pub fn idempotency_conflict(message: impl Into<String>) -> Self {
        ApiError::IdempotencyConflict {
            message: message.into(),
        }
    }

    pub fn forbidden_action(message: impl Into<String>) -> Self {
        ApiError::ForbiddenAction {
            message: message.into(),
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal {
            detail: detail.to_string(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation { .. } => 400,
            ApiError::Unauthenticated => 401,
            ApiError::Forbidden { .. } | ApiError::ForbiddenAction { .. } => 403,
            ApiError::NotFound { .. } | ApiError::NotFoundId { .. } => 404,
            ApiError::Conflict { .. } | ApiError::IdempotencyConflict { .. } => 409,
            ApiError::RateLimited { .. } => 429,
            ApiError::Internal { .. } => 500,
            ApiError::Unavailable { .. } => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "validation_error",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden { .. } | ApiError::ForbiddenAction { .. } => "forbidden",
            ApiError::NotFound { .. } | ApiError::NotFoundId { .. } => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::IdempotencyConflict { .. } => "idempotency_conflict",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal { .. } => "internal",
            ApiError::Unavailable { .. } => "unavailable",
        }
    }

    /// Headers the response carries besides the body (`Retry-After` on 429).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::RateLimited {
                retry_after_seconds, ..
            } => vec![("retry-after", retry_after_seconds.to_string())],
            _ => Vec::new(),
        }
    }

    /// The JSON body every error response carries.
    pub fn body(&self) -> ErrorBody {
        let field = match self {
            ApiError::Validation { field, .. } => Some(field.clone()),
            _ => None,
        };
        let permission = match self {
            ApiError::Forbidden { permission } => Some(permission.as_str().to_string()),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                field,
                permission,
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// `validation_error` (400), `unauthenticated` (401), `forbidden` (403), `not_found`
    /// (404), `conflict` and `idempotency_conflict` (409), `rate_limited` (429), `internal`
    /// (500), `unavailable` (503).
    #[schema(value_type = String)]
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// SDK failures that reach the domain unclassified are faults of ours or of AWS: 500.
/// Conditional failures are classified in the store, where their meaning is known.
impl<E, R> From<SdkError<E, R>> for ApiError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(error: SdkError<E, R>) -> Self {
        let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
        ApiError::Internal { detail }
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(error: serde_dynamo::Error) -> Self {
        ApiError::internal(format!("item mapping: {error}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
