//! The publisher lease in `outbox_relay`: who publishes, under which
//! generation, until when, with which Kafka `transactional.id`.
//!
//! Expiry is judged by the database's clock alone (`now()`); the holder
//! judges its own term by its monotonic clock from the moment it asked,
//! which can only make its term end sooner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};

use crate::db::schema::outbox_relay;

/// What taking the lease returns.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub generation: i64,
    #[diesel(sql_type = Text)]
    pub transactional_id: String,
    #[diesel(sql_type = BigInt)]
    pub published_through: i64,
    /// Whether a holder ever committed a position to Kafka.
    #[diesel(sql_type = Bool)]
    pub kafka_position: bool,
}

/// The lease as any instance sees it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct LeaseView {
    pub holder: Option<String>,
    pub generation: i64,
    pub lease_until: Option<DateTime<Utc>>,
}

pub struct RelayLease;

impl RelayLease {
    /// Takes the lease for `holder` when it is free (never taken, expired)
    /// or already `holder`'s; `None` when someone else holds it. The claim
    /// is flushed before it returns (a generation lost in a crash could be
    /// handed out twice).
    pub fn claim(
        conn: &mut PgConnection,
        holder: &str,
        lease_secs: f64,
    ) -> QueryResult<Option<Claimed>> {
        conn.transaction(|conn| {
            diesel::sql_query("SET LOCAL synchronous_commit = on").execute(conn)?;
            diesel::sql_query(
                "UPDATE outbox_relay \
                 SET holder = $1, generation = generation + 1, \
                     lease_until = now() + make_interval(secs => $2), updated_at = now() \
                 WHERE lease_until IS NULL OR lease_until < now() OR holder = $1 \
                 RETURNING generation, transactional_id, published_through, kafka_position",
            )
            .bind::<Text, _>(holder)
            .bind::<Double, _>(lease_secs)
            .get_result::<Claimed>(conn)
            .optional()
        })
    }

    /// Renews the lease of `generation`, raises the watermark to `through`
    /// (never lowers it) and records that Kafka holds a position when
    /// `kafka_position`. `false`: the lease is someone else's.
    pub fn renew(
        conn: &mut PgConnection,
        generation: i64,
        lease_secs: f64,
        through: Option<i64>,
        kafka_position: bool,
    ) -> QueryResult<bool> {
        diesel::sql_query(
            "UPDATE outbox_relay \
             SET lease_until = now() + make_interval(secs => $2), updated_at = now(), \
                 published_through = greatest(published_through, coalesce($3, published_through)), \
                 kafka_position = kafka_position OR $4 \
             WHERE generation = $1",
        )
        .bind::<BigInt, _>(generation)
        .bind::<Double, _>(lease_secs)
        .bind::<Nullable<BigInt>, _>(through)
        .bind::<Bool, _>(kafka_position)
        .execute(conn)
        .map(|rows| rows == 1)
    }

    /// Ends the lease of `generation` now, so the next instance need not
    /// wait for it to expire.
    pub fn release(conn: &mut PgConnection, generation: i64) -> QueryResult<()> {
        diesel::sql_query(
            "UPDATE outbox_relay SET lease_until = now() - interval '1 second' \
             WHERE generation = $1",
        )
        .bind::<BigInt, _>(generation)
        .execute(conn)
        .map(drop)
    }

    /// The lease as it stands.
    pub fn view(conn: &mut PgConnection) -> QueryResult<LeaseView> {
        outbox_relay::table
            .select((
                outbox_relay::holder,
                outbox_relay::generation,
                outbox_relay::lease_until,
            ))
            .get_result(conn)
    }
}
