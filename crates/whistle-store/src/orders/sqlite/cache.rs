//! The planner's decoded orders.

use crate::plan;
use std::collections::{HashMap, VecDeque};
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::order::Order;

/// The planner's decoded orders: every order of a batch still in flight (tagged with the number
/// of the last batch that changed it), and up to [`crate::Tuning::decoded_orders`] others, dropped oldest-written
/// first once the writer has finished the batch that wrote them.
#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) orders: HashMap<OrderId, (u64, Order)>,
    pub(crate) by_no: HashMap<OrderNo, OrderId>,
    /// The last order number issued per day, as planned.
    pub(crate) counters: HashMap<chrono::NaiveDate, u64>,
    /// Idempotency keys recorded by batches in flight.
    pub(crate) keys: HashMap<(String, String), (u64, plan::IdempotencyRecord)>,
    /// Orders in the order they were last written (stale entries are skipped).
    pub(crate) written: VecDeque<(OrderId, u64)>,
    /// The writer's replan count when the cache was last known good.
    pub(crate) replans: u64,
    /// How many decoded orders it keeps beyond those in flight.
    pub(crate) capacity: usize,
}

impl Cache {
    pub(crate) fn clear(&mut self, replans: u64) {
        *self = Cache {
            replans,
            capacity: self.capacity,
            ..Cache::default()
        };
    }

    pub(crate) fn put(&mut self, order: Order, tag: u64) {
        self.by_no.insert(order.no.clone(), order.id);
        self.written.push_back((order.id, tag));
        self.orders.insert(order.id, (tag, order));
    }

    /// Drops the oldest-written orders beyond the limit, never one still in flight.
    pub(crate) fn trim(&mut self, done: u64) {
        self.keys.retain(|_, (tag, _)| *tag > done);
        while self.orders.len() > self.capacity {
            let Some((id, tag)) = self.written.pop_front() else {
                break;
            };
            match self.orders.get(&id) {
                Some((current, _)) if *current != tag => continue,
                Some(_) if tag > done => {
                    self.written.push_front((id, tag));
                    break;
                }
                Some((_, order)) => {
                    self.by_no.remove(&order.no);
                    self.orders.remove(&id);
                }
                None => continue,
            }
        }
        if self.written.len() > 4 * self.capacity.max(1) {
            let orders = &self.orders;
            self.written
                .retain(|(id, tag)| orders.get(id).is_some_and(|(t, _)| t == tag));
        }
    }
}
