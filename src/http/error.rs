//! `ApiError`: every failure of the HTTP API as a status code and a JSON
//! body `{"error": {"code": "...", "message": "..."}}`, where `code` is
//! stable and machine-readable.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::DbError;
use crate::proto::{EnvelopeError, UnknownStatus};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; `code` says how.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("this endpoint does not take that method")]
    MethodNotAllowed,
    /// A dependency (database, broker) does not answer; retry later.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
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
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        (status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::JsonDataError(_) => "invalid_body",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ => "invalid_body",
        };
        Self::bad_request(code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<EnvelopeError> for ApiError {
    fn from(error: EnvelopeError) -> Self {
        Self::bad_request("invalid_command", error.to_string())
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
