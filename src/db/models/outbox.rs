//! `outbox`: one row per event, written in the transaction of the command
//! that caused it (protobuf bytes, key, what its headers derive from), and
//! `outbox_relay`: the watermark below which every row has been
//! acknowledged by the broker (see the relay for how it advances).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{Array, BigInt, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};

use super::unnest::OneStatement;
use crate::db::schema::{outbox, outbox_relay};

/// An event to publish: as written (with the id the insert gave it) or as
/// read back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxMessage {
    pub id: i64,
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOutboxMessage {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub event_type: &'static str,
    pub payload: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// The W3C trace context of the command's record, if it had one.
    pub traceparent: Option<String>,
}

/// What one statement saw of the outbox: the ids of the rows it asked for
/// that are visible (committed), in id order; `xmin`, below which every
/// transaction had ended when it looked; and `horizon`, a transaction id
/// drawn by the statement itself after its snapshot was taken, so above
/// every transaction id handed out before it looked. (The snapshot's own
/// `xmax` will not do: it is one past the last *completed* transaction,
/// and transactions with ids above it may be running.)
#[derive(Debug, Clone, QueryableByName)]
pub struct Visible {
    #[diesel(sql_type = BigInt)]
    pub xmin: i64,
    #[diesel(sql_type = BigInt)]
    pub horizon: i64,
    #[diesel(sql_type = Array<BigInt>)]
    pub ids: Vec<i64>,
}

impl OutboxMessage {
    /// In one statement (one snapshot): the visible ids from `from` to
    /// `through` (at most `limit` of them, the lowest), and those in the
    /// ranges `firsts[i]..=lasts[i]` below `from`; in id order.
    pub fn visible(
        conn: &mut PgConnection,
        from: i64,
        through: i64,
        firsts: &[i64],
        lasts: &[i64],
        limit: i64,
    ) -> QueryResult<Visible> {
        // pg_current_snapshot() is the snapshot the statement reads with.
        diesel::sql_query(
            "SELECT pg_snapshot_xmin(s.snap)::text::bigint AS xmin, \
                    pg_current_xact_id()::text::bigint AS horizon, \
                    ARRAY(SELECT id FROM ( \
                        (SELECT id FROM outbox WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $4) \
                        UNION ALL \
                        (SELECT o.id FROM unnest($3::bigint[], $5::bigint[]) AS g(first, last), \
                           LATERAL (SELECT id FROM outbox \
                                    WHERE id BETWEEN g.first AND g.last AND id < $1 \
                                      AND id >= $6) o)) v \
                      ORDER BY id) AS ids \
             FROM (SELECT pg_current_snapshot() AS snap) s",
        )
        .bind::<BigInt, _>(from)
        .bind::<BigInt, _>(through)
        .bind::<Array<BigInt>, _>(firsts)
        .bind::<BigInt, _>(limit)
        .bind::<Array<BigInt>, _>(lasts)
        // The lowest gap's first id, a constant for the planner: only the
        // partitions from it to `from` are planned and locked for the gaps.
        .bind::<BigInt, _>(firsts.iter().copied().min().unwrap_or(from))
        .get_result(conn)
    }

    /// The oldest transaction of this database that may still commit an
    /// outbox row, as a 64-bit transaction id (`pg_current_xact_id`'s
    /// kind): the smallest id among the transactions holding a write lock
    /// on `outbox` or on its id sequence (an insert takes the first before
    /// its row draws an id, `nextval` the second; both are kept to the
    /// transaction's end, so a transaction that drew an id to insert later
    /// counts too). `None`: no such transaction runs; `Some(0)`: one holds
    /// the lock without a transaction id yet, so this round rules nothing
    /// out. A writer must take its transaction id before its rows draw
    /// theirs ([`NewOutboxMessage::add_to`] makes sure), and the service's
    /// take it before they take the lock, which the batch's one statement
    /// takes when it is parsed (`Order::lock_many`, the first statement of
    /// a batch; `hold_schema` for a command alone). Transactions elsewhere
    /// (another database, a long read, `CREATE INDEX CONCURRENTLY`) are
    /// not counted. Live, not a snapshot: run it *before* the statement whose
    /// snapshot it qualifies, so a writer it missed had committed by then.
    /// A 32-bit transaction id is widened by its signed distance to the
    /// next id to be assigned (every running one lies within 2^31 of it).
    pub fn oldest_writer(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
        #[derive(QueryableByName)]
        struct Oldest {
            #[diesel(sql_type = Nullable<BigInt>)]
            xid: Option<i64>,
        }
        let oldest: Oldest = diesel::sql_query(
            "WITH writers AS ( \
               SELECT r.virtualtransaction, t.transactionid::text::bigint AS xid \
               FROM pg_locks r \
               LEFT JOIN pg_locks t ON t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' \
                 AND t.granted AND t.virtualtransaction = r.virtualtransaction \
               WHERE r.locktype = 'relation' AND r.granted \
                 AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND r.relation IN ('outbox'::regclass, \
                                    pg_get_serial_sequence('outbox', 'id')::regclass) \
                 AND r.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', \
                                'AccessExclusiveLock') \
                 AND r.pid IS DISTINCT FROM pg_backend_pid()), \
             next AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xid8) \
             SELECT CASE WHEN bool_or(w.xid IS NULL) THEN 0 \
                         ELSE min(n.xid8 + (((w.xid - n.xid8 % 4294967296 + 2147483648) \
                                             % 4294967296 + 4294967296) % 4294967296) \
                                  - 2147483648) \
                    END AS xid \
             FROM writers w, next n",
        )
        .get_result(conn)?;
        Ok(oldest.xid)
    }

    /// The rows with these ids, in id order.
    pub fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<OutboxMessage>> {
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .order(outbox::id)
            .select(OutboxMessage::as_select())
            .load(conn)
    }

    /// Unpublished rows (above the watermark): how many, and when the
    /// oldest was written.
    pub fn backlog(conn: &mut PgConnection) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
        outbox::table
            .filter(
                outbox::id.nullable().gt(outbox_relay::table
                    .select(outbox_relay::published_through)
                    .single_value()),
            )
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(outbox::created_at),
            ))
            .get_result(conn)
    }

    /// Deletes the default partition's published rows (at or below the
    /// watermark) written before `before`, among its `limit` oldest rows:
    /// reading a bounded head keeps every purge statement cheap, also when
    /// nothing has expired. The range partitions are dropped whole instead
    /// (see [`OutboxPartition`](super::OutboxPartition)).
    pub fn purge_published(
        conn: &mut PgConnection,
        before: DateTime<Utc>,
        limit: i64,
    ) -> QueryResult<usize> {
        diesel::sql_query(
            "WITH head AS (SELECT id, created_at FROM outbox_part_default ORDER BY id LIMIT $2) \
             DELETE FROM outbox_part_default WHERE id IN \
               (SELECT id FROM head \
                WHERE created_at < $1 \
                  AND id <= (SELECT published_through FROM outbox_relay))",
        )
        .bind::<Timestamptz, _>(before)
        .bind::<BigInt, _>(limit)
        .execute(conn)
    }

    /// Runs `f` in a transaction that may write the outbox: it begins with
    /// its transaction id taken, in one round trip (`BEGIN; SELECT
    /// pg_current_xact_id()`), so it holds the outbox's lock only with one
    /// (see [`oldest_writer`](Self::oldest_writer)). Commits when `f`
    /// returns `Ok`, rolls back otherwise, as `Connection::transaction`.
    pub fn writing<R, E>(
        conn: &mut PgConnection,
        f: impl FnOnce(&mut PgConnection) -> Result<R, E>,
    ) -> Result<R, E>
    where
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
        match AnsiTransactionManager::begin_transaction_sql(
            conn,
            "BEGIN; SELECT pg_current_xact_id()",
        ) {
            Ok(()) => {}
            // Nested: a savepoint of the caller's transaction, which took
            // its id.
            Err(diesel::result::Error::AlreadyInTransaction) => return conn.transaction(f),
            Err(e @ diesel::result::Error::DatabaseError(..)) => {
                // The BEGIN may have passed and the SELECT failed (a
                // read-only server): that transaction is not diesel's, end
                // it.
                let _ = conn.batch_execute("ROLLBACK");
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        }
        match f(conn) {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(conn)?;
                Ok(value)
            }
            Err(error) => match AnsiTransactionManager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback) => Err(rollback.into()),
            },
        }
    }

    /// Gives the transaction its id now (see [`NewOutboxMessage::add_to`]).
    pub fn take_transaction_id(conn: &mut PgConnection) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_current_xact_id()")
            .execute(conn)
            .map(drop)
    }

    /// The watermark: every row with an id up to it has been published.
    pub fn published_through(conn: &mut PgConnection) -> QueryResult<i64> {
        outbox_relay::table
            .select(outbox_relay::published_through)
            .get_result(conn)
    }

    /// Raises the watermark to `through` (never lowers it).
    pub fn advance_published(conn: &mut PgConnection, through: i64) -> QueryResult<usize> {
        diesel::update(outbox_relay::table.filter(outbox_relay::published_through.lt(through)))
            .set((
                outbox_relay::published_through.eq(through),
                outbox_relay::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
    }
}

impl NewOutboxMessage {
    /// Inserts `rows` in one statement; returns the ids they were given,
    /// in row order.
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewOutboxMessage]) -> QueryResult<Vec<i64>> {
        let mut one = OneStatement::default();
        Self::add_to(&mut one, rows);
        Ok(one.run(conn)?.ids)
    }

    /// Adds the insert of `rows` to `one`, whose run returns the ids they
    /// were given, in row order.
    ///
    /// The transaction takes its transaction id before the rows draw
    /// theirs: the relay tells an id that is not visible yet from one that
    /// never will be by the transactions that were running when it looked
    /// (see [`Visible`]), which holds only if a row's writer had its
    /// transaction id when the row's id was drawn.
    pub fn add_to<'a>(one: &mut OneStatement<'a>, rows: &'a [NewOutboxMessage]) {
        // Ordered: the ids (the relay's publishing order) must follow the
        // order the events were written in.
        crate::insert_unnest!(one, rows, outbox ordered after xid returning ids {
            event_id: SqlUuid = |r| r.event_id,
            order_id: SqlUuid = |r| r.order_id,
            event_type: Text = |r| r.event_type,
            payload: Bytea = |r| r.payload.as_slice(),
            created_at: Timestamptz = |r| r.created_at,
            traceparent: Nullable<Text> = |r| r.traceparent.as_deref(),
        })
    }

    /// The row as the relay publishes it, with the id the insert gave it.
    pub fn with_id(self, id: i64) -> OutboxMessage {
        OutboxMessage {
            id,
            event_id: self.event_id,
            order_id: self.order_id,
            event_type: self.event_type.to_owned(),
            payload: self.payload,
            created_at: self.created_at,
            traceparent: self.traceparent,
        }
    }
}
