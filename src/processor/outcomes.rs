//! Waiting for a command's outcome without polling per request: a caller
//! (the HTTP front answering `Prefer: wait`) registers a command id before
//! it publishes the command, and is woken once a transaction that processed
//! the command committed — by this process's processor right after the
//! commit, or, for a command another instance processed, by one shared
//! sweep ([`CommandOutcomes::sweep`]) that looks up every waited-for id in
//! one query per interval, and only while someone waits.
//!
//! A wake-up says "look now": the outcome itself is read from
//! `processed_commands`, the one record of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::db::models::ProcessedCommand;
use crate::db::{Database, DbError};
use crate::shutdown::Shutdown;

/// Most ids one sweep looks up.
const SWEEP_LIMIT: usize = 1_000;

/// Who waits for which command: per command id, each registration's
/// number and the sender that wakes it.
type Waiters = HashMap<Uuid, Vec<(u64, oneshot::Sender<()>)>>;

/// The registry of waiters; cheap to clone.
#[derive(Clone, Default)]
pub struct CommandOutcomes {
    waiters: Arc<Mutex<Waiters>>,
    registrations: Arc<AtomicU64>,
}

/// One registration; dropping it unregisters it (and only it).
pub struct Waiter {
    command_id: Uuid,
    registration: u64,
    woken: oneshot::Receiver<()>,
    outcomes: CommandOutcomes,
}

impl CommandOutcomes {
    fn lock(&self) -> MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers interest in `command_id`; register before publishing, so
    /// a fast commit cannot pass unseen.
    pub fn register(&self, command_id: Uuid) -> Waiter {
        let (sender, woken) = oneshot::channel();
        let registration = self.registrations.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(command_id)
            .or_default()
            .push((registration, sender));
        Waiter {
            command_id,
            registration,
            woken,
            outcomes: self.clone(),
        }
    }

    /// Wakes whoever waits for one of `ids`: call after the transaction
    /// that processed them committed. Costs one lock when nobody waits.
    pub fn notify(&self, ids: impl IntoIterator<Item = Uuid>) {
        let mut waiters = self.lock();
        if waiters.is_empty() {
            return;
        }
        for id in ids {
            for (_, sender) in waiters.remove(&id).into_iter().flatten() {
                let _ = sender.send(());
            }
        }
    }

    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Every `interval` while someone waits, looks up the waited-for ids in
    /// `processed_commands` (one query) and wakes those found: commands
    /// processed by another instance of the group.
    pub async fn sweep(self, db: Database, interval: Duration, mut shutdown: Shutdown) {
        loop {
            tokio::select! {
                _ = shutdown.recv() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let ids: Vec<Uuid> = self.lock().keys().take(SWEEP_LIMIT).copied().collect();
            if ids.is_empty() {
                continue;
            }
            let found = db
                .run(move |conn| ProcessedCommand::which_of(conn, &ids).map_err(DbError::from))
                .await;
            match found {
                Ok(found) => self.notify(found),
                Err(error) => tracing::warn!(%error, "looking up waited-for commands failed"),
            }
        }
    }
}

impl Waiter {
    /// Waits until the command was processed (`true`) or `timeout` passed
    /// (`false`).
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, &mut self.woken).await,
            Ok(Ok(()))
        )
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut waiters = self.outcomes.lock();
        if let Some(senders) = waiters.get_mut(&self.command_id) {
            senders.retain(|(registration, _)| *registration != self.registration);
            if senders.is_empty() {
                waiters.remove(&self.command_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_is_woken_by_its_command_only() {
        let outcomes = CommandOutcomes::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut waiting_a = outcomes.register(a);
        let mut waiting_b = outcomes.register(b);
        outcomes.notify([a]);
        assert!(waiting_a.wait(Duration::from_secs(1)).await);
        assert!(!waiting_b.wait(Duration::from_millis(20)).await);
        drop(waiting_a);
        drop(waiting_b);
        assert_eq!(outcomes.waiting(), 0, "dropped waiters are forgotten");
    }

    #[tokio::test]
    async fn two_waiters_on_one_command_are_both_woken() {
        let outcomes = CommandOutcomes::default();
        let id = Uuid::new_v4();
        let mut first = outcomes.register(id);
        let mut second = outcomes.register(id);
        outcomes.notify([id]);
        assert!(first.wait(Duration::from_secs(1)).await);
        assert!(second.wait(Duration::from_secs(1)).await);
    }

    /// A retry registers again after the first was woken; the first one
    /// going away must not take the retry's registration with it.
    #[tokio::test]
    async fn a_woken_waiter_dropped_late_leaves_a_new_one_registered() {
        let outcomes = CommandOutcomes::default();
        let id = Uuid::new_v4();
        let mut first = outcomes.register(id);
        outcomes.notify([id]);
        assert!(first.wait(Duration::from_secs(1)).await);
        let mut retry = outcomes.register(id);
        drop(first);
        assert_eq!(outcomes.waiting(), 1);
        outcomes.notify([id]);
        assert!(retry.wait(Duration::from_secs(1)).await);
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_the_other_registered() {
        let outcomes = CommandOutcomes::default();
        let id = Uuid::new_v4();
        let first = outcomes.register(id);
        let mut second = outcomes.register(id);
        drop(first);
        assert_eq!(outcomes.waiting(), 1);
        outcomes.notify([id]);
        assert!(second.wait(Duration::from_secs(1)).await);
    }
}
