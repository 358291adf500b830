//! What every command endpoint does once it has its command: read the
//! `Prefer: wait` and `Idempotency-Key` headers, claim the key (refused at
//! once if it was claimed for another command), answer a command id seen
//! before with its outcome, publish (with the caller's trace context),
//! wait for the outcome when asked to, and shape the answer.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::keys::{Claim, claim, idempotency_key, key_reused, mark_published};
use super::orders::{load, parse_id};
use super::views::{Accepted, OrderView};
use super::{ApiError, AppState, RequestId};
use crate::commands::{self, Envelope};
use crate::db::DbError;
use crate::db::models::ProcessedCommand;
use crate::domain::{self, Command};
use crate::proto::order_command::Command as Body;
use crate::telemetry;

/// The longest `Prefer: wait` honoured, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// What a wait leaves of HTTP_REQUEST_TIMEOUT_MS for reading the outcome
/// and answering.
const MARGIN: Duration = Duration::from_secs(1);

const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// `Prefer: wait=N` (RFC 7240), capped at [`MAX_WAIT_SECS`]; other
/// preferences, and a malformed wait, are ignored.
fn preferred_wait(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get_all(header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|preference| {
            let preference = preference.split(';').next()?.trim();
            let (name, value) = preference.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .next()?;
    (seconds > 0).then(|| Duration::from_secs(seconds.min(MAX_WAIT_SECS)))
}

/// What the caller asked for besides the command.
struct Submission {
    wait: Option<Duration>,
    /// Whether the id came from an `Idempotency-Key` header.
    keyed: bool,
}

/// Checks the command as the service will, publishes it, and answers at
/// once or, when asked to wait, with its outcome.
pub(super) async fn submit(
    state: &AppState,
    request_id: &RequestId,
    headers: &HeaderMap,
    order_id: String,
    envelope: Envelope,
    body: Body,
) -> Result<Response, ApiError> {
    let started = request_id.arrived();
    if !order_id.is_empty() {
        parse_id(&order_id)?;
    }
    let key = idempotency_key(headers)?;
    let command_id = match (key, envelope.command_id) {
        (Some(key), Some(given)) if Uuid::parse_str(&given).ok() != Some(key) => {
            return Err(ApiError::bad_request(
                "invalid_command",
                "command_id and Idempotency-Key name different commands; send one",
            ));
        }
        (Some(key), _) => key.to_string(),
        (None, given) => given.unwrap_or_default(),
    };
    let given_id = !command_id.is_empty();
    let correlation_id = envelope
        .correlation_id
        .unwrap_or_else(|| request_id.as_correlation_id());
    let command = commands::with_envelope(
        order_id,
        Envelope {
            command_id: Some(command_id).filter(|id| !id.is_empty()),
            correlation_id: Some(correlation_id),
        },
        body,
    );
    let (command, checked) = commands::complete(command)?;
    // A wait holds a slot of `state.waits`; when none is free the
    // preference is not honoured (202 at once).
    let permit = match preferred_wait(headers) {
        Some(wait) => state
            .waits
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| (wait, permit)),
        None => None,
    };
    let submission = Submission {
        wait: permit.as_ref().map(|(wait, _)| *wait),
        keyed: key.is_some(),
    };
    // A key is claimed now, before anything is published: reused for
    // another command it is refused at once, processed or not.
    let mut published_before = false;
    if key.is_some() {
        match claim(state, &checked).await? {
            Claim::Other => return Err(key_reused()),
            Claim::Same { published } => published_before = published,
            Claim::New => {}
        }
    }
    // A command id the client chose may have been processed already: the
    // answer is its outcome, not a second publication.
    if given_id {
        if let Some(processed) = find(state, checked.command_id).await? {
            return answer(state, &submission, &checked, Some(processed)).await;
        }
    }
    let mut waiter = submission
        .wait
        .map(|_| state.outcomes.register(checked.command_id));
    // A claim whose publish failed (or is under way) is published again:
    // the same command id, so the consumer applies it once.
    if !published_before {
        publish(state, headers, &command, &checked).await?;
        if key.is_some() {
            mark_published(state, checked.command_id).await;
        }
    }
    // Published: from here on a failure is answered 202 (the command is on
    // its way), never an error that would invite a retry under a new id.
    let wait = submission.wait.map(|wait| {
        wait.min(
            state
                .request_timeout
                .saturating_sub(started.elapsed() + MARGIN),
        )
    });
    // What follows reads the outcome on the read pool: bounded by the same
    // deadline, with 202 as the answer when it runs out.
    let deadline = state
        .request_timeout
        .saturating_sub(started.elapsed() + MARGIN / 2);
    let outcome = async {
        let processed = match (&mut waiter, wait) {
            (Some(waiter), Some(wait)) if !wait.is_zero() => {
                let mut shutdown = state.shutdown.clone();
                let woken = tokio::select! {
                    woken = waiter.wait(wait) => woken,
                    _ = shutdown.recv() => false,
                };
                if woken {
                    find(state, checked.command_id).await.unwrap_or_default()
                } else {
                    None
                }
            }
            _ => None,
        };
        answer(state, &submission, &checked, processed).await
    };
    let answered = tokio::time::timeout(deadline, outcome).await;
    drop(permit);
    match answered {
        Ok(Err(ApiError::Unavailable(error))) => {
            tracing::warn!(%error, "answering with the outcome failed; answering 202");
            answer(state, &submission, &checked, None).await
        }
        Err(_) => {
            tracing::warn!("no outcome within the request's deadline; answering 202");
            answer(state, &submission, &checked, None).await
        }
        Ok(answered) => answered,
    }
}

/// Publishes the command with the caller's trace context.
async fn publish(
    state: &AppState,
    headers: &HeaderMap,
    command: &crate::proto::OrderCommand,
    checked: &Command,
) -> Result<(), ApiError> {
    let traceparent = telemetry::traceparent_of(&tracing::Span::current()).or_else(|| {
        headers
            .get(telemetry::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| telemetry::is_traceparent(v))
            .map(str::to_owned)
    });
    let published = state
        .commands
        .publish_traced(command, traceparent.as_deref())
        .await
        .map_err(|e| ApiError::Unavailable(format!("publishing the command: {e}")))?;
    tracing::info!(
        command_id = %checked.command_id,
        order_id = %checked.order_id,
        kind = checked.body.kind().as_str(),
        partition = published.partition,
        offset = published.offset,
        "command accepted over http"
    );
    Ok(())
}

pub(super) async fn find(state: &AppState, id: Uuid) -> Result<Option<ProcessedCommand>, ApiError> {
    Ok(state
        .reads
        .run(move |conn| ProcessedCommand::find(conn, id).map_err(DbError::from))
        .await?)
}

/// The answer for `command`, given what became of it (`None`: not
/// processed yet).
async fn answer(
    state: &AppState,
    submission: &Submission,
    command: &Command,
    processed: Option<ProcessedCommand>,
) -> Result<Response, ApiError> {
    if let Some(processed) = &processed {
        let same_command = processed.order_id == command.order_id
            && processed
                .body_hash
                .is_none_or(|hash| hash == command.fingerprint);
        if !same_command {
            if submission.keyed {
                return Err(key_reused());
            }
            return Err(ApiError::Unprocessable {
                code: "COMMAND_ID_CONFLICT".to_owned(),
                message: "this command_id was used for another command".to_owned(),
            });
        }
    }
    let (Some(processed), Some(_)) = (processed, submission.wait) else {
        let location = format!("/orders/{}", command.order_id);
        let mut response = (
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(Accepted {
                command_id: command.command_id,
                order_id: command.order_id,
            }),
        )
            .into_response();
        if submission.wait.is_some() {
            response
                .headers_mut()
                .insert(PREFERENCE_APPLIED, HeaderValue::from_static("wait"));
        }
        return Ok(response);
    };
    let mut response = if processed.outcome == "applied" {
        let Some(order) = load(&state.reads, command.order_id).await? else {
            return Err(ApiError::Unavailable(
                "the order of an applied command is missing".into(),
            ));
        };
        let created = matches!(command.body, domain::CommandBody::CreateOrder(_));
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = (status, Json::<OrderView>(order)).into_response();
        if created {
            let location = HeaderValue::from_str(&format!("/orders/{}", command.order_id))
                .map_err(|_| ApiError::Unavailable("location header".into()))?;
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    } else {
        ApiError::Unprocessable {
            code: processed
                .rejection_code
                .unwrap_or_else(|| "REJECTED".to_owned()),
            message: processed
                .rejection_message
                .unwrap_or_else(|| "the command was rejected".to_owned()),
        }
        .into_response()
    };
    response
        .headers_mut()
        .insert(PREFERENCE_APPLIED, HeaderValue::from_static("wait"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::keys::tests::headers;

    #[test]
    fn prefer_wait_is_read_as_rfc_7240_says() {
        let wait = |value: &str| preferred_wait(&headers(&[("prefer", value)]));
        assert_eq!(wait("wait=5"), Some(Duration::from_secs(5)));
        assert_eq!(
            wait("respond-async, WAIT=\"7\""),
            Some(Duration::from_secs(7))
        );
        assert_eq!(wait("wait=10;foo=bar"), Some(Duration::from_secs(10)));
        assert_eq!(wait("wait=3600"), Some(Duration::from_secs(MAX_WAIT_SECS)));
        assert_eq!(wait("wait=0"), None);
        assert_eq!(wait("wait=-1"), None);
        assert_eq!(wait("wait=soon"), None);
        assert_eq!(wait("return=minimal"), None);
        assert_eq!(preferred_wait(&HeaderMap::new()), None);
        let two = headers(&[("prefer", "return=minimal"), ("prefer", "wait=2")]);
        assert_eq!(preferred_wait(&two), Some(Duration::from_secs(2)));
    }
}
