//! What a benchmark run checks before it reports a figure: one event per
//! command, none rejected, each order's events in its commands' order, and
//! the rows as the plan says.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, ensure};
use diesel::prelude::*;
use uuid::Uuid;

use super::events::Received;
use crate::loadgen::Workload;

/// Count and content: one event per command, none rejected, each order's
/// n-th event from its n-th command.
pub(super) fn verify(workload: &Workload, received: &[Received]) -> anyhow::Result<()> {
    let mut position: HashMap<&str, (&str, u64)> = HashMap::new();
    for order in &workload.orders {
        for (index, command) in order.commands.iter().enumerate() {
            position.insert(&command.command_id, (&command.order_id, index as u64 + 1));
        }
    }
    ensure!(
        received.len() == position.len(),
        "{} events for {} commands",
        received.len(),
        position.len()
    );
    let mut ids = HashSet::new();
    for event in received {
        ensure!(!event.rejected, "command {} was rejected", event.command_id);
        ensure!(
            ids.insert(event.event_id.as_str()),
            "event {} twice",
            event.event_id
        );
        let Some((order_id, sequence)) = position.get(event.command_id.as_str()) else {
            bail!("event for unknown command {}", event.command_id);
        };
        ensure!(
            *order_id == event.order_id && *sequence == event.sequence,
            "event {} has order {} sequence {}, planned {order_id} {sequence}",
            event.event_id,
            event.order_id,
            event.sequence
        );
    }
    Ok(())
}

/// The rows agree with the plan: every order confirmed and paid, totals summed.
pub(super) fn verify_rows(database_url: &str, workload: &Workload) -> anyhow::Result<()> {
    use crate::db::schema::orders::dsl::*;
    let mut conn = PgConnection::establish(database_url)?;
    let total_sum = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(
        "sum(total_amount)::bigint",
    );
    let ids: Vec<Uuid> = workload.orders.iter().map(|o| o.order_id).collect();
    let (count, sum): (i64, Option<i64>) = orders
        .filter(id.eq_any(&ids))
        .filter(status.eq("confirmed"))
        .filter(payment_status.eq("completed"))
        .select((diesel::dsl::count_star(), total_sum))
        .first(&mut conn)?;
    let planned: i64 = workload.orders.iter().map(|o| o.total).sum();
    ensure!(
        count as usize == workload.orders.len(),
        "{count} orders confirmed of {}",
        workload.orders.len()
    );
    ensure!(
        sum == Some(planned),
        "order totals sum to {sum:?}, planned {planned}"
    );
    Ok(())
}
