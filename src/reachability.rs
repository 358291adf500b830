//! Whether this instance reaches its database: a ping every second on a
//! connection of its own. Once none has answered for
//! `DB_UNREACHABLE_LEAVE_SECS`, the database counts as unreachable: the
//! consumer leaves its group, so the instances that do reach it take its
//! partitions (holding them idle helps nobody), and joins again at the
//! first answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::db::Database;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

const EVERY: Duration = Duration::from_secs(1);
/// A ping that takes longer has failed (a cut path drops packets).
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the pings; the receiver says whether the database is reachable
/// (true until it has not answered for `leave_after`).
pub fn watch_database(
    db: Database,
    leave_after: Duration,
    metrics: Arc<Metrics>,
    mut shutdown: Shutdown,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(true);
    tokio::spawn(async move {
        let mut last_answer = Instant::now();
        loop {
            let answered = matches!(
                tokio::time::timeout(PING_TIMEOUT, db.ping()).await,
                Ok(Ok(()))
            );
            if answered {
                last_answer = Instant::now();
            }
            let reachable = last_answer.elapsed() < leave_after;
            if *tx.borrow() != reachable {
                metrics.database_unreachable.set(i64::from(!reachable));
                let _ = tx.send(reachable);
            }
            tokio::select! {
                _ = shutdown.recv() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    });
    rx
}
