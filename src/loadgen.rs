//! Load generation: realistic order lifecycles, for `order-service bench`
//! and the fault-injection tests.
//!
//! Each order is `create → N × add item → pay the total → payment completed
//! → confirm`, all valid, so the end state of every order is known in
//! advance: `confirmed`, payment `completed`, its total, and version = its
//! number of commands.

use uuid::Uuid;

use crate::commands;
use crate::proto::{self, OrderCommand, order_command::Command};

/// One order's commands, in causal order, and where they must lead.
#[derive(Debug, Clone)]
pub struct PlannedOrder {
    pub order_id: Uuid,
    pub commands: Vec<OrderCommand>,
    /// Sum of the items' totals, minor units.
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub orders: Vec<PlannedOrder>,
}

impl Workload {
    /// `orders` lifecycles with `items` items each: `items + 4` commands per order.
    pub fn lifecycles(orders: usize, items: usize, rng: &mut fastrand::Rng) -> Self {
        let orders = (0..orders)
            .map(|_| PlannedOrder::lifecycle(items, rng))
            .collect();
        Self { orders }
    }

    pub fn command_count(&self) -> usize {
        self.orders.iter().map(|o| o.commands.len()).sum()
    }

    /// All commands, orders interleaved at random, each order's commands in
    /// their causal order.
    pub fn interleaved(&self, rng: &mut fastrand::Rng) -> Vec<OrderCommand> {
        let mut cursors: Vec<usize> = vec![0; self.orders.len()];
        let mut open: Vec<usize> = (0..self.orders.len()).collect();
        let mut out = Vec::with_capacity(self.command_count());
        while !open.is_empty() {
            let slot = rng.usize(..open.len());
            let index = open[slot];
            let order = &self.orders[index];
            out.push(order.commands[cursors[index]].clone());
            cursors[index] += 1;
            if cursors[index] == order.commands.len() {
                open.swap_remove(slot);
            }
        }
        out
    }
}

impl PlannedOrder {
    fn lifecycle(items: usize, rng: &mut fastrand::Rng) -> Self {
        let order_id = Uuid::new_v4();
        let id = order_id.to_string();
        let mut planned = Vec::with_capacity(items + 4);
        planned.push(commands::new(
            &id,
            Command::CreateOrder(proto::CreateOrder {
                user_id: format!("user-{}", rng.u32(..10_000)),
                shipping_address: format!("{} Main St, Springfield", rng.u16(1..999)),
                currency: "EUR".into(),
            }),
        ));
        let mut total = 0;
        for _ in 0..items {
            let quantity = rng.i32(1..=5);
            let price_per_unit = rng.i64(1..=20_000);
            total += i64::from(quantity) * price_per_unit;
            planned.push(commands::new(
                &id,
                Command::AddOrderItem(proto::AddOrderItem {
                    product_id: format!("sku-{}", rng.u32(..5_000)),
                    quantity,
                    price_per_unit,
                }),
            ));
        }
        let transaction_id = format!("tx-{}", Uuid::new_v4());
        planned.push(commands::new(
            &id,
            Command::ProcessPayment(proto::ProcessPayment {
                amount: total,
                payment_method: "card".into(),
                transaction_id: transaction_id.clone(),
            }),
        ));
        planned.push(commands::new(
            &id,
            Command::UpdatePaymentStatus(proto::UpdatePaymentStatus {
                transaction_id,
                status: proto::PaymentStatus::Completed.into(),
            }),
        ));
        planned.push(commands::new(
            &id,
            Command::UpdateOrderStatus(proto::UpdateOrderStatus {
                status: proto::OrderStatus::Confirmed.into(),
                reason: "paid".into(),
            }),
        ));
        Self {
            order_id,
            commands: planned,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_keeps_each_orders_commands_in_order() {
        let mut rng = fastrand::Rng::with_seed(7);
        let workload = Workload::lifecycles(20, 3, &mut rng);
        assert_eq!(workload.command_count(), 20 * 7);
        let all = workload.interleaved(&mut rng);
        assert_eq!(all.len(), workload.command_count());
        for order in &workload.orders {
            let id = order.order_id.to_string();
            let seen: Vec<&str> = all
                .iter()
                .filter(|c| c.order_id == id)
                .map(|c| c.command_id.as_str())
                .collect();
            let planned: Vec<&str> = order
                .commands
                .iter()
                .map(|c| c.command_id.as_str())
                .collect();
            assert_eq!(seen, planned);
        }
        // Not simply order after order.
        let switches = all
            .windows(2)
            .filter(|w| w[0].order_id != w[1].order_id)
            .count();
        assert!(switches > all.len() / 2, "{switches} switches");
    }
}
