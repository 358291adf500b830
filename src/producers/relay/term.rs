//! A term of the publisher role: taken (the lease, producers that fence
//! every earlier one, the position Kafka committed last), renewed, ended.

use std::time::Duration;

use super::OutboxRelay;
use super::cursor::Cursor;
use super::hold::Holds;
use super::lease::Lease;
use super::progress;
use super::publisher::Publishers;
use crate::db::DbError;

/// A term of the publisher role and where it stands.
pub(super) struct Term {
    pub(super) lease: Lease,
    pub(super) publishers: Publishers,
    pub(super) cursor: Cursor,
    pub(super) transactional_id: String,
    pub(super) holds: Holds,
    /// Whether this term committed a Kafka transaction (the database then
    /// records that Kafka holds the position).
    pub(super) committed: bool,
}

impl OutboxRelay {
    /// Renews the lease, saving `mark` as the watermark with it; `Err`
    /// with the reason when the term is over.
    pub(super) async fn renew(&self, term: &mut Term, mark: Option<i64>) -> Result<(), String> {
        if !term.lease.valid() {
            return Err("its lease ran out before it could renew it (paused, or the database did not answer)".into());
        }
        if term.lease.renewal_due() {
            // Earlier releases' relays stay out (see `OldRelayGuard`).
            match self.guard_old_relays(true).await {
                Ok(true) => {}
                Ok(false) => return Err("an earlier release's relay holds its lock".into()),
                Err(e) => return Err(format!("its database connection failed: {e}")),
            }
        }
        match term.lease.renew(mark, term.committed).await {
            Ok(true) => {
                if let Some(mark) = mark {
                    term.cursor.saved = mark;
                }
                Ok(())
            }
            Ok(false) => Err("another instance took the lease".into()),
            Err(e) => Err(format!("its database connection failed: {e}")),
        }
    }

    /// [`OldRelayGuard::hold`] on the blocking pool.
    async fn guard_old_relays(&self, retire: bool) -> Result<bool, DbError> {
        let (db, guard) = (self.db.clone(), self.old_relays.clone());
        tokio::task::spawn_blocking(move || {
            guard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .hold(&db, retire)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Takes the role when it is free: the lease, then producers that
    /// fence every earlier one, then the position Kafka committed last.
    pub(super) async fn start_term(&self) -> Option<Term> {
        if let Err(e) = self.guard_old_relays(false).await {
            tracing::warn!(error = %e, "outbox relay cannot connect, will retry");
            return None;
        }
        let db = self.db.clone();
        let holder = self.holder.clone();
        let length = self.lease;
        let claimed = tokio::task::spawn_blocking(move || Lease::claim(&db, &holder, length))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let mut lease = match claimed {
            Ok(Some(lease)) => lease,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot connect, will retry");
                return None;
            }
        };
        match self.start(&lease).await {
            Ok((publisher, cursor, transactional_id)) => {
                // The start may have taken most of the term: renewed now.
                match lease.renew(None, false).await {
                    Ok(true) if lease.valid() => {}
                    _ => {
                        tracing::warn!(
                            "outbox relay lost its lease while starting its term, will retry"
                        );
                        publisher.close().await;
                        return None;
                    }
                }
                let generation = lease.claimed.generation;
                tracing::info!(
                    holder = %self.holder,
                    generation,
                    transactional_id,
                    producers = publisher.len(),
                    next = cursor.next,
                    gaps = cursor.gaps.len(),
                    saved_watermark = lease.claimed.published_through,
                    "this instance publishes the outbox"
                );
                self.metrics.relay.publishing.set(1);
                self.metrics.relay.generation.set(generation);
                self.metrics.relay.producers.set(publisher.len() as i64);
                self.metrics.relay.terms.inc();
                Some(Term {
                    lease,
                    publishers: publisher,
                    cursor,
                    transactional_id,
                    holds: Holds::default(),
                    committed: false,
                })
            }
            Err(reason) => {
                tracing::warn!(%reason, "outbox relay cannot start its term, will retry");
                let _ = lease.release().await;
                None
            }
        }
    }

    /// With the lease won: earlier releases' relays ended, the producers
    /// that fence every earlier one, the position Kafka committed last.
    /// Each step gets at most half the lease, and 5 s.
    async fn start(&self, lease: &Lease) -> Result<(Publishers, Cursor, String), String> {
        match self.guard_old_relays(true).await {
            Ok(true) => {}
            Ok(false) => return Err("an earlier release's relay holds its lock".into()),
            Err(e) => return Err(format!("database: {e}")),
        }
        let transactional_id = self
            .transactional_id
            .clone()
            .unwrap_or_else(|| lease.claimed.transactional_id.clone());
        // Bounded whatever the lease: a shutdown waits for a start.
        let step = (self.lease / 2).min(Duration::from_secs(5));
        let publisher = Publishers::start(
            &self.connection,
            &transactional_id,
            self.producers,
            step,
            self.lease,
        )
        .await
        .map_err(|e| format!("transactional producer: {e}"))?;
        let (connection, topic, key) = (
            self.connection.clone(),
            self.progress_topic.clone(),
            transactional_id.clone(),
        );
        let position = tokio::task::spawn_blocking(move || {
            progress::read_last(&connection, &topic, &key, step)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let saved = lease.claimed.published_through;
        let cursor = match position {
            Ok(Some(position)) => Cursor::resume_at(position.next, &position.gaps, saved),
            // A position was committed once: resuming from the database
            // would publish again what lies above its watermark.
            Ok(None) if lease.claimed.kafka_position => {
                publisher.close().await;
                return Err(format!(
                    "no position of {transactional_id} on {}, where this deployment committed \
                     one: the topic was deleted or renamed? To publish again from the \
                     database's watermark (events above it are published once more), run \
                     UPDATE outbox_relay SET kafka_position = false",
                    self.progress_topic
                ));
            }
            Ok(None) => Cursor::resume_after(saved),
            Err(e) => {
                publisher.close().await;
                return Err(format!("reading the position from Kafka: {e}"));
            }
        };
        Ok((publisher, cursor, transactional_id))
    }

    /// Ends a term: at shutdown the watermark is saved and the lease given
    /// up (the next holder need not wait for it); otherwise the reason is
    /// logged. The producers go with the term.
    pub(super) async fn end_term(&self, term: Option<Term>, reason: &str, graceful: bool) {
        let Some(mut term) = term else {
            return;
        };
        self.metrics.relay.publishing.set(0);
        self.metrics.relay.generation.set(0);
        self.metrics.relay.producers.set(0);
        self.metrics.relay.held_orders.set(0);
        if graceful {
            let watermark = term.cursor.watermark(None);
            let mark = (watermark > term.cursor.saved).then_some(watermark);
            if let Err(e) = self.renew(&mut term, mark).await {
                tracing::warn!(error = %e, "outbox relay could not save its watermark (Kafka's position stands)");
            } else if let Err(e) = term.lease.release().await {
                tracing::warn!(error = %e, "outbox relay could not give up its lease; it ends by itself");
            }
            tracing::info!(reason, "this instance no longer publishes the outbox");
        } else {
            tracing::warn!(
                reason,
                generation = term.lease.claimed.generation,
                "this instance lost the publisher role"
            );
            // Another instance need not wait for the lease to expire (a
            // no-op when another already took it).
            let _ = term.lease.release().await;
        }
        term.publishers.close().await;
    }
}
