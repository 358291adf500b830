//! Leaving the consumer group while this instance cannot reach its
//! database (see [`crate::reachability`]), and joining it again.

use rdkafka::consumer::Consumer;
use tokio::sync::watch;

use super::client::GroupClient;
use crate::metrics::Metrics;

impl GroupClient {
    /// Leaves the group while the database is unreachable, joins again
    /// (subscribed to `topic`) when it answers. Batches in the lanes are
    /// retried meanwhile; one that commits after its partition moved on
    /// changes nothing (processed commands) and moves no position back.
    pub(super) fn follow_database(&self, reachable: bool, topic: &str, metrics: &Metrics) {
        if reachable {
            // Ready again once the group assigns (the rebalance callback).
            metrics.set_in_group(false);
            match self.get().subscribe(&[topic]) {
                Ok(()) => {
                    metrics.set_left_group(false);
                    tracing::info!("the database answers again: joining the consumer group");
                }
                Err(e) => tracing::error!(error = %e, "cannot join the consumer group again"),
            }
        } else {
            tracing::warn!(
                "the database has not answered for DB_UNREACHABLE_LEAVE_SECS: leaving the \
                 consumer group, so the instances that reach it take this one's partitions"
            );
            self.get().unsubscribe();
            metrics.set_left_group(true);
        }
    }
}

/// The next value of `reachable`; never, without one (or once its sender
/// is gone).
pub(super) async fn changed(reachable: &mut Option<watch::Receiver<bool>>) -> Option<bool> {
    if let Some(rx) = reachable
        && rx.changed().await.is_ok()
    {
        return Some(*rx.borrow_and_update());
    }
    std::future::pending().await
}
