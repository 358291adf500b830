//! `Idempotency-Key`: the header read as a command id, and the key claimed
//! when a request is accepted (`idempotency_keys`), so another body under
//! the same key is refused at once and a retry publishes what its first
//! attempt could not.

use axum::http::{HeaderMap, HeaderName};
use uuid::Uuid;

use super::{ApiError, AppState};
use crate::db::DbError;
pub(super) use crate::db::models::Claim;
use crate::db::models::IdempotencyClaim;
use crate::domain::Command;

/// Namespace of the command ids derived from an `Idempotency-Key` that is
/// not a UUID.
const IDEMPOTENCY_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x7c2e_41d8_93b5_4f0a_a6d1_5e88_0c4b_29f7);

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The command id an `Idempotency-Key` stands for. The IETF draft sends the
/// key as a structured-field string (quoted); a bare token is taken too.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<Uuid>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    let key = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(Some(Uuid::parse_str(key).unwrap_or_else(|_| {
        Uuid::new_v5(&IDEMPOTENCY_KEY_NAMESPACE, key.as_bytes())
    })))
}

/// Keys are scoped per principal: the scope of the caller's token (every
/// command needs a `write` token, so one scope today), or none without
/// tokens. A token's value is never the scope, so rotating it keeps its keys.
fn principal(state: &AppState) -> &'static str {
    if state.tokens.is_some() { "write" } else { "" }
}

pub(super) async fn claim(state: &AppState, command: &Command) -> Result<Claim, ApiError> {
    let claim = IdempotencyClaim {
        principal: principal(state).to_owned(),
        key: command.command_id,
        order_id: command.order_id,
        body_hash: command.fingerprint,
        published: false,
    };
    Ok(state
        .reads
        .run(move |conn| IdempotencyClaim::claim(conn, &claim).map_err(DbError::from))
        .await?)
}

/// Records that the key's command went out. A failure here only means a
/// retry publishes it again, which the consumer applies once.
pub(super) async fn mark_published(state: &AppState, key: Uuid) {
    let principal = principal(state);
    let marked = state
        .reads
        .run(move |conn| IdempotencyClaim::published(conn, principal, key).map_err(DbError::from))
        .await;
    if let Err(e) = marked {
        tracing::warn!(error = %e, "marking an idempotency key published failed");
    }
}

pub(super) fn key_reused() -> ApiError {
    ApiError::Unprocessable {
        code: "idempotency_key_reused".to_owned(),
        message: "this Idempotency-Key was used for another command".to_owned(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// Request headers from name, value pairs (repeats kept).
    pub(in crate::http) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn idempotency_keys_become_command_ids() {
        let key = |value: &str| idempotency_key(&headers(&[("idempotency-key", value)]));
        let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
        assert_eq!(key(uuid).unwrap(), Some(Uuid::parse_str(uuid).unwrap()));
        assert_eq!(
            key(&format!("\"{uuid}\"")).unwrap(),
            Some(Uuid::parse_str(uuid).unwrap())
        );
        let hashed = key("order-42-attempt").unwrap().unwrap();
        assert_eq!(key("\"order-42-attempt\"").unwrap(), Some(hashed));
        assert_ne!(key("order-43-attempt").unwrap(), Some(hashed));
        assert!(key("").is_err());
        assert!(key("has space").is_err());
        assert!(key(&"k".repeat(256)).is_err());
        assert_eq!(idempotency_key(&HeaderMap::new()).unwrap(), None);
    }
}
