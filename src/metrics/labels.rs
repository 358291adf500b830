//! The label sets of the metrics' families, and the group membership
//! `/readyz` shows.

use prometheus_client::encoding::EncodeLabelSet;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Command kind: create_order, add_order_item, process_payment, …
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    pub kind: String,
    /// Rejection code, e.g. INVALID_TRANSITION.
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why the record could not be decoded: empty, protobuf, json, …
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    pub topic: String,
    pub partition: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/orders/{id}`), or `unmatched`.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpRouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabels {
    /// The member id the group coordinator gave this consumer.
    pub member_id: String,
    /// KAFKA_GROUP_INSTANCE_ID, empty for a dynamic member.
    pub instance_id: String,
}

/// This instance in its consumer group.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Membership {
    pub member_id: String,
    pub instance_id: Option<String>,
    /// The command topic's partitions this instance owns.
    pub partitions: Vec<i32>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `main` (the consumer, the relay, the housekeeper), `reads` (the
    /// HTTP GETs), `probes` (`/readyz`).
    pub pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: String,
}
