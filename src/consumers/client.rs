//! The group consumer's librdkafka client, built again when the broker
//! refuses its static member id for now: under Kafka 4's consumer protocol
//! a static member restarted before its old session ended gets
//! `UNRELEASED_INSTANCE_ID`, which librdkafka treats as fatal (that client
//! consumes nothing more), though it passes once the broker ends the old
//! session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::types::RDKafkaErrorCode;

use super::context::CommandConsumerContext;
use crate::config::{GroupSettings, IntakeSettings, KafkaSettings};
use crate::kafka;
use crate::metrics::{Membership, Metrics};
use crate::processor::{OffsetStore, OrderCache};

pub(super) type Client = StreamConsumer<CommandConsumerContext>;

/// How long to wait before asking the broker again for a static id it
/// still holds.
pub(super) const UNRELEASED_RETRY: Duration = Duration::from_secs(1);
const REFUSED_LOG_EVERY: Duration = Duration::from_secs(30);

pub(super) struct GroupClient {
    /// `None` once closed ([`Self::close`]).
    current: Mutex<Option<Arc<Client>>>,
    parts: Parts,
}

/// What a client is made of.
struct Parts {
    config: ClientConfig,
    offsets: OffsetStore,
    cache: OrderCache,
    metrics: Arc<Metrics>,
    topic: String,
    instance_id: Option<String>,
    refusal: Arc<Refusal>,
}

impl GroupClient {
    /// A client of `group`, subscribed to `kafka`'s command topic.
    pub(super) fn new(
        kafka: &KafkaSettings,
        group: &GroupSettings,
        intake: &IntakeSettings,
        offsets: OffsetStore,
        cache: OrderCache,
        metrics: Arc<Metrics>,
    ) -> KafkaResult<Self> {
        let config = kafka::group_consumer_config(&kafka.connection, group, intake)?;
        let topic = kafka.commands_topic.clone();
        let instance_id = group.instance_id.clone();
        // Shown before the first assignment (and while the id is refused).
        metrics.set_membership(
            &topic,
            Membership {
                instance_id: instance_id.clone(),
                ..Membership::default()
            },
        );
        let refusal = Arc::new(Refusal {
            since: Mutex::new(None),
            refused: AtomicBool::new(false),
            metrics: metrics.clone(),
        });
        let parts = Parts {
            config,
            offsets,
            cache,
            metrics,
            topic,
            instance_id,
            refusal,
        };
        let first = parts.create()?;
        first.subscribe(&[&parts.topic])?;
        Ok(Self {
            current: Mutex::new(Some(Arc::new(first))),
            parts,
        })
    }

    /// The client in use now.
    pub(super) fn get(&self) -> Arc<Client> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .expect("the consumer is used only until it is closed")
    }

    /// Closes the client (it leaves its group) on a thread of its own;
    /// the receiver hears when it is closed. Dropping a `GroupClient`
    /// closes it the same way.
    pub(super) fn close(&self) -> tokio::sync::oneshot::Receiver<()> {
        let client = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        close_elsewhere(client)
    }

    /// Whether `client` failed for good because the broker still holds
    /// this instance's static id for an earlier session.
    pub(super) fn unreleased(client: &Client) -> bool {
        client
            .client()
            .fatal_error()
            .is_some_and(|(code, _)| code == RDKafkaErrorCode::UnreleasedInstanceId)
    }

    /// After [`unreleased`](Self::unreleased): replaces the client with a
    /// new one, subscribed unless `subscribe` is false (the consumer left
    /// its group for the database); the failed one is closed on a thread
    /// of its own. What the failed client owned is owned no more
    /// (librdkafka unassigns without a rebalance callback). False when the
    /// new client could not be made: the failed one stays, and this is to
    /// be tried again (the failed one will not report its error twice).
    pub(super) fn rebuild(&self, subscribe: bool) -> bool {
        let parts = &self.parts;
        parts.refusal.refused(parts.instance_id.as_deref());
        parts.metrics.set_membership(
            &parts.topic,
            Membership {
                instance_id: parts.instance_id.clone(),
                ..Membership::default()
            },
        );
        parts.metrics.consumer_lag.clear();
        let fresh = parts.create().and_then(|fresh| {
            if subscribe {
                fresh.subscribe(&[&parts.topic])?;
            }
            Ok(fresh)
        });
        match fresh {
            Ok(fresh) => {
                let old = self
                    .current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .replace(Arc::new(fresh));
                close_elsewhere(old);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot create the consumer again, will retry");
                false
            }
        }
    }

    /// A record arrived: the id, if it was refused, is ours again.
    pub(super) fn released(&self) {
        self.parts.refusal.released();
    }
}

impl Drop for GroupClient {
    /// Never in place: closing a consumer runs its last rebalance callback,
    /// and librdkafka (2.12) can wait for ever in it (seen: the callback's
    /// `incremental_unassign` waiting on the group's queue when a test's
    /// runtime shut down mid-rebalance), which on a runtime's thread (a
    /// cancelled task) would stop every task with it. On a thread of its
    /// own only that thread waits; the process's exit ends it.
    fn drop(&mut self) {
        drop(self.close());
    }
}

/// Closes `client` on a thread of its own; the receiver hears when it is
/// closed (never, if librdkafka hangs in the close: the thread is lost,
/// not the caller).
fn close_elsewhere(client: Option<Arc<Client>>) -> tokio::sync::oneshot::Receiver<()> {
    let (closed, receiver) = tokio::sync::oneshot::channel();
    match client {
        Some(client) => drop(std::thread::spawn(move || {
            drop(client);
            let _ = closed.send(());
        })),
        None => drop(closed.send(())),
    }
    receiver
}

impl Parts {
    fn create(&self) -> KafkaResult<Client> {
        let context = CommandConsumerContext::new(
            self.offsets.clone(),
            self.cache.clone(),
            self.metrics.clone(),
            &self.topic,
            self.instance_id.clone(),
            self.refusal.clone(),
        );
        self.config
            .create_with_context(context)
            .map_err(kafka::redacted)
    }
}

/// Whether the broker refuses the static id, since when, and when that was
/// last said. Shared with each client's context, whose assignment ends it.
pub(super) struct Refusal {
    /// Since when, and when last logged (`None`: not refused).
    since: Mutex<Option<(Instant, Option<Instant>)>>,
    /// `since` is set: the read loop's check without a lock.
    refused: AtomicBool,
    metrics: Arc<Metrics>,
}

impl Refusal {
    /// The broker refused the id (again): said at the first refusal, then
    /// every 30 s.
    fn refused(&self, instance_id: Option<&str>) {
        let (since, say) = {
            let mut refused = self.since.lock().unwrap_or_else(|e| e.into_inner());
            let (since, logged) = refused.get_or_insert_with(|| (Instant::now(), None));
            let say = logged.is_none_or(|at| at.elapsed() >= REFUSED_LOG_EVERY);
            if say {
                *logged = Some(Instant::now());
            }
            (*since, say)
        };
        self.refused.store(true, Ordering::Relaxed);
        self.metrics.topic.instance_id_unreleased.set(1);
        if say {
            tracing::warn!(
                instance_id = instance_id.unwrap_or_default(),
                refused_s = since.elapsed().as_secs_f64(),
                "the broker refuses KAFKA_GROUP_INSTANCE_ID (UNRELEASED_INSTANCE_ID): an \
                 earlier session holds it, this instance's own before a crash (released when \
                 the broker's group.consumer.session.timeout.ms ends) or another running \
                 instance's (then it is never released: give each instance its own id); \
                 asking again every second"
            );
        }
    }

    /// The group took this instance in (an assignment, a record): the id
    /// is its own again.
    pub(super) fn released(&self) {
        if !self.refused.swap(false, Ordering::Relaxed) {
            return;
        }
        self.metrics.topic.instance_id_unreleased.set(0);
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((since, _)) = since {
            tracing::info!(
                refused_s = since.elapsed().as_secs_f64(),
                "the broker released KAFKA_GROUP_INSTANCE_ID: this instance is in its group again"
            );
        }
    }
}
