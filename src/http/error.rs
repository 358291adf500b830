//! `ApiError`: every failure of the HTTP API as a status code and a JSON
//! body `{"error": {"code": "...", "message": "..."}}`, where `code` is
//! stable and machine-readable.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::commands::Invalid;
use crate::db::DbError;
use crate::proto::UnknownStatus;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; `code` says how.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The command was processed and refused: `code` is its rejection code
    /// (e.g. `INVALID_TRANSITION`), or `idempotency_key_reused`.
    #[error("{message}")]
    Unprocessable { code: String, message: String },
    #[error("a bearer token is required")]
    Unauthorized,
    #[error("this token may not do that (a write token is needed)")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("this endpoint does not take that method")]
    MethodNotAllowed,
    #[error("the request body is larger than this server takes (HTTP_BODY_LIMIT_BYTES)")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A dependency (database, broker) does not answer, or the server is
    /// at its limit; retry later.
    #[error("{0}")]
    Unavailable(String),
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_id`, `validation_failed`, a
    /// rejection code such as `INVALID_TRANSITION`, …
    pub code: String,
    /// For people; wording may change.
    pub message: String,
}

/// Seconds a shed or unavailable request should wait before a retry.
const RETRY_AFTER_SECS: &str = "1";

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if status.is_server_error() {
            tracing::warn!(error = %self, "http request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            Self::Unauthorized | Self::Forbidden => {
                let challenge = if matches!(self, Self::Forbidden) {
                    "Bearer error=\"insufficient_scope\", scope=\"write\""
                } else {
                    "Bearer"
                };
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            Self::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        match rejection {
            JsonRejection::JsonSyntaxError(_) => Self::bad_request("malformed_json", text),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType(text),
            rejection if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            _ => Self::bad_request("invalid_body", text),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<Invalid> for ApiError {
    fn from(error: Invalid) -> Self {
        match error {
            Invalid::Envelope(error) => Self::bad_request("invalid_command", error.to_string()),
            Invalid::Field(message) => Self::bad_request("validation_failed", message),
        }
    }
}

impl From<UnknownStatus> for ApiError {
    fn from(error: UnknownStatus) -> Self {
        Self::bad_request("invalid_status", error.to_string())
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        Self::Unavailable(format!("database: {error}"))
    }
}
