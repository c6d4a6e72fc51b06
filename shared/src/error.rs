//! The one error type of the API and its mapping to `{"error": {"code", "message", "field"?}}`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde::Serialize;

use crate::permissions::Permission;

#[derive(Debug, Clone, thiserror::Error)]
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
    /// A value that must be unique in the organization is already used (an email, a
    /// group's name): a 409 like any conflict, told apart for SCIM's `uniqueness`.
    #[error("{message}")]
    Taken { message: String },
    /// An `Idempotency-Key` that names another request, or one still being served
    /// (`docs/idempotency.md`).
    #[error("{message}")]
    IdempotencyConflict { message: String },
    /// The caller's `If-Match` names a version the record is no longer at.
    #[error("{message}")]
    PreconditionFailed { message: String },
    /// A quota is used up; the client may retry after `retry_after_seconds`.
    #[error("{message}")]
    RateLimited { message: String, retry_after_seconds: u64 },
    /// A service we depend on (DynamoDB, SES, S3) failed, throttled or timed out after our
    /// retries, or the work did not fit its time; nothing was changed. The client may retry
    /// after `retry_after_seconds`; `dependency` and `fault` are logged, never returned.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_seconds: u64,
        dependency: &'static str,
        fault: String,
    },
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

    /// A dependency's failure, answered `503` with `Retry-After`.
    pub fn unavailable(message: impl Into<String>, dependency: &'static str, fault: impl std::fmt::Display) -> Self {
        ApiError::Unavailable {
            message: message.into(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
            dependency,
            fault: fault.to_string(),
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
            ApiError::Conflict { .. } | ApiError::Taken { .. } | ApiError::IdempotencyConflict { .. } => 409,
            ApiError::PreconditionFailed { .. } => 412,
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
            ApiError::Conflict { .. } | ApiError::Taken { .. } => "conflict",
            ApiError::IdempotencyConflict { .. } => "idempotency_conflict",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal { .. } => "internal",
            ApiError::Unavailable { .. } => "unavailable",
        }
    }

    /// Headers the response carries besides the body (`Retry-After` on 429 and 503).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::RateLimited {
                retry_after_seconds, ..
            }
            | ApiError::Unavailable {
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

/// How long a client should wait before retrying a `503`: the SDK has already retried
/// with backoff for the whole of its budget, so the fault outlasted a few seconds.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Error codes AWS services answer when they throttle a caller (DynamoDB, SES, S3).
const THROTTLING_CODES: [&str; 8] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "LimitExceededException",
];

/// Whether an SDK failure is the dependency's transient fault (throttling, a 5xx, a
/// timeout, a connection that failed or dropped), which a later retry may not meet.
pub fn is_transient<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout() || failure.is_other(),
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || error.code().is_some_and(|code| THROTTLING_CODES.contains(&code))
        }
        _ => false,
    }
}

/// The service an SDK error type belongs to, for the log line.
fn dependency_of<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    if name.starts_with("aws_sdk_dynamodb") {
        "DynamoDB"
    } else if name.starts_with("aws_sdk_ses") {
        "SES"
    } else if name.starts_with("aws_sdk_s3") {
        "S3"
    } else if name.starts_with("aws_sdk_kms") {
        "KMS"
    } else {
        "AWS"
    }
}

/// SDK failures that reach the domain unclassified: a dependency's transient fault (after
/// the SDK's own retries) is `503 unavailable` with `Retry-After`; anything else is a fault
/// of ours (a malformed request, a missing table): 500. Conditional failures are
/// classified in the store, where their meaning is known.
impl<E> From<SdkError<E, HttpResponse>> for ApiError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    fn from(error: SdkError<E, HttpResponse>) -> Self {
        let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
        if is_transient(&error) {
            ApiError::unavailable(
                "a service the API depends on is unavailable or busy; nothing was changed, retry in a moment",
                dependency_of::<E>(),
                detail,
            )
        } else {
            ApiError::Internal { detail }
        }
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(error: serde_dynamo::Error) -> Self {
        ApiError::internal(format!("item mapping: {error}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
