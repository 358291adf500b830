//! The relay's rows on their way: handed to the producer, not answered
//! yet.

use std::collections::BTreeSet;

use futures_util::stream::FuturesUnordered;
use rdkafka::producer::DeliveryFuture;

use crate::kafka;

/// Rows handed to the producer and not yet answered. Answers are taken as
/// they come (the producer keeps each partition's order), so a slow
/// partition does not hold back the others.
#[derive(Default)]
pub(super) struct InFlight {
    pub(super) deliveries: FuturesUnordered<Delivery>,
    pub(super) ids: BTreeSet<i64>,
}

pub(super) type Delivery = std::pin::Pin<Box<dyn Future<Output = (i64, bool)> + Send>>;

impl InFlight {
    pub(super) fn push(&mut self, id: i64, delivery: DeliveryFuture) {
        self.ids.insert(id);
        self.deliveries.push(Box::pin(async move {
            match delivery.await {
                Ok(Ok(_)) => (id, true),
                Ok(Err((error, _))) => {
                    // Records never time out: this is an error no retry of
                    // librdkafka's mends (too large, not authorised).
                    kafka::ErrorLog.log(&error, "publishing an event; it will be sent again");
                    (id, false)
                }
                Err(_) => (id, false),
            }
        }));
    }

    /// The lowest id not answered yet.
    pub(super) fn lowest(&self) -> Option<i64> {
        self.ids.first().copied()
    }
}
