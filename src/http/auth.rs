//! Bearer tokens (`API_TOKENS`): with tokens configured, every `/orders`
//! and `/commands` route needs `Authorization: Bearer <token>`. Reads (GET)
//! take a `read` or `write` token, everything else a `write` token. A
//! missing or unknown token gets `401` with `WWW-Authenticate: Bearer`, a
//! read token on a command `403`. Tokens are compared in constant time and
//! never logged.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::config::Scope;

pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(tokens) = &state.tokens else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let needed = if matches!(*request.method(), Method::GET | Method::HEAD) {
        Scope::Read
    } else {
        Scope::Write
    };
    match presented.and_then(|token| tokens.scope_of(token)) {
        None => ApiError::Unauthorized.into_response(),
        Some(scope) if scope < needed => ApiError::Forbidden.into_response(),
        Some(_) => next.run(request).await,
    }
}
