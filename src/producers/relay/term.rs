//! A term of the publisher role: taken (the lease, a producer that fences
//! every earlier one, the position Kafka committed last), renewed, ended.

use super::OutboxRelay;
use super::cursor::Cursor;
use super::hold::Holds;
use super::lease::Lease;
use super::progress;
use super::publisher::Publisher;

/// A term of the publisher role and where it stands.
pub(super) struct Term {
    pub(super) lease: Lease,
    pub(super) publisher: Publisher,
    pub(super) cursor: Cursor,
    pub(super) transactional_id: String,
    pub(super) holds: Holds,
}

impl OutboxRelay {
    /// Renews the lease, saving `mark` as the watermark with it; `Err`
    /// with the reason when the term is over.
    pub(super) async fn renew(&self, term: &mut Term, mark: Option<i64>) -> Result<(), String> {
        if !term.lease.valid() {
            return Err("its lease ran out before it could renew it (paused, or the database did not answer)".into());
        }
        match term.lease.renew(mark).await {
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

    /// Takes the role when it is free: the lease, then a producer that
    /// fences every earlier one, then the position Kafka committed last.
    pub(super) async fn start_term(&self) -> Option<Term> {
        let db = self.db.clone();
        let holder = self.holder.clone();
        let length = self.lease;
        let claimed = tokio::task::spawn_blocking(move || Lease::claim(&db, &holder, length))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let lease = match claimed {
            Ok(Some(lease)) => lease,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot connect, will retry");
                return None;
            }
        };
        let transactional_id = self
            .transactional_id
            .clone()
            .unwrap_or_else(|| lease.claimed.transactional_id.clone());
        let publisher = match Publisher::start(&self.connection, &transactional_id, length).await {
            Ok(publisher) => publisher,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot start its transactional producer, will retry");
                return None;
            }
        };
        let (connection, topic, key) = (
            self.connection.clone(),
            self.progress_topic.clone(),
            transactional_id.clone(),
        );
        let position = tokio::task::spawn_blocking(move || {
            progress::read_last(&connection, &topic, &key, length)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let saved = lease.claimed.published_through;
        let cursor = match position {
            Ok(Some(position)) => Cursor::resume_at(position.next, &position.gaps, saved),
            Ok(None) => Cursor::resume_after(saved),
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot read its position from Kafka, will retry");
                publisher.close().await;
                return None;
            }
        };
        if !lease.valid() {
            tracing::warn!("outbox relay took too long to start its term, will retry");
            publisher.close().await;
            return None;
        }
        let generation = lease.claimed.generation;
        tracing::info!(
            holder = %self.holder,
            generation,
            transactional_id,
            next = cursor.next,
            gaps = cursor.gaps.len(),
            saved_watermark = saved,
            "this instance publishes the outbox"
        );
        self.metrics.relay.publishing.set(1);
        self.metrics.relay.generation.set(generation);
        self.metrics.relay.terms.inc();
        Some(Term {
            lease,
            publisher,
            cursor,
            transactional_id,
            holds: Holds::default(),
        })
    }

    /// Ends a term: at shutdown the watermark is saved and the lease given
    /// up (the next holder need not wait for it); otherwise the reason is
    /// logged. The producer goes with the term.
    pub(super) async fn end_term(&self, term: Option<Term>, reason: &str, graceful: bool) {
        let Some(mut term) = term else {
            return;
        };
        self.metrics.relay.publishing.set(0);
        self.metrics.relay.generation.set(0);
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
        }
        term.publisher.close().await;
    }
}
