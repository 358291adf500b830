//! The outbox's partitions (by id range, see the migration
//! `outbox_partitions`): made ahead of the id sequence, dropped whole once
//! published and expired. `outbox_part_default` takes the rows no range
//! covers (made too late) and is purged row by row.
//!
//! Locks: a partition is made as a table of its own, then attached, which
//! takes the outbox's SHARE UPDATE EXCLUSIVE lock (writers go on) and the
//! default partition's ACCESS EXCLUSIVE one; the default partition's rows
//! are checked against the new range beforehand, under a constraint
//! validated without blocking writers, so the attach does not scan them.
//! Dropping a partition takes the outbox's ACCESS EXCLUSIVE lock (and the
//! default partition's, and its own). Each statement waits at most
//! [`DDL_LOCK_TIMEOUT_MS`] for a lock, none is tried while a long
//! transaction holds a lock on the outbox ([`LongHolders`]), and one
//! instance at a time does this.

mod holders;
mod plan;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};

pub use holders::LongHolders;
use plan::next_partitions;

/// How long each DDL statement waits for a lock.
const DDL_LOCK_TIMEOUT_MS: u32 = 200;

/// How long a DDL statement may hold its locks once it has them.
const DDL_STATEMENT_TIMEOUT_MS: u32 = 1_000;

/// The advisory lock one instance's housekeeper holds while it makes or
/// drops partitions.
const PARTITIONS_LOCK: i64 = 0x6f72_6465_725f_7074;

/// The name of the constraint by which the default partition refuses the
/// range of the partition being made (`outbox_part_default_not_<from>`).
const GUARD_PREFIX: &str = "outbox_part_default_not_";

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
    /// The lowest and highest ids in the default partition, if any.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub default_min: Option<i64>,
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
    /// Nothing was tried: a transaction of another role, or a long one,
    /// holds a lock on the outbox.
    pub held_up: bool,
    /// What stopped the work short (a lock not had in time, say).
    pub failed: Option<diesel::result::Error>,
}

impl OutboxPartition {
    /// The range partitions this service made, lowest first (the default
    /// one, and any table an operator attached, apart). One dropped while
    /// this reads (its bounds then read as nothing) is left out.
    pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<OutboxPartition>> {
        diesel::sql_query(
            "SELECT c.relname::text AS name, \
                    substring(b FROM 'FROM \\(''(-?[0-9]+)''\\)')::bigint AS from, \
                    substring(b FROM 'TO \\(''(-?[0-9]+)''\\)')::bigint AS to \
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, \
                  LATERAL pg_get_expr(c.relpartbound, c.oid) AS b \
             WHERE i.inhparent = 'outbox'::regclass \
               AND c.relname ~ '^outbox_part_(legacy|[0-9]{19})$' \
               AND b IS NOT NULL \
             ORDER BY 3",
        )
        .load(conn)
    }

    /// The sequence's next id, the default partition's ids, the watermark.
    pub fn layout(conn: &mut PgConnection) -> QueryResult<Layout> {
        diesel::sql_query(
            "SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END \
                     FROM outbox_id_seq) AS next_id, \
                    (SELECT min(id) FROM outbox_part_default) AS default_min, \
                    (SELECT max(id) FROM outbox_part_default) AS default_max, \
                    (SELECT published_through FROM outbox_relay) AS published_through",
        )
        .get_result(conn)
    }

    /// Makes the partitions `ahead` partitions' worth of ids past the next
    /// id needs ([`next_partitions`]), then drops, lowest first, those
    /// published and with their last row written before `before`; stops at
    /// the first that fails. Tries neither while a transaction of another
    /// role, or a long one, holds a lock on the outbox (`holders`), or
    /// while another instance is at it.
    pub fn maintain(
        conn: &mut PgConnection,
        ids: i64,
        ahead: i64,
        before: DateTime<Utc>,
        holders: &mut LongHolders,
    ) -> QueryResult<Maintained> {
        let mut done = Maintained::default();
        if holders.busy(conn)? {
            done.partitions = Self::list(conn)?.len();
            done.held_up = true;
            return Ok(done);
        }
        let mine: bool = diesel::select(
            sql::<Bool>("pg_try_advisory_lock(")
                .bind::<BigInt, _>(PARTITIONS_LOCK)
                .sql(")"),
        )
        .get_result(conn)?;
        if !mine {
            done.partitions = Self::list(conn)?.len();
            return Ok(done);
        }
        let result = Self::make_and_drop(conn, ids, ahead, before, &mut done);
        diesel::select(
            sql::<Bool>("pg_advisory_unlock(")
                .bind::<BigInt, _>(PARTITIONS_LOCK)
                .sql(")"),
        )
        .get_result::<bool>(conn)?;
        result.map(|()| done)
    }

    /// [`maintain`](Self::maintain)'s work, under the advisory lock.
    fn make_and_drop(
        conn: &mut PgConnection,
        ids: i64,
        ahead: i64,
        before: DateTime<Utc>,
        done: &mut Maintained,
    ) -> QueryResult<()> {
        Self::drop_guards(conn)?;
        let partitions = Self::list(conn)?;
        let layout = Self::layout(conn)?;
        done.partitions = partitions.len();
        for from in next_partitions(&partitions, &layout, ids, ahead) {
            if let Err(e) = Self::create(conn, from, ids) {
                done.failed = Some(e);
                break;
            }
            done.partitions += 1;
        }
        for partition in &partitions {
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

    /// Makes the partition `[from, from + ids)`, named after `from`. First
    /// the default partition promises to hold no row of that range: a
    /// constraint added unchecked (a moment's lock), then validated, which
    /// reads its rows without blocking writers (and fails if one is in the
    /// range: made too late, the next round starts above it). Then the
    /// partition is made and attached, which the constraint spares a scan
    /// of the default partition; the constraint goes (in any case: left,
    /// it would refuse the range's rows in the default partition).
    fn create(conn: &mut PgConnection, from: i64, ids: i64) -> QueryResult<()> {
        let to = from.saturating_add(ids);
        let name = format!("outbox_part_{from:019}");
        let guard = format!("{GUARD_PREFIX}{from:019}");
        let made = ddl(
            conn,
            &format!(
                "ALTER TABLE outbox_part_default ADD CONSTRAINT \"{guard}\" \
                 CHECK (id < {from} OR id >= {to}) NOT VALID"
            ),
        )
        .and_then(|()| {
            conn.batch_execute(&format!(
                "ALTER TABLE outbox_part_default VALIDATE CONSTRAINT \"{guard}\""
            ))
        })
        .and_then(|()| {
            ddl(
                conn,
                &format!(
                    "CREATE TABLE \"{name}\" (LIKE outbox); \
                     ALTER TABLE outbox ATTACH PARTITION \"{name}\" \
                     FOR VALUES FROM ({from}) TO ({to})"
                ),
            )
        });
        let dropped = ddl(
            conn,
            &format!("ALTER TABLE outbox_part_default DROP CONSTRAINT IF EXISTS \"{guard}\""),
        );
        made.and(dropped)
    }

    /// Drops the constraints [`create`](Self::create) left on the default
    /// partition (it could not drop one, or stopped half-way).
    fn drop_guards(conn: &mut PgConnection) -> QueryResult<()> {
        let guards: Vec<String> = diesel::select(sql::<diesel::sql_types::Array<Text>>(&format!(
            "ARRAY(SELECT conname::text FROM pg_constraint \
                   WHERE conrelid = 'outbox_part_default'::regclass \
                     AND conname ~ '^{GUARD_PREFIX}[0-9]{{19}}$')"
        )))
        .get_result(conn)?;
        for guard in guards {
            ddl(
                conn,
                &format!("ALTER TABLE outbox_part_default DROP CONSTRAINT IF EXISTS \"{guard}\""),
            )?;
        }
        Ok(())
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
        // Counted for the metrics, however long that takes (a large
        // partition from before the outbox was partitioned): nothing else
        // uses it.
        let rows: i64 = conn.transaction(|conn| {
            conn.batch_execute("SET LOCAL statement_timeout = 0")?;
            diesel::select(sql::<BigInt>(&format!("(SELECT count(*) FROM \"{name}\")")))
                .get_result(conn)
        })?;
        ddl(conn, &format!("DROP TABLE \"{name}\""))?;
        Ok(Some(rows))
    }
}

/// Runs `statements` in a transaction whose statements wait at most
/// [`DDL_LOCK_TIMEOUT_MS`] for a lock and hold them at most
/// [`DDL_STATEMENT_TIMEOUT_MS`].
fn ddl(conn: &mut PgConnection, statements: &str) -> QueryResult<()> {
    conn.transaction(|conn| {
        conn.batch_execute(&format!(
            "SET LOCAL lock_timeout = {DDL_LOCK_TIMEOUT_MS}; \
             SET LOCAL statement_timeout = {DDL_STATEMENT_TIMEOUT_MS}; {statements}"
        ))
    })
}
