//! The write side of the REST API: an endpoint per kind of the command
//! catalogue ([`crate::commands`]: `POST /orders/create`,
//! `POST /orders/{id}/items/add`, `POST /orders/{id}/payment`,
//! `PATCH /orders/{id}/payment`, `PATCH /orders/{id}/status`), all served
//! by one handler and documented by one builder. Each validates the
//! request, publishes an `OrderCommand` to the command topic (the database
//! is not written here: the consumer applies it like any upstream command)
//! and answers:
//!
//! - `202 {command_id, order_id}` at once; or, with `Prefer: wait=N`
//!   (RFC 7240, N ≤ 30 s), once the command is processed: `201` + the order
//!   for a create, `200` + the order for the others, `422` with the
//!   rejection code for a rejected command; `202` if N passes first.
//! - An `Idempotency-Key` header becomes the command's id (hashed to a UUID
//!   when it is not one): the same key and body get the same answer, the
//!   same key with another body `422 idempotency_key_reused`.
//!
//! `GET /commands/{id}` tells a processed command's outcome.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response as HttpResponse;
use axum::routing::{patch, post};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterIn, PathItem, Paths,
};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Header, Ref, RefOr, Required, Response, Responses};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::error::ErrorBody;
use super::orders::parse_id;
use super::submit::{find, submit};
use super::views::{Accepted, CommandView, OrderView};
use super::{ApiError, AppState, RequestId};
use crate::commands::{CommandInput, Method, Parts, Visitor};

/// The answers every command endpoint may give, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only describes responses; never built.
enum CommandResponses {
    /// Published; not processed yet (or not within `Prefer: wait`).
    #[response(status = 202)]
    Accepted(#[to_schema] Accepted),
    /// The command is invalid: `invalid_id`, `invalid_command`,
    /// `validation_failed`, `invalid_status`, `malformed_json`,
    /// `invalid_body`, `invalid_idempotency_key`.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// No valid bearer token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A read-only token.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Larger than HTTP_BODY_LIMIT_BYTES.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Not `Content-Type: application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// Processed and rejected (code: the rejection code, e.g.
    /// INVALID_TRANSITION), or `idempotency_key_reused`.
    #[response(status = 422)]
    Rejected(ErrorBody),
    /// The broker or database does not answer, or the server sheds load.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// Every command endpoint: the input of kind `C`, the order named by the
/// path (none for a create), submitted.
async fn submit_input<C: CommandInput>(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    order_id: Option<Path<String>>,
    body: Result<Json<C>, JsonRejection>,
) -> Result<HttpResponse, ApiError> {
    let Json(mut input) = body?;
    if let Some(Path(order_id)) = order_id {
        input.for_order(order_id);
    }
    let Parts {
        order_id,
        envelope,
        body,
    } = input.into_parts()?;
    submit(&state, &request_id, &headers, order_id, envelope, body).await
}

/// Adds every command of the catalogue to a router: its route, served by
/// [`submit_input`], and its operation in the OpenAPI document.
pub(super) struct Register(pub OpenApiRouter<AppState>);

impl Visitor for Register {
    fn visit<C: CommandInput>(&mut self) {
        let route = C::ROUTE;
        let (method, handler) = match route.method {
            Method::Post => (HttpMethod::Post, post(submit_input::<C>)),
            Method::Patch => (HttpMethod::Patch, patch(submit_input::<C>)),
        };
        let paths = Paths::builder()
            .path(route.path, PathItem::new(method, operation::<C>()))
            .build();
        let mut schemas = Vec::new();
        collect::<C>(&mut schemas);
        collect::<OrderView>(&mut schemas);
        collect::<Accepted>(&mut schemas);
        collect::<ErrorBody>(&mut schemas);
        let router = std::mem::take(&mut self.0);
        self.0 = router.routes((schemas, paths, handler));
    }
}

/// `T`'s schema and those it refers to, for the document's components.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// The OpenAPI operation of a command endpoint.
fn operation<C: CommandInput>() -> Operation {
    let route = C::ROUTE;
    let mut parameters = Vec::new();
    if route.path.contains("{id}") {
        parameters.push(
            Parameter::builder()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The order's id"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                ))
                .build(),
        );
    }
    parameters.extend(CommandHeaders::into_params(|| Some(ParameterIn::Header)));
    let processed = if route.creates {
        Response::builder()
            .description("Processed (Prefer: wait): the new order")
            .header(
                "Location",
                Header::builder()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("/orders/{id}"))
                    .build(),
            )
    } else {
        Response::builder().description("Processed (Prefer: wait): the order")
    };
    let processed = processed.content(
        "application/json",
        Content::new(Some(Ref::from_schema_name(OrderView::name()))),
    );
    let responses = Responses::builder()
        .response(if route.creates { "201" } else { "200" }, processed)
        .responses_from_into_responses::<CommandResponses>();
    OperationBuilder::new()
        .tag("commands")
        .operation_id(Some(route.name))
        .summary(Some(route.summary))
        .parameters(Some(parameters))
        .request_body(Some(
            RequestBody::builder()
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name(C::name()))),
                )
                .required(Some(Required::True))
                .build(),
        ))
        .responses(responses)
        .securities(Some([
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]))
        .build()
}

/// The outcome of a processed command.
#[utoipa::path(
    get,
    path = "/commands/{id}",
    operation_id = "getCommand",
    tag = "commands",
    params(("id" = uuid::Uuid, Path, description = "The command's id")),
    responses(
        (status = 200, description = "Processed: applied or rejected", body = CommandView),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not processed (yet)", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_command(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CommandView>, ApiError> {
    let id = parse_id(&id)?;
    find(&state, id)
        .await?
        .map(|processed| Json(processed.into()))
        .ok_or_else(|| ApiError::NotFound(format!("command {id} is not processed")))
}

/// Headers the command endpoints read (see `submit`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only describes headers; read from the HeaderMap.
struct CommandHeaders {
    /// `wait=N`: answer once the command is processed, or after N seconds
    /// (at most 30) with 202.
    #[param(rename = "Prefer")]
    prefer: Option<String>,
    /// The command's id: a UUID, or any other key of up to 255 visible
    /// ASCII characters (hashed to a UUID).
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
    /// W3C trace context, carried onto the command record and its events.
    #[param(rename = "traceparent")]
    traceparent: Option<String>,
}
