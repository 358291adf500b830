//! What a run asked of PostgreSQL's storage, from its statistics
//! (`pg_stat_user_tables`) once the service has stopped: rows inserted and
//! updated per command, the share of updates that were HOT (the new row
//! version on the old one's page, no index touched) and the index entries
//! written per command — an insert, or an update that is not HOT, writes
//! one entry into each of its table's indexes. Partial indexes are counted
//! apart: they take an entry only for rows that match their condition,
//! which the statistics do not count. These are estimates from the counts:
//! rows of a batch that was rolled back count too (the run prints the
//! batches applied again), and so do the warm-up order's five commands.
//! The outbox's partitions count as one table; a partition dropped by
//! retention during the run takes its counts with it. Also each table's
//! size on disk at the end (its partitions summed), to see what expiry
//! leaves.

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// One table's writes over a run.
#[derive(Debug, Clone, QueryableByName)]
pub struct TableWrites {
    #[diesel(sql_type = Text)]
    pub table: String,
    #[diesel(sql_type = BigInt)]
    pub inserted: i64,
    #[diesel(sql_type = BigInt)]
    pub updated: i64,
    #[diesel(sql_type = BigInt)]
    pub hot_updated: i64,
    /// Its indexes without a condition.
    #[diesel(sql_type = BigInt)]
    pub indexes: i64,
    /// Its partial indexes.
    #[diesel(sql_type = BigInt)]
    pub partial: i64,
}

impl TableWrites {
    /// Entries written into its indexes without a condition: one per index
    /// for each insert and each update that was not HOT.
    pub fn index_entries(&self) -> i64 {
        (self.inserted + self.updated - self.hot_updated) * self.indexes
    }
}

/// One table's size at the end of a run (the outbox: its partitions').
#[derive(Debug, Clone, QueryableByName)]
pub struct TableSize {
    #[diesel(sql_type = Text)]
    pub table: String,
    #[diesel(sql_type = BigInt)]
    pub parts: i64,
    #[diesel(sql_type = BigInt)]
    pub table_bytes: i64,
    #[diesel(sql_type = BigInt)]
    pub index_bytes: i64,
}

/// What a run left in the database.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    pub writes: Vec<TableWrites>,
    pub sizes: Vec<TableSize>,
}

/// The database's writes and sizes per table, read once every other client session
/// of it has ended (PostgreSQL 15 and later: a backend sends its last
/// counts to shared memory before it leaves `pg_stat_activity`);
/// refused if one is still open after 15 s, rather than read short.
fn read(database_url: &str) -> anyhow::Result<Storage> {
    let mut conn =
        PgConnection::establish(database_url).context("connecting for the statistics")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        #[derive(QueryableByName)]
        struct Others {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        let others: Others = diesel::sql_query(
            "SELECT count(*) AS count FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND backend_type = 'client backend'",
        )
        .get_result(&mut conn)?;
        if others.count == 0 {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} sessions of the service still open after 15 s",
            others.count
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    const TABLE: &str =
        "CASE WHEN c.relname LIKE 'outbox\\_part\\_%' THEN 'outbox' ELSE c.relname::text END";
    let writes = diesel::sql_query(format!(
        "SELECT {TABLE} AS table, sum(s.n_tup_ins)::bigint AS inserted, \
                sum(s.n_tup_upd)::bigint AS updated, sum(s.n_tup_hot_upd)::bigint AS hot_updated, \
                max((SELECT count(*) FROM pg_index i \
                     WHERE i.indrelid = s.relid AND i.indpred IS NULL)) AS indexes, \
                max((SELECT count(*) FROM pg_index i \
                     WHERE i.indrelid = s.relid AND i.indpred IS NOT NULL)) AS partial \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         GROUP BY 1 HAVING sum(s.n_tup_ins + s.n_tup_upd) > 0 \
         ORDER BY 1"
    ))
    .load(&mut conn)
    .context("reading pg_stat_user_tables")?;
    let sizes = diesel::sql_query(format!(
        "SELECT {TABLE} AS table, count(*) AS parts, \
                sum(pg_table_size(c.oid))::bigint AS table_bytes, \
                sum(pg_indexes_size(c.oid))::bigint AS index_bytes \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
         GROUP BY 1 ORDER BY 3 DESC"
    ))
    .load(&mut conn)
    .context("reading the tables' sizes")?;
    Ok(Storage { writes, sizes })
}

/// [`read`] off the runtime's threads. A read that fails is said, and
/// leaves the run's other figures standing: no figures, not a failed run.
pub(super) async fn read_after_run(database_url: &str) -> Storage {
    let url = database_url.to_owned();
    let read = tokio::task::spawn_blocking(move || read(&url))
        .await
        .map_err(anyhow::Error::from)
        .and_then(|result| result);
    read.unwrap_or_else(|e| {
        eprintln!("    (no storage figures: {e:#})");
        Storage::default()
    })
}

/// One line: each table of at least a megabyte, its size and its indexes'
/// (and the outbox's partitions).
pub fn sizes_line(sizes: &[TableSize]) -> String {
    let mb = |bytes: i64| bytes as f64 / (1024.0 * 1024.0);
    let parts: Vec<String> = sizes
        .iter()
        .filter(|t| t.table_bytes + t.index_bytes >= 1024 * 1024)
        .map(|t| {
            let partitions = match t.parts {
                1 => String::new(),
                n => format!(" in {n} partitions"),
            };
            format!(
                "{} {:.1} MB + {:.1} MB indexes{partitions}",
                t.table,
                mb(t.table_bytes),
                mb(t.index_bytes)
            )
        })
        .collect();
    parts.join(", ")
}

/// One line: per command, rows inserted and updated, entries into the
/// indexes without a condition, and the share of updates that were HOT;
/// then each table's part.
pub fn line(tables: &[TableWrites], commands: usize) -> String {
    let per = |n: i64| n as f64 / commands.max(1) as f64;
    let inserted: i64 = tables.iter().map(|t| t.inserted).sum();
    let updated: i64 = tables.iter().map(|t| t.updated).sum();
    let hot: i64 = tables.iter().map(|t| t.hot_updated).sum();
    let entries: i64 = tables.iter().map(TableWrites::index_entries).sum();
    let parts: Vec<String> = tables
        .iter()
        .map(|t| {
            let partial = match t.partial {
                0 => String::new(),
                n => format!(" + {n} partial"),
            };
            format!(
                "{} +{:.2}/~{:.2} ({}% HOT, {} indexes{partial})",
                t.table,
                per(t.inserted),
                per(t.updated),
                hot_percent(t.hot_updated, t.updated),
                t.indexes
            )
        })
        .collect();
    format!(
        "per command {:.2} rows inserted, {:.2} updated ({}% HOT), {:.2} index entries (partial indexes apart); {}",
        per(inserted),
        per(updated),
        hot_percent(hot, updated),
        per(entries),
        parts.join(", ")
    )
}

fn hot_percent(hot: i64, updated: i64) -> i64 {
    if updated == 0 {
        0
    } else {
        (100 * hot + updated / 2) / updated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, inserted: i64, updated: i64, hot: i64, indexes: i64) -> TableWrites {
        TableWrites {
            table: name.into(),
            inserted,
            updated,
            hot_updated: hot,
            indexes,
            partial: 0,
        }
    }

    #[test]
    fn an_update_that_is_not_hot_writes_into_every_index_as_an_insert_does() {
        assert_eq!(
            table("orders", 10, 40, 30, 2).index_entries(),
            (10 + 10) * 2
        );
        assert_eq!(table("outbox", 50, 0, 0, 2).index_entries(), 100);
    }

    #[test]
    fn the_line_counts_per_command() {
        let outbox = TableWrites {
            partial: 1,
            ..table("outbox", 50, 0, 0, 1)
        };
        let tables = [table("orders", 10, 40, 30, 2), outbox];
        assert_eq!(
            line(&tables, 50),
            "per command 1.20 rows inserted, 0.80 updated (75% HOT), 1.80 index entries \
             (partial indexes apart); orders +0.20/~0.80 (75% HOT, 2 indexes), \
             outbox +1.00/~0.00 (0% HOT, 1 indexes + 1 partial)"
        );
    }
}
