//! What this instance knows of the orders and commands of its partitions,
//! so that a batch reads nothing it wrote itself: the state of the orders
//! its batches committed, and the ids of the commands they processed.
//!
//! Kafka's assignment makes the instance that owns a partition the only
//! writer of its orders, but not always: in a rebalance race another
//! instance may still write them. So a known state is never trusted
//! blindly: every order a batch decides on from this cache is written back
//! with a version check (`WHERE version = …`, see
//! [`Order::add_updates_to`](crate::db::models::Order::add_updates_to)),
//! and a row that another writer moved fails the batch, which is then
//! applied again from fresh, row-locked reads. A command id missing here
//! is caught by `processed_commands`' primary key the same way.
//!
//! Bounded: each map keeps the entries written in the last
//! [`ORDERS`] (or [`COMMANDS`]) insertions (two generations, the older one
//! dropped when the newer is full). A partition's entries are dropped when
//! it is assigned or revoked.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::db::models::ProcessedFingerprint;
use crate::domain::{Command, OrderState};

/// Orders kept, at most.
pub const ORDERS: usize = 100_000;
/// Command ids kept, at most.
pub const COMMANDS: usize = 200_000;

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
    /// Bumped by every [`OrderCache::forget`]: a batch that read the cache
    /// before it remembers nothing (its partitions may have moved).
    generation: u64,
    orders: Recent<Uuid, (PartitionId, OrderState)>,
    commands: Recent<Uuid, (PartitionId, ProcessedFingerprint)>,
}

/// What a batch takes from the cache before its transaction.
#[derive(Debug, Default)]
pub(super) struct Known {
    pub(super) generation: u64,
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
                generation: 0,
                orders: Recent::new(orders),
                commands: Recent::new(commands),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops what is known of `partitions` of `topic` (assigned or revoked:
    /// another instance may write their orders).
    pub fn forget(&self, topic: &str, partitions: &[i32]) {
        let mut inner = self.lock();
        inner.generation += 1;
        let moved = |p: &PartitionId| &*p.topic == topic && partitions.contains(&p.partition);
        inner.orders.retain(|_, (p, _)| !moved(p));
        inner.commands.retain(|_, (p, _)| !moved(p));
    }

    /// Drops everything (orders written outside the cached path).
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.orders.clear();
        inner.commands.clear();
    }

    /// The known states of the orders `commands` name, and the known
    /// fingerprints of their ids.
    pub(super) fn known(&self, commands: &[Command]) -> Known {
        let inner = self.lock();
        let mut known = Known {
            generation: inner.generation,
            ..Known::default()
        };
        for command in commands {
            if let Some((_, state)) = inner.orders.get(&command.order_id) {
                known.orders.insert(command.order_id, state.clone());
            }
            if let Some((_, fingerprint)) = inner.commands.get(&command.command_id) {
                known.commands.insert(command.command_id, *fingerprint);
            }
        }
        known
    }

    /// Remembers what a committed batch left: its orders' states and its
    /// processed commands; nothing when the partitions moved since
    /// `generation` was read.
    pub(super) fn remember(
        &self,
        generation: u64,
        orders: impl IntoIterator<Item = (Uuid, PartitionId, OrderState)>,
        commands: impl IntoIterator<Item = (Uuid, PartitionId, ProcessedFingerprint)>,
    ) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        for (id, partition, state) in orders {
            inner.orders.insert(id, (partition, state));
        }
        for (id, partition, fingerprint) in commands {
            inner.commands.insert(id, (partition, fingerprint));
        }
    }

    /// Orders and command ids held.
    pub fn len(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.orders.len(), inner.commands.len())
    }
}

/// A map of the entries written most recently: two generations of at most
/// half the capacity each; a full newer generation replaces the older.
struct Recent<K, V> {
    newer: HashMap<K, V>,
    older: HashMap<K, V>,
    half: usize,
}

impl<K: Eq + Hash, V> Recent<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            newer: HashMap::new(),
            older: HashMap::new(),
            half: capacity / 2,
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.newer.get(key).or_else(|| self.older.get(key))
    }

    fn insert(&mut self, key: K, value: V) {
        if self.half == 0 {
            return;
        }
        self.older.remove(&key);
        if self.newer.len() >= self.half && !self.newer.contains_key(&key) {
            self.older = std::mem::take(&mut self.newer);
            self.older.remove(&key);
        }
        self.newer.insert(key, value);
    }

    fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.newer.retain(&mut keep);
        self.older.retain(&mut keep);
    }

    fn clear(&mut self) {
        self.newer.clear();
        self.older.clear();
    }

    fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_its_capacity_and_the_newest_entries() {
        let mut recent = Recent::new(4);
        for i in 0..10 {
            recent.insert(i, i);
            assert!(recent.len() <= 4, "{} after {i}", recent.len());
        }
        assert_eq!(recent.get(&9), Some(&9));
        assert_eq!(recent.get(&8), Some(&8));
        assert_eq!(recent.get(&0), None);
        // Written again, an older entry is kept as a new one.
        recent.insert(7, 70);
        recent.insert(10, 10);
        recent.insert(11, 11);
        assert_eq!(recent.get(&7), Some(&70));
    }

    #[test]
    fn a_forget_drops_the_partitions_entries_and_what_batches_before_it_bring() {
        let cache = OrderCache::with_capacity(10, 10);
        let p = |partition| PartitionId {
            topic: Arc::from("t"),
            partition,
        };
        let state = OrderState::created();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let read = cache.lock().generation;
        cache.remember(
            read,
            [(a, p(0), state.clone()), (b, p(1), state.clone())],
            [],
        );
        assert_eq!(cache.len(), (2, 0));
        cache.forget("t", &[1]);
        assert_eq!(cache.len(), (1, 0));
        assert!(cache.lock().orders.get(&a).is_some());
        // A batch that read before the forget remembers nothing.
        cache.remember(read, [(b, p(1), state)], []);
        assert_eq!(cache.len(), (1, 0));
    }
}
