//! `idempotency_keys`: an HTTP `Idempotency-Key`, claimed by the request
//! that first brings it, with what that request asked for (order and body
//! fingerprint) and whether its command was published.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::idempotency_keys;

/// What a key was claimed for.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct IdempotencyClaim {
    pub principal: String,
    /// The command id the key stands for.
    pub key: Uuid,
    pub order_id: Uuid,
    pub body_hash: i64,
    pub published: bool,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had it: this request publishes.
    New,
    /// Claimed before for the same order and body; `published` says
    /// whether its command went out.
    Same { published: bool },
    /// Claimed before for another order or body.
    Other,
}

impl IdempotencyClaim {
    /// Claims the key, or says who has it. Race-free: of two requests
    /// claiming at once, one inserts and the other reads its row.
    pub fn claim(conn: &mut PgConnection, claim: &IdempotencyClaim) -> QueryResult<Claim> {
        let inserted = diesel::insert_into(idempotency_keys::table)
            .values(claim)
            .on_conflict_do_nothing()
            .execute(conn)?;
        if inserted == 1 {
            return Ok(Claim::New);
        }
        let held: IdempotencyClaim = idempotency_keys::table
            .find((&claim.principal, claim.key))
            .select(IdempotencyClaim::as_select())
            .get_result(conn)?;
        Ok(
            if held.order_id == claim.order_id && held.body_hash == claim.body_hash {
                Claim::Same {
                    published: held.published,
                }
            } else {
                Claim::Other
            },
        )
    }

    /// Marks the key's command published.
    pub fn published(conn: &mut PgConnection, principal: &str, key: Uuid) -> QueryResult<usize> {
        diesel::update(idempotency_keys::table.find((principal, key)))
            .set(idempotency_keys::published.eq(true))
            .execute(conn)
    }

    /// Deletes up to `limit` keys claimed before `before`.
    pub fn purge(conn: &mut PgConnection, before: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
        super::expiry::purge_oldest(
            conn,
            "idempotency_keys",
            "principal, key",
            "claimed_at",
            before,
            limit,
        )
    }
}
