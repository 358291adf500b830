//! 1,000 commands over 50 orders, interleaved at random but in causal order
//! per order, with invalid commands mixed in. The test keeps its own model of
//! the rules (written apart from `domain`); the final tables must equal the
//! model, every command must have the outcome the model predicts, and each
//! order's events must carry sequence 1..n in order, none missing or doubled.
//!
//! The random seed is printed; `TEST_SEED=<n>` replays a run.

use std::collections::HashMap;

use diesel::prelude::*;
use order_service::db::models::{Order, OrderItem, Payment, StatusChange};
use order_service::proto::{OrderCommand, OrderStatus, PaymentStatus, RejectionCode};
use uuid::Uuid;

use crate::helpers::*;

const ORDERS: usize = 50;
const COMMANDS: usize = 1_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Applied(u64),
    Rejected(RejectionCode),
}

/// The test's own model of one order.
#[derive(Default)]
struct ModelOrder {
    id: String,
    status: &'static str,
    payment_status: &'static str,
    total: i64,
    items: usize,
    /// (transaction_id, status, amount)
    payments: Vec<(String, &'static str, i64)>,
    version: u64,
    history: usize,
    script: Vec<(OrderCommand, Expect)>,
}

impl ModelOrder {
    fn new(rng: &mut fastrand::Rng) -> Self {
        let id = new_id();
        let mut order = ModelOrder {
            status: "pending",
            payment_status: "pending",
            version: 1,
            history: 1,
            ..ModelOrder::default()
        };
        order.script.push((
            create_order(&id, &format!("user-{}", rng.u8(..10))),
            Expect::Applied(1),
        ));
        order.id = id;
        order
    }

    fn applied(&mut self, command: OrderCommand) {
        self.version += 1;
        self.script.push((command, Expect::Applied(self.version)));
    }

    fn rejected(&mut self, command: OrderCommand, code: RejectionCode) {
        self.script.push((command, Expect::Rejected(code)));
    }

    fn active_payment(&self) -> bool {
        self.payments
            .iter()
            .any(|(_, s, _)| matches!(*s, "pending" | "completed"))
    }

    fn editable(&self) -> bool {
        self.status == "pending" && !self.active_payment()
    }

    /// Appends one random next command and what it must do.
    fn step(&mut self, rng: &mut fastrand::Rng) {
        let id = self.id.clone();
        match rng.u8(..100) {
            0..=29 => {
                let (quantity, price) = (rng.i32(1..5), rng.i64(0..5_000));
                let command = add_item(&id, &format!("sku-{}", rng.u8(..20)), quantity, price);
                if self.editable() {
                    self.total += i64::from(quantity) * price;
                    self.items += 1;
                    self.applied(command);
                } else {
                    self.rejected(command, RejectionCode::OrderNotEditable);
                }
            }
            30..=34 => self.rejected(
                add_item(&id, "sku-0", 0, 100),
                RejectionCode::ValidationFailed,
            ),
            35..=49 => {
                let tx = format!("tx-{}", new_id());
                let wrong = rng.bool();
                let amount = if wrong { self.total + 1 } else { self.total };
                let command = process_payment(&id, amount, &tx);
                if self.status != "pending" {
                    self.rejected(command, RejectionCode::OrderNotEditable);
                } else if self.items == 0 {
                    self.rejected(command, RejectionCode::ValidationFailed);
                } else if self.active_payment() {
                    self.rejected(command, RejectionCode::InvalidTransition);
                } else if wrong {
                    self.rejected(command, RejectionCode::AmountMismatch);
                } else {
                    self.payments.push((tx, "pending", amount));
                    self.payment_status = "pending";
                    self.applied(command);
                }
            }
            50..=69 => {
                if self.payments.is_empty() || rng.u8(..10) == 0 {
                    let command = update_payment(&id, "tx-unknown", PaymentStatus::Completed);
                    self.rejected(command, RejectionCode::PaymentNotFound);
                    return;
                }
                let index = rng.usize(..self.payments.len());
                let (tx, from, _) = self.payments[index].clone();
                let (to, to_text) = [
                    (PaymentStatus::Completed, "completed"),
                    (PaymentStatus::Completed, "completed"),
                    (PaymentStatus::Failed, "failed"),
                    (PaymentStatus::Refunded, "refunded"),
                ][rng.usize(..4)];
                let command = update_payment(&id, &tx, to);
                let allowed = matches!(
                    (from, to_text),
                    ("pending", "completed") | ("pending", "failed") | ("completed", "refunded")
                ) && !(to_text == "completed" && self.status == "cancelled");
                if allowed {
                    self.payments[index].1 = to_text;
                    self.payment_status = to_text;
                    self.applied(command);
                } else {
                    self.rejected(command, RejectionCode::InvalidTransition);
                }
            }
            70..=93 => {
                let (to, to_text) = [
                    (OrderStatus::Confirmed, "confirmed"),
                    (OrderStatus::Confirmed, "confirmed"),
                    (OrderStatus::Shipped, "shipped"),
                    (OrderStatus::Delivered, "delivered"),
                    (OrderStatus::Cancelled, "cancelled"),
                    (OrderStatus::Pending, "pending"),
                ][rng.usize(..6)];
                let command = update_status(&id, to, "step");
                let allowed = match (self.status, to_text) {
                    ("pending", "confirmed") => self.payment_status == "completed",
                    ("confirmed", "shipped")
                    | ("shipped", "delivered")
                    | ("pending", "cancelled")
                    | ("confirmed", "cancelled") => true,
                    _ => false,
                };
                if allowed {
                    self.status = to_text;
                    self.history += 1;
                    self.applied(command);
                } else {
                    self.rejected(command, RejectionCode::InvalidTransition);
                }
            }
            94..=96 => self.rejected(
                create_order(&id, "again"),
                RejectionCode::OrderAlreadyExists,
            ),
            _ => {
                let command = add_item(&new_id(), "sku-1", 1, 1);
                self.rejected(command, RejectionCode::OrderNotFound);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_interleavings_end_in_the_modelled_state() {
    let seed = std::env::var("TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("TEST_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);

    let mut orders: Vec<ModelOrder> = (0..ORDERS).map(|_| ModelOrder::new(&mut rng)).collect();
    for _ in ORDERS..COMMANDS {
        let index = rng.usize(..ORDERS);
        orders[index].step(&mut rng);
    }
    // Interleave: always the next command of a random order.
    let mut cursors = vec![0; ORDERS];
    let mut sequence: Vec<(OrderCommand, Expect)> = Vec::with_capacity(COMMANDS);
    while sequence.len() < COMMANDS {
        let index = rng.usize(..ORDERS);
        if let Some(entry) = orders[index].script.get(cursors[index]) {
            sequence.push(entry.clone());
            cursors[index] += 1;
        }
    }

    let mut app = spawn_app().await;
    for (command, _) in &sequence {
        app.send(command).await;
    }
    app.events(COMMANDS).await;

    // Every command has exactly one event, with the predicted outcome.
    let by_command: HashMap<&str, Vec<_>> =
        app.received.iter().fold(HashMap::new(), |mut map, event| {
            map.entry(event.command_id.as_str())
                .or_default()
                .push(event);
            map
        });
    assert_eq!(by_command.len(), COMMANDS, "one event per command");
    for (command, expect) in &sequence {
        let events = &by_command[command.command_id.as_str()];
        assert_eq!(events.len(), 1, "exactly one event for {command:?}");
        let event = events[0];
        let actual = match rejection(event) {
            Some(code) => Expect::Rejected(code),
            None => Expect::Applied(event.sequence),
        };
        assert_eq!(actual, *expect, "seed {seed}: {command:?} gave {event:?}");
    }

    // Per order, the applied events arrive as 1..n.
    let mut conn = app.db();
    for order in &orders {
        let sequences: Vec<u64> = app
            .events_of(&order.id)
            .iter()
            .filter(|e| rejection(e).is_none())
            .map(|e| e.sequence)
            .collect();
        assert_eq!(
            sequences,
            (1..=order.version).collect::<Vec<_>>(),
            "seed {seed}"
        );

        let id = Uuid::parse_str(&order.id).unwrap();
        let row = Order::find(&mut conn, id).unwrap().expect("order row");
        assert_eq!(
            (
                row.status.as_str(),
                row.payment_status.as_str(),
                row.total_amount,
                row.version
            ),
            (
                order.status,
                order.payment_status,
                order.total,
                order.version as i64
            ),
            "seed {seed}, order {}",
            order.id
        );
        let items = OrderItem::for_order(&mut conn, id).unwrap();
        assert_eq!(items.len(), order.items);
        assert_eq!(
            items.iter().map(|i| i.total_price).sum::<i64>(),
            order.total
        );
        let mut payments: Vec<(String, String, i64)> = Payment::for_orders(&mut conn, &[id])
            .unwrap()
            .into_iter()
            .map(|p| (p.transaction_id, p.status, p.amount))
            .collect();
        let mut expected: Vec<(String, String, i64)> = order
            .payments
            .iter()
            .map(|(tx, status, amount)| (tx.clone(), status.to_string(), *amount))
            .collect();
        payments.sort();
        expected.sort();
        assert_eq!(payments, expected, "seed {seed}");
        assert_eq!(
            StatusChange::for_order(&mut conn, id).unwrap().len(),
            order.history
        );
    }
    let processed = processed_count(&mut conn);
    assert_eq!(processed, COMMANDS as i64);
    let orders_in_db: i64 = order_service::db::schema::orders::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(
        orders_in_db, ORDERS as i64,
        "no order from a rejected command"
    );
    let unpublished = unpublished_count(&mut conn);
    assert_eq!(unpublished, 0);
    app.stop().await;
}
