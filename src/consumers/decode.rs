//! Bytes and headers of a command record → a [`Command`], or the reason it
//! cannot be one (the record then goes to the dead-letter topic).
//!
//! The payload is protobuf unless the record has the header
//! `content-type: application/json`, in which case it is the protobuf JSON
//! mapping (field names in lowerCamelCase or as in the .proto, enums by name).

use prost::Message;

use crate::domain::Command;
use crate::proto::{self, EnvelopeError, OrderCommand};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("record has no payload")]
    Empty,
    #[error("payload is not a protobuf OrderCommand: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("payload is not an OrderCommand in the protobuf JSON mapping: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported content-type {0}")]
    ContentType(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

impl DecodeError {
    /// A short machine-readable name of the failure, for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Protobuf(_) => "protobuf",
            Self::Json(_) => "json",
            Self::ContentType(_) => "content_type",
            Self::Envelope(_) => "invalid",
        }
    }
}

/// `content_type` is the value of the record's `content-type` header, if any.
pub fn decode_command(
    payload: Option<&[u8]>,
    content_type: Option<&[u8]>,
) -> Result<Command, DecodeError> {
    let payload = payload
        .filter(|p| !p.is_empty())
        .ok_or(DecodeError::Empty)?;
    let wire = match content_type.map(media_type) {
        None | Some(Ok(proto::CONTENT_TYPE_PROTOBUF)) | Some(Ok("application/protobuf")) => {
            OrderCommand::decode(payload)?
        }
        Some(Ok(proto::CONTENT_TYPE_JSON)) => serde_json::from_slice::<OrderCommand>(payload)?,
        Some(Ok(other)) => return Err(DecodeError::ContentType(crate::excerpt::quote(other))),
        Some(Err(raw)) => return Err(DecodeError::ContentType(crate::excerpt::quote(&raw))),
    };
    Ok(Command::try_from(wire)?)
}

/// The media type without parameters (`application/json; charset=utf-8` →
/// `application/json`), lower-cased.
fn media_type(value: &[u8]) -> Result<&'static str, String> {
    let text = String::from_utf8_lossy(value);
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" => Ok(proto::CONTENT_TYPE_PROTOBUF),
        "application/protobuf" => Ok("application/protobuf"),
        "application/json" => Ok(proto::CONTENT_TYPE_JSON),
        _ => Err(text.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommandBody;

    const COMMAND_ID: &str = "0b6a2f4e-8a51-4f1c-9d3e-6f1f3c1b2a10";
    const ORDER_ID: &str = "7d4e1c2a-3b5f-4e6d-8c9b-0a1b2c3d4e5f";

    fn create_order() -> OrderCommand {
        OrderCommand {
            command_id: COMMAND_ID.into(),
            order_id: ORDER_ID.into(),
            correlation_id: String::new(),
            issued_at: None,
            command: Some(proto::order_command::Command::CreateOrder(
                proto::CreateOrder {
                    user_id: "u1".into(),
                    shipping_address: "1 Main St".into(),
                    currency: "EUR".into(),
                },
            )),
        }
    }

    #[test]
    fn decodes_protobuf_with_or_without_header() {
        let bytes = create_order().encode_to_vec();
        for header in [None, Some(&b"application/x-protobuf"[..])] {
            let command = decode_command(Some(&bytes), header).unwrap();
            assert_eq!(command.command_id.to_string(), COMMAND_ID);
            assert_eq!(command.order_id.to_string(), ORDER_ID);
            assert!(matches!(command.body, CommandBody::CreateOrder(_)));
        }
    }

    #[test]
    fn decodes_json_in_both_field_spellings() {
        for json in [
            format!(
                r#"{{"commandId":"{COMMAND_ID}","orderId":"{ORDER_ID}","updateOrderStatus":{{"status":"ORDER_STATUS_CANCELLED","reason":"r"}}}}"#
            ),
            format!(
                r#"{{"command_id":"{COMMAND_ID}","order_id":"{ORDER_ID}","update_order_status":{{"status":"ORDER_STATUS_CANCELLED","reason":"r"}}}}"#
            ),
        ] {
            let command = decode_command(
                Some(json.as_bytes()),
                Some(b"application/json; charset=utf-8"),
            )
            .unwrap();
            assert_eq!(
                command.body,
                CommandBody::UpdateOrderStatus(crate::domain::UpdateOrderStatus {
                    status: Some(crate::domain::OrderStatus::Cancelled),
                    reason: "r".into()
                })
            );
        }
    }

    #[test]
    fn rejects_what_cannot_be_a_command() {
        let mut no_oneof = create_order();
        no_oneof.command = None;
        let mut bad_id = create_order();
        bad_id.order_id = "not-a-uuid".into();
        let mut no_command_id = create_order();
        no_command_id.command_id = String::new();
        let cases: Vec<(Vec<u8>, Option<&[u8]>)> = vec![
            (vec![0xff, 0xff, 0xff], None),
            (no_oneof.encode_to_vec(), None),
            (bad_id.encode_to_vec(), None),
            (no_command_id.encode_to_vec(), None),
            (b"{not json".to_vec(), Some(b"application/json")),
            (create_order().encode_to_vec(), Some(b"text/plain")),
        ];
        for (bytes, header) in cases {
            assert!(decode_command(Some(&bytes), header).is_err(), "{bytes:?}");
        }
        assert!(matches!(
            decode_command(None, None),
            Err(DecodeError::Empty)
        ));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any bytes, under any content type: a command or an error, never a
        /// panic, and never a command under a content type it does not know.
        #[test]
        fn any_bytes_decode_or_fail_cleanly(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            content_type in prop_oneof![
                Just(None),
                Just(Some(b"application/json".to_vec())),
                Just(Some(b"application/x-protobuf".to_vec())),
                proptest::collection::vec(any::<u8>(), 0..40).prop_map(Some),
            ],
        ) {
            let accepted = matches!(
                content_type.as_deref().map(media_type),
                None | Some(Ok(_))
            );
            // A panic fails the test; so does accepting an unknown content type.
            if decode_command(Some(&bytes), content_type.as_deref()).is_ok() {
                prop_assert!(accepted, "accepted content type {content_type:?}");
            }
        }

        /// Valid protobuf with hostile field values: truncated or not, it
        /// decodes to a command or an error.
        #[test]
        fn hostile_fields_decode_or_fail_cleanly(
            command_id in "\\PC{0,40}",
            order_id in "\\PC{0,40}",
            quantity in any::<i32>(),
            price in any::<i64>(),
            status in any::<i32>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let wire = OrderCommand {
                command_id,
                order_id,
                correlation_id: String::new(),
                issued_at: None,
                command: Some(if quantity % 2 == 0 {
                    proto::order_command::Command::AddOrderItem(proto::AddOrderItem {
                        product_id: "p".into(),
                        quantity,
                        price_per_unit: price,
                    })
                } else {
                    proto::order_command::Command::UpdateOrderStatus(proto::UpdateOrderStatus {
                        status,
                        reason: String::new(),
                    })
                }),
            };
            let bytes = wire.encode_to_vec();
            let _ = decode_command(Some(&bytes), None);
            let truncated = &bytes[..cut.index(bytes.len() + 1)];
            let _ = decode_command(Some(truncated), None);
        }
    }
}
