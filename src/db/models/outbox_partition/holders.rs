//! Who holds a lock on the outbox, and for how long: the housekeeper makes
//! and drops partitions only while no long transaction does (its DDL would
//! queue behind one and hold every writer queued behind it).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

/// A transaction seen holding a lock on the outbox for this long is a long
/// one (a report, a dump, a session left open in `psql`).
const LONG_TRANSACTION: Duration = Duration::from_secs(1);

/// The transactions holding a lock on the outbox (or a partition), by
/// virtual transaction id (one per transaction), and since when they were
/// seen: one still there [`LONG_TRANSACTION`] after it was first seen is a
/// long one. Read from `pg_locks`, which shows every role's sessions
/// (`pg_stat_activity` hides other roles' transaction start, not their
/// role).
#[derive(Debug, Default)]
pub struct LongHolders {
    seen: HashMap<String, Instant>,
}

impl LongHolders {
    /// Notes the holders now; whether one of them is a long one.
    fn update(&mut self, holders: Vec<String>, now: Instant) -> bool {
        let mut seen = HashMap::with_capacity(holders.len());
        for holder in holders {
            let since = self.seen.get(&holder).copied().unwrap_or(now);
            seen.insert(holder, since);
        }
        self.seen = seen;
        self.seen
            .values()
            .any(|since| now.duration_since(*since) >= LONG_TRANSACTION)
    }
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Text)]
    vxid: String,
    /// Another role's session, or a prepared transaction (no session).
    #[diesel(sql_type = Bool)]
    other: bool,
}

impl LongHolders {
    /// Whether DDL on the outbox would wait now: a transaction of another
    /// role (or a prepared one) holds a lock on it or a partition, or one
    /// of the service's own role has held one since [`LONG_TRANSACTION`]
    /// ago (seen on an earlier call). Autovacuum is not counted: it gives
    /// way to DDL.
    pub fn busy(&mut self, conn: &mut PgConnection) -> QueryResult<bool> {
        let now: Vec<Holder> = diesel::sql_query(
            "SELECT DISTINCT l.virtualtransaction AS vxid, \
                    coalesce(a.usename IS DISTINCT FROM current_user, true) AS other \
             FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'relation' AND l.granted \
               AND l.pid IS DISTINCT FROM pg_backend_pid() \
               AND a.backend_type IS DISTINCT FROM 'autovacuum worker' \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND (l.relation = 'outbox'::regclass OR l.relation IN \
                    (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'outbox'::regclass))",
        )
        .load(conn)?;
        let other = now.iter().any(|h| h.other);
        let long = self.update(now.into_iter().map(|h| h.vxid).collect(), Instant::now());
        Ok(other || long)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_is_long_once_seen_for_a_second() {
        let mut holders = LongHolders::default();
        let start = Instant::now();
        assert!(!holders.update(vec!["3/7".into()], start));
        assert!(!holders.update(
            vec!["3/7".into(), "4/1".into()],
            start + LONG_TRANSACTION / 2
        ));
        assert!(holders.update(vec!["3/7".into()], start + LONG_TRANSACTION));
        // Gone and back (another transaction of that id): seen anew.
        assert!(!holders.update(vec![], start + LONG_TRANSACTION * 2));
        assert!(!holders.update(vec!["3/7".into()], start + LONG_TRANSACTION * 3));
    }
}
