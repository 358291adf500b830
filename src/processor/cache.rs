//! What this instance knows of the orders and commands of its partitions,
//! so that a batch reads nothing it wrote itself: the state of the orders
//! its batches committed, and the ids of the commands they processed.
//!
//! Kafka's assignment makes the instance that owns a partition the only
//! writer of its orders, but not always: in a rebalance race another
//! instance may still write them. So a known state is never trusted
//! blindly: every order a batch decides on from this cache without
//! locking it first is written back with a version check (`WHERE version = …`, see
//! [`Order::add_updates_to`](crate::db::models::Order::add_updates_to)),
//! and a row that another writer moved fails the batch, which is then
//! applied again from fresh, row-locked reads. A command id missing here
//! is caught by `processed_commands`' primary key the same way.
//!
//! Bounded (see [`Recent`]): each map keeps the entries written in the last
//! [`ORDERS`] (or [`COMMANDS`]) insertions (two generations, the older one
//! dropped when the newer is full), a command id for at most
//! [`COMMAND_TTL`] and the retention. A partition's entries are dropped
//! when it is assigned or revoked.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use uuid::Uuid;

use super::recent::Recent;
use crate::db::models::ProcessedFingerprint;
use crate::domain::{Command, OrderState};

/// Orders kept, at most.
pub const ORDERS: usize = 20_000;
/// Command ids kept, at most.
pub const COMMANDS: usize = 50_000;
/// How long a command id is known, at most (see
/// [`OrderCache::keep_commands_at_most`]).
pub const COMMAND_TTL: Duration = Duration::from_secs(600);

/// A topic partition a command came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionId {
    pub topic: Arc<str>,
    pub partition: i32,
}

/// The known orders and processed commands, shared by the lanes and the
/// consumer's rebalance callback.
#[derive(Clone)]
pub struct OrderCache {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    /// Bumped for a partition by every [`OrderCache::forget`] of it: a
    /// batch that read the cache before remembers nothing of it (the
    /// partition may have moved meanwhile).
    generations: HashMap<PartitionId, u64>,
    orders: Recent<Uuid, (PartitionId, OrderState)>,
    commands: Recent<Uuid, (PartitionId, ProcessedFingerprint)>,
    /// How long a command id is known: never longer than its
    /// `processed_commands` row is kept, so that the cache and the table
    /// agree on what is a duplicate.
    command_ttl: Duration,
}

impl Inner {
    /// Whether a processed command is still known: its row not yet due
    /// for the purge.
    fn current(&self, fingerprint: &ProcessedFingerprint) -> bool {
        (Utc::now() - fingerprint.processed_at)
            .to_std()
            .map_or(true, |age| age < self.command_ttl)
    }
}

/// What a batch takes from the cache before its transaction.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// The generation of each of the batch's partitions when read.
    generations: HashMap<PartitionId, u64>,
    pub(super) orders: HashMap<Uuid, OrderState>,
    pub(super) commands: HashMap<Uuid, ProcessedFingerprint>,
}

impl Default for OrderCache {
    fn default() -> Self {
        Self::with_capacity(ORDERS, COMMANDS)
    }
}

impl OrderCache {
    pub fn with_capacity(orders: usize, commands: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                generations: HashMap::new(),
                orders: Recent::new(orders),
                commands: Recent::new(commands),
                command_ttl: COMMAND_TTL,
            })),
        }
    }

    /// Knows a command id no longer than `retention` (RETENTION_SECS: its
    /// `processed_commands` row is purged after it).
    pub fn keep_commands_at_most(&self, retention: Duration) {
        let mut inner = self.lock();
        inner.command_ttl = inner.command_ttl.min(retention);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops what is known of the `moved` partitions, (topic, partition)
    /// (assigned or revoked: another instance may write their orders).
    pub fn forget<'a>(&self, moved: impl IntoIterator<Item = (&'a str, i32)>) {
        let moved: HashSet<PartitionId> = moved
            .into_iter()
            .map(|(topic, partition)| PartitionId {
                topic: Arc::from(topic),
                partition,
            })
            .collect();
        let mut inner = self.lock();
        for id in &moved {
            *inner.generations.entry(id.clone()).or_default() += 1;
        }
        inner.orders.retain(|_, (p, _)| !moved.contains(p));
        inner.commands.retain(|_, (p, _)| !moved.contains(p));
    }

    /// Drops what is known of the orders `commands` name (written outside
    /// the cached path).
    pub fn forget_orders(&self, commands: &[Command]) {
        let mut inner = self.lock();
        for command in commands {
            inner.orders.remove(&command.order_id);
        }
    }

    /// The known states of the orders `commands` name, and the known
    /// fingerprints of their ids; `partitions`: where they came from.
    pub(super) fn known(&self, commands: &[Command], partitions: &[PartitionId]) -> Known {
        let inner = self.lock();
        let mut known = Known::default();
        for partition in partitions {
            if !known.generations.contains_key(partition) {
                let generation = inner.generations.get(partition).copied().unwrap_or(0);
                known.generations.insert(partition.clone(), generation);
            }
        }
        for command in commands {
            if let Some((_, state)) = inner.orders.get(&command.order_id) {
                known.orders.insert(command.order_id, state.clone());
            }
            if let Some((_, fingerprint)) = inner.commands.get(&command.command_id)
                && inner.current(fingerprint)
            {
                known.commands.insert(command.command_id, *fingerprint);
            }
        }
        known
    }

    /// Remembers what a committed batch left: its orders' states and the
    /// commands it found or made processed; nothing of a partition that
    /// was forgotten since `known` was read, and no state older than the
    /// one held (two lanes' batches on one order, remembered out of turn).
    pub(super) fn remember(
        &self,
        known: &Known,
        orders: impl IntoIterator<Item = (Uuid, PartitionId, OrderState)>,
        commands: impl IntoIterator<Item = (Uuid, PartitionId, ProcessedFingerprint)>,
    ) {
        let mut inner = self.lock();
        let unmoved = |inner: &Inner, p: &PartitionId| {
            known.generations.get(p).copied().unwrap_or(0)
                == inner.generations.get(p).copied().unwrap_or(0)
        };
        for (id, partition, state) in orders {
            let newer = inner
                .orders
                .get(&id)
                .is_none_or(|(_, held)| held.version <= state.version);
            if newer && unmoved(&inner, &partition) {
                inner.orders.insert(id, (partition, state));
            }
        }
        for (id, partition, fingerprint) in commands {
            if unmoved(&inner, &partition) && inner.current(&fingerprint) {
                inner.commands.insert(id, (partition, fingerprint));
            }
        }
    }

    /// Orders and command ids held.
    pub fn len(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.orders.len(), inner.commands.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(partition: i32) -> PartitionId {
        PartitionId {
            topic: Arc::from("t"),
            partition,
        }
    }

    fn state(version: i64) -> OrderState {
        OrderState {
            version,
            ..OrderState::created()
        }
    }

    #[test]
    fn a_forget_drops_the_partitions_entries_and_what_batches_before_it_bring() {
        let cache = OrderCache::with_capacity(10, 10);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let read = cache.known(&[], &[p(0), p(1)]);
        cache.remember(&read, [(a, p(0), state(1)), (b, p(1), state(1))], []);
        assert_eq!(cache.len(), (2, 0));
        cache.forget([("t", 1)]);
        assert_eq!(cache.len(), (1, 0));
        assert!(cache.lock().orders.get(&a).is_some());
        // A batch that read before the forget remembers nothing of the
        // partition forgotten, and the rest as usual.
        let c = Uuid::now_v7();
        cache.remember(&read, [(b, p(1), state(2)), (c, p(0), state(1))], []);
        assert_eq!(cache.len(), (2, 0));
        assert!(cache.lock().orders.get(&b).is_none());
    }

    #[test]
    fn an_older_state_does_not_replace_a_newer_one() {
        let cache = OrderCache::with_capacity(10, 10);
        let a = Uuid::now_v7();
        let read = cache.known(&[], &[p(0)]);
        cache.remember(&read, [(a, p(0), state(7))], []);
        cache.remember(&read, [(a, p(0), state(6))], []);
        assert_eq!(cache.lock().orders.get(&a).map(|(_, s)| s.version), Some(7));
    }

    #[test]
    fn command_ids_are_known_no_longer_than_the_retention() {
        let cache = OrderCache::with_capacity(10, 10);
        cache.keep_commands_at_most(Duration::ZERO);
        let command = Command {
            command_id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            correlation_id: String::new(),
            issued_at: None,
            traceparent: None,
            fingerprint: 0,
            body: crate::domain::CommandBody::CreateOrder(crate::domain::CreateOrder {
                user_id: "u".to_owned(),
                shipping_address: "a".to_owned(),
                currency: "EUR".to_owned(),
            }),
        };
        let read = cache.known(&[], &[p(0)]);
        let fingerprint = ProcessedFingerprint {
            order_id: command.order_id,
            body_hash: Some(0),
            processed_at: Utc::now(),
        };
        cache.remember(&read, [], [(command.command_id, p(0), fingerprint)]);
        let known = cache.known(std::slice::from_ref(&command), &[p(0)]);
        assert!(known.commands.is_empty(), "expired");

        // Counted from when it was processed, not from when it was seen.
        let cache = OrderCache::with_capacity(10, 10);
        cache.keep_commands_at_most(Duration::from_secs(60));
        let old = ProcessedFingerprint {
            processed_at: Utc::now() - chrono::Duration::seconds(61),
            ..fingerprint
        };
        cache.remember(&read, [], [(command.command_id, p(0), old)]);
        assert!(
            cache
                .known(std::slice::from_ref(&command), &[p(0)])
                .commands
                .is_empty()
        );
        cache.remember(&read, [], [(command.command_id, p(0), fingerprint)]);
        assert_eq!(
            cache
                .known(std::slice::from_ref(&command), &[p(0)])
                .commands
                .len(),
            1
        );
    }
}
