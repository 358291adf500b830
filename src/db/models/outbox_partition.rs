//! The outbox's partitions (by id range, see the migration
//! `outbox_partitions`): made ahead of the id sequence, dropped whole once
//! published and expired. `outbox_part_default` takes the rows no range
//! covers (made too late) and is purged row by row.
//!
//! Making a partition takes the default partition's ACCESS EXCLUSIVE lock
//! (the outbox itself only SHARE UPDATE EXCLUSIVE: writers go on), dropping
//! one the outbox's. Waiting for either would hold up every statement
//! queued behind it, so the DDL gives up after [`DDL_LOCK_TIMEOUT_MS`], is
//! not tried at all while a long transaction holds a lock on the outbox
//! ([`LongHolders`]), and one instance at a time does it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};

/// How long the DDL waits for a lock.
const DDL_LOCK_TIMEOUT_MS: u32 = 200;

/// How long making a partition may hold its locks: checking the default
/// partition's rows against the new range is a scan of them.
const DDL_STATEMENT_TIMEOUT_MS: u32 = 1_000;

/// A transaction seen holding a lock on the outbox for this long is a long
/// one (a report, a dump, a session left open in `psql`).
const LONG_TRANSACTION: Duration = Duration::from_secs(1);

/// The advisory lock one instance's housekeeper holds while it makes or
/// drops partitions.
const PARTITIONS_LOCK: i64 = 0x6f72_6465_725f_7074;

/// One range partition of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct OutboxPartition {
    /// `outbox_part_legacy` or `outbox_part_<first id, 19 digits>`.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its first id; `None`: from the lowest (the rows written before the
    /// outbox was partitioned).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub from: Option<i64>,
    /// One past its last id.
    #[diesel(sql_type = BigInt)]
    pub to: i64,
}

/// Where the outbox's partitions stand against its id sequence.
#[derive(Debug, Clone, QueryableByName)]
pub struct Layout {
    /// The next id the sequence hands out.
    #[diesel(sql_type = BigInt)]
    pub next_id: i64,
    /// The highest id in the default partition, if any.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub default_max: Option<i64>,
    /// Every id at or below it has been published.
    #[diesel(sql_type = BigInt)]
    pub published_through: i64,
}

/// What [`OutboxPartition::maintain`] did.
#[derive(Debug, Default)]
pub struct Maintained {
    /// Range partitions left.
    pub partitions: usize,
    /// Those dropped, with their rows.
    pub dropped: Vec<(String, i64)>,
    /// Nothing was tried: a long transaction holds a lock on the outbox.
    pub held_up: bool,
    /// What stopped the work short (a lock not had in time, say).
    pub failed: Option<diesel::result::Error>,
}

/// The transactions holding a lock on the outbox (or a partition), by
/// virtual transaction id, and since when they were seen: one still there
/// [`LONG_TRANSACTION`] after it was first seen is a long one. Read from
/// `pg_locks`, which shows every role's sessions (`pg_stat_activity` hides
/// other roles' transaction start).
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
}

impl OutboxPartition {
    /// The range partitions this service made, lowest first (the default
    /// one, and any table an operator attached, apart).
    pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<OutboxPartition>> {
        diesel::sql_query(
            "SELECT c.relname::text AS name, \
                    substring(b FROM 'FROM \\(''(-?[0-9]+)''\\)')::bigint AS from, \
                    substring(b FROM 'TO \\(''(-?[0-9]+)''\\)')::bigint AS to \
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, \
                  LATERAL pg_get_expr(c.relpartbound, c.oid) AS b \
             WHERE i.inhparent = 'outbox'::regclass \
               AND c.relname ~ '^outbox_part_(legacy|[0-9]{19})$' \
             ORDER BY 3",
        )
        .load(conn)
    }

    /// The sequence's next id, the default partition's top, the watermark.
    pub fn layout(conn: &mut PgConnection) -> QueryResult<Layout> {
        diesel::sql_query(
            "SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END \
                     FROM outbox_id_seq) AS next_id, \
                    (SELECT max(id) FROM outbox_part_default) AS default_max, \
                    (SELECT published_through FROM outbox_relay) AS published_through",
        )
        .get_result(conn)
    }

    /// Makes the partitions `ahead` partitions' worth of ids past the next
    /// id needs ([`next_partitions`]), then drops, lowest first, those
    /// published and with their last row written before `before`; stops at
    /// the first that fails. Tries neither while a long transaction holds
    /// a lock on the outbox (`holders`), or while another instance is at
    /// it.
    pub fn maintain(
        conn: &mut PgConnection,
        ids: i64,
        ahead: i64,
        before: DateTime<Utc>,
        holders: &mut LongHolders,
    ) -> QueryResult<Maintained> {
        let partitions = Self::list(conn)?;
        let layout = Self::layout(conn)?;
        let make = next_partitions(&partitions, &layout, ids, ahead);
        let mut done = Maintained {
            partitions: partitions.len(),
            ..Maintained::default()
        };
        let now: Vec<Holder> = diesel::sql_query(
            "SELECT DISTINCT l.virtualtransaction AS vxid FROM pg_locks l \
             WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid() \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND (l.relation = 'outbox'::regclass OR l.relation IN \
                    (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'outbox'::regclass))",
        )
        .load(conn)?;
        if holders.update(now.into_iter().map(|h| h.vxid).collect(), Instant::now()) {
            done.held_up = true;
            return Ok(done);
        }
        let expiring = partitions
            .first()
            .is_some_and(|p| p.to - 1 <= layout.published_through);
        if make.is_empty() && !expiring {
            return Ok(done);
        }
        let mine: bool = diesel::select(
            sql::<Bool>("pg_try_advisory_lock(")
                .bind::<BigInt, _>(PARTITIONS_LOCK)
                .sql(")"),
        )
        .get_result(conn)?;
        if !mine {
            return Ok(done);
        }
        let result = Self::make_and_drop(conn, &partitions, &layout, make, ids, before, &mut done);
        diesel::select(
            sql::<Bool>("pg_advisory_unlock(")
                .bind::<BigInt, _>(PARTITIONS_LOCK)
                .sql(")"),
        )
        .get_result::<bool>(conn)?;
        result.map(|()| done)
    }

    fn make_and_drop(
        conn: &mut PgConnection,
        partitions: &[OutboxPartition],
        layout: &Layout,
        make: Vec<i64>,
        ids: i64,
        before: DateTime<Utc>,
        done: &mut Maintained,
    ) -> QueryResult<()> {
        for from in make {
            if let Err(e) = Self::create(conn, from, ids) {
                done.failed = Some(e);
                break;
            }
            done.partitions += 1;
        }
        for partition in partitions {
            match partition.drop_expired(conn, layout.published_through, before) {
                Ok(Some(rows)) => {
                    done.partitions -= 1;
                    done.dropped.push((partition.name.clone(), rows));
                }
                Ok(None) => break,
                Err(e) => {
                    done.failed.get_or_insert(e);
                    break;
                }
            }
        }
        Ok(())
    }

    /// Makes the partition `[from, from + ids)`, named after `from`: a
    /// table of its own first, with a CHECK that spares the attach its
    /// scan, then attached. Fails if the default partition holds a row in
    /// that range (made too late: the next round starts above it).
    fn create(conn: &mut PgConnection, from: i64, ids: i64) -> QueryResult<()> {
        let to = from.saturating_add(ids);
        let name = format!("outbox_part_{from:019}");
        conn.transaction(|conn| {
            conn.batch_execute(&format!(
                "SET LOCAL lock_timeout = {DDL_LOCK_TIMEOUT_MS}; \
                 SET LOCAL statement_timeout = {DDL_STATEMENT_TIMEOUT_MS}; \
                 CREATE TABLE \"{name}\" (LIKE outbox); \
                 ALTER TABLE \"{name}\" ADD CONSTRAINT \"{name}_range\" \
                   CHECK (id >= {from} AND id < {to}); \
                 ALTER TABLE outbox ATTACH PARTITION \"{name}\" FOR VALUES FROM ({from}) TO ({to}); \
                 ALTER TABLE \"{name}\" DROP CONSTRAINT \"{name}_range\""
            ))
        })
    }

    /// Drops this partition if every id in it is at or below
    /// `published_through` and its last row was written before `before`
    /// (ids and write times rise together, up to a transaction's length);
    /// `Some(rows)` when dropped. Nothing is written again at or below the
    /// watermark, so what is read before the drop still holds at it.
    fn drop_expired(
        &self,
        conn: &mut PgConnection,
        published_through: i64,
        before: DateTime<Utc>,
    ) -> QueryResult<Option<i64>> {
        if self.to - 1 > published_through {
            return Ok(None);
        }
        let name = &self.name;
        let expired: bool = diesel::select(
            sql::<Bool>("coalesce((SELECT created_at < ")
                .bind::<Timestamptz, _>(before)
                .sql(&format!(
                    " FROM \"{name}\" ORDER BY id DESC LIMIT 1), true)"
                )),
        )
        .get_result(conn)?;
        if !expired {
            return Ok(None);
        }
        let rows: i64 =
            diesel::select(sql::<BigInt>(&format!("(SELECT count(*) FROM \"{name}\")")))
                .get_result(conn)?;
        conn.transaction(|conn| {
            conn.batch_execute(&format!(
                "SET LOCAL lock_timeout = {DDL_LOCK_TIMEOUT_MS}; DROP TABLE \"{name}\""
            ))
        })?;
        Ok(Some(rows))
    }
}

/// Where the next partitions go, given the range partitions (lowest
/// first), the layout and the ids per partition: the lower bounds of those
/// to make so that `ahead` partitions' worth of ids are covered past the
/// next id. Above every id the default partition holds, and, when the
/// sequence has run past the ranges, a hundredth of a partition past the
/// next id (room for the ids drawn while the partition is made; should one
/// land in the range first, making it fails and the next round goes
/// above it).
fn next_partitions(
    partitions: &[OutboxPartition],
    layout: &Layout,
    ids: i64,
    ahead: i64,
) -> Vec<i64> {
    let top = partitions.last().map(|p| p.to);
    let behind = top.is_none_or(|top| top < layout.next_id);
    let mut from = match top {
        Some(top) if !behind => top,
        _ => layout
            .next_id
            .saturating_add(ids / 100)
            .max(top.unwrap_or(i64::MIN)),
    };
    if let Some(default_max) = layout.default_max {
        from = from.max(default_max.saturating_add(1));
    }
    let covered_from = if behind { from } else { layout.next_id };
    let until = covered_from.saturating_add(ids.saturating_mul(ahead));
    let mut made = Vec::new();
    while from < until && from > 0 {
        made.push(from);
        from = from.saturating_add(ids);
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(from: i64, to: i64) -> OutboxPartition {
        OutboxPartition {
            name: format!("outbox_part_{from:019}"),
            from: Some(from),
            to,
        }
    }

    fn layout(next_id: i64, default_max: Option<i64>) -> Layout {
        Layout {
            next_id,
            default_max,
            published_through: 0,
        }
    }

    #[test]
    fn partitions_follow_the_last_one_while_it_covers_the_next_id() {
        let parts = [part(1, 101), part(101, 201)];
        assert_eq!(
            next_partitions(&parts, &layout(150, None), 100, 2),
            [201, 301]
        );
        // Two partitions' worth past the next id is covered already.
        assert!(next_partitions(&parts, &layout(1, None), 100, 2).is_empty());
    }

    #[test]
    fn a_sequence_past_the_ranges_starts_above_it_and_the_default_rows() {
        let parts = [part(1, 1001)];
        // Fell behind: the next id is past the last range.
        assert_eq!(
            next_partitions(&parts, &layout(5000, None), 1000, 2),
            [5010, 6010]
        );
        // The default partition holds rows above that room.
        assert_eq!(
            next_partitions(&parts, &layout(5000, Some(5500)), 1000, 2),
            [5501, 6501]
        );
        // No range at all (only the default partition), small partitions.
        assert_eq!(next_partitions(&[], &layout(1, None), 4, 2), [1, 5]);
    }

    #[test]
    fn the_legacy_partition_counts_as_a_range() {
        let legacy = OutboxPartition {
            name: "outbox_part_legacy".into(),
            from: None,
            to: 1,
        };
        assert_eq!(next_partitions(&[legacy], &layout(1, None), 10, 2), [1, 11]);
    }

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
