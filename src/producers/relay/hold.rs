//! Orders held back because their records keep failing: a record the
//! broker refuses aborts its round, and the round goes again whole, so no
//! order's later event commits before an earlier one. After a few aborted
//! rounds in a row, the orders whose records were refused wait (their
//! later rows with them) while the others are published; they are tried
//! again after a hold that doubles each time, up to a minute.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

/// Aborted rounds in a row before the orders refused are held back.
const ABORTS_BEFORE_HOLD: u32 = 3;
const FIRST_HOLD: Duration = Duration::from_secs(5);
const LONGEST_HOLD: Duration = Duration::from_secs(60);

struct Hold {
    until: Instant,
    times: u32,
}

#[derive(Default)]
pub(super) struct Holds {
    orders: HashMap<Uuid, Hold>,
    aborts_in_a_row: u32,
}

impl Holds {
    /// Whether `order`'s rows wait this round.
    pub(super) fn holds(&self, order: &Uuid) -> bool {
        self.orders
            .get(order)
            .is_some_and(|hold| Instant::now() < hold.until)
    }

    /// Holds `order` back, longer each time; `id` and `error` are logged.
    pub(super) fn hold(&mut self, order: Uuid, id: i64, error: &str) {
        let hold = self.orders.entry(order).or_insert(Hold {
            until: Instant::now(),
            times: 0,
        });
        hold.times += 1;
        let length = FIRST_HOLD
            .saturating_mul(1 << (hold.times - 1).min(8))
            .min(LONGEST_HOLD);
        hold.until = Instant::now() + length;
        tracing::warn!(
            order_id = %order,
            id,
            error,
            hold_seconds = length.as_secs(),
            times = hold.times,
            "an order's events are held back: its record keeps failing (the other orders go on)"
        );
    }

    /// A round was aborted; `refused` are the rows whose own record the
    /// broker refused. Orders held before are held again at once; an
    /// order is held once per round, however many of its rows were
    /// refused.
    pub(super) fn aborted(&mut self, refused: Vec<(i64, Uuid, String)>) {
        self.aborts_in_a_row += 1;
        let mut held = false;
        let mut seen = std::collections::HashSet::new();
        for (id, order, error) in refused {
            if !seen.insert(order) {
                continue;
            }
            if self.aborts_in_a_row >= ABORTS_BEFORE_HOLD || self.orders.contains_key(&order) {
                self.hold(order, id, &error);
                held = true;
            }
        }
        if held {
            self.aborts_in_a_row = 0;
        }
    }

    /// A round committed with rows of `orders`: they are free again.
    pub(super) fn committed(&mut self, orders: impl Iterator<Item = Uuid>) {
        self.aborts_in_a_row = 0;
        if !self.orders.is_empty() {
            for order in orders {
                self.orders.remove(&order);
            }
        }
    }

    /// Orders held back or waiting to be tried again.
    pub(super) fn len(&self) -> usize {
        self.orders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_held_after_a_few_aborted_rounds_and_freed_by_a_commit() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut holds = Holds::default();
        holds.aborted(vec![(1, a, "too large".into())]);
        holds.aborted(vec![(1, a, "too large".into())]);
        assert!(!holds.holds(&a), "two aborts may be a passing fault");
        holds.aborted(vec![(1, a, "too large".into())]);
        assert!(holds.holds(&a) && !holds.holds(&b));
        // Held once: the next refusal holds it again at once.
        holds.orders.get_mut(&a).unwrap().until = Instant::now();
        assert!(!holds.holds(&a));
        // Two of its rows refused in one round: held once more, not twice.
        holds.aborted(vec![(1, a, "too large".into()), (2, a, "too large".into())]);
        assert!(holds.holds(&a));
        assert_eq!(holds.orders[&a].times, 2);
        holds.committed([a].into_iter());
        assert_eq!(holds.len(), 0);
    }
}
