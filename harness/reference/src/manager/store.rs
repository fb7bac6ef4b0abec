//! The served queues: values kept as their JSON text, bounded in bytes per queue and in total,
//! and taken in two steps (take, then commit once the client has it) so that a value whose
//! delivery fails goes back to the head of its queue.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

/// What one queued value costs besides its JSON text (its slot, its allocation), so that a
/// flood of tiny values is bounded too.
pub(crate) const ITEM_OVERHEAD: usize = 64;

/// How often a blocked `get` checks that its client is still there.
pub(crate) const WATCH: Duration = Duration::from_millis(200);

fn cost(v: &RawValue) -> usize {
    v.get().len() + ITEM_OVERHEAD
}

#[derive(Debug, Default)]
struct Items {
    values: VecDeque<Box<RawValue>>,
    /// The cost of `values` and of the values taken but not yet committed.
    bytes: usize,
    waiting: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Slot {
    items: Mutex<Items>,
    arrived: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Items> {
        // A panic while holding the lock leaves the queue consistent (every change is one step).
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a put was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full {
    Queue { size: usize, limit: usize },
    Total { size: usize, limit: usize },
}

/// The outcome of a take.
#[derive(Debug)]
pub(crate) enum Take<'a> {
    Got(Taken<'a>),
    Empty,
    ShuttingDown,
    /// The client left while we waited.
    Vanished,
}

/// A value on its way to a client: [`commit`](Self::commit) once the client has it; dropped
/// otherwise, it goes back to the head of its queue (it was the oldest, so order is kept).
#[derive(Debug)]
pub(crate) struct Taken<'a> {
    store: &'a Store,
    slot: &'a Slot,
    value: Option<Box<RawValue>>,
}

impl Taken<'_> {
    pub(crate) fn value(&self) -> &RawValue {
        self.value.as_deref().unwrap_or_else(|| unreachable!("a Taken holds its value until commit or drop"))
    }

    pub(crate) fn commit(mut self) {
        if let Some(v) = self.value.take() {
            let c = cost(&v);
            self.slot.lock().bytes -= c;
            self.store.total.fetch_sub(c, Ordering::SeqCst);
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(v) = self.value.take() {
            self.slot.lock().values.push_front(v);
            self.slot.arrived.notify_one();
        }
    }
}

/// The manager's queues and their bounds.
#[derive(Debug)]
pub(crate) struct Store {
    slots: HashMap<String, Slot>,
    total: AtomicUsize,
    max_queue: usize,
    max_total: usize,
}

impl Store {
    pub(crate) fn new(names: &[String], max_queue: usize, max_total: usize) -> Store {
        let slots = names.iter().map(|n| (n.clone(), Slot::default())).collect();
        Store { slots, total: AtomicUsize::new(0), max_queue, max_total }
    }

    pub(crate) fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.get(name)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let mut known: Vec<String> = self.slots.keys().cloned().collect();
        known.sort();
        known
    }

    /// Bytes held by all queues (including values on their way to a client).
    pub(crate) fn bytes(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// `get`s blocked right now.
    pub(crate) fn waiting(&self) -> usize {
        self.slots.values().map(|s| s.lock().waiting).sum()
    }

    pub(crate) fn put(&self, slot: &Slot, value: Box<RawValue>) -> Result<(), Full> {
        let c = cost(&value);
        let mut items = slot.lock();
        if items.bytes.saturating_add(c) > self.max_queue {
            return Err(Full::Queue { size: c, limit: self.max_queue });
        }
        let reserved = self
            .total
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_add(c).filter(|&n| n <= self.max_total));
        if reserved.is_err() {
            return Err(Full::Total { size: c, limit: self.max_total });
        }
        items.bytes += c;
        items.values.push_back(value);
        slot.arrived.notify_one();
        Ok(())
    }

    /// Takes the oldest value, waiting up to `timeout` (`None`: for ever) while `stopping` is
    /// unset and `alive()` says the client still waits for it (asked every [`WATCH`]).
    pub(crate) fn take<'a>(
        &'a self,
        slot: &'a Slot,
        timeout: Option<Duration>,
        stopping: &AtomicBool,
        alive: impl Fn() -> bool,
    ) -> Take<'a> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut items = slot.lock();
        let mut waited = false;
        let outcome = loop {
            if stopping.load(Ordering::SeqCst) {
                break Take::ShuttingDown;
            }
            if !items.values.is_empty() {
                // After a wait the client may have left: then the value stays for another.
                if waited && !alive() {
                    break Take::Vanished;
                }
                let value = items.values.pop_front();
                break Take::Got(Taken { store: self, slot, value });
            }
            let slice = match deadline {
                None => WATCH,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break Take::Empty;
                    }
                    left.min(WATCH)
                }
            };
            if !waited {
                waited = true;
                items.waiting += 1;
            }
            let (guard, result) = slot.arrived.wait_timeout(items, slice).unwrap_or_else(|p| p.into_inner());
            items = guard;
            if result.timed_out() && items.values.is_empty() && !alive() {
                break Take::Vanished;
            }
        };
        if waited {
            items.waiting -= 1;
        }
        if matches!(outcome, Take::Vanished) && !items.values.is_empty() {
            // We may have been the one woken for a value: pass the wake-up on.
            slot.arrived.notify_one();
        }
        outcome
    }

    /// Wakes every blocked `get` (to see the shutdown).
    pub(crate) fn wake_all(&self) {
        for slot in self.slots.values() {
            let _guard = slot.lock();
            slot.arrived.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).expect("json")
    }

    #[test]
    fn a_value_not_committed_goes_back_to_the_head() {
        let store = Store::new(&["q".into()], 1 << 20, 1 << 20);
        let slot = store.slot("q").expect("q");
        for v in ["1", "2", "3"] {
            store.put(slot, raw(v)).expect("put");
        }
        let stop = AtomicBool::new(false);
        let Take::Got(first) = store.take(slot, Some(Duration::ZERO), &stop, || true) else { panic!("a value") };
        assert_eq!(first.value().get(), "1");
        drop(first); // delivery failed
        let mut order = Vec::new();
        while let Take::Got(t) = store.take(slot, Some(Duration::ZERO), &stop, || true) {
            order.push(t.value().get().to_string());
            t.commit();
        }
        assert_eq!(order, ["1", "2", "3"], "FIFO kept");
        assert_eq!(store.bytes(), 0, "committed values are no longer counted");
    }

    #[test]
    fn bounds_per_queue_and_in_total() {
        let store = Store::new(&["a".into(), "b".into()], 3 * (ITEM_OVERHEAD + 1), 5 * (ITEM_OVERHEAD + 1));
        let (a, b) = (store.slot("a").expect("a"), store.slot("b").expect("b"));
        for _ in 0..3 {
            store.put(a, raw("1")).expect("fits");
        }
        assert_eq!(
            store.put(a, raw("1")),
            Err(Full::Queue { size: ITEM_OVERHEAD + 1, limit: 3 * (ITEM_OVERHEAD + 1) })
        );
        store.put(b, raw("1")).expect("fits");
        store.put(b, raw("1")).expect("fits");
        assert!(matches!(store.put(b, raw("1")), Err(Full::Total { .. })));
        let stop = AtomicBool::new(false);
        let Take::Got(t) = store.take(a, None, &stop, || true) else { panic!("a value") };
        assert!(matches!(store.put(b, raw("1")), Err(Full::Total { .. })), "a value on its way still counts");
        t.commit();
        store.put(b, raw("1")).expect("room again");
    }

    #[test]
    fn a_waiting_take_sees_its_client_leave_and_leaves_the_value() {
        let store = Store::new(&["q".into()], 1 << 20, 1 << 20);
        let slot = store.slot("q").expect("q");
        let stop = AtomicBool::new(false);
        let gone = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter =
                s.spawn(|| matches!(store.take(slot, None, &stop, || !gone.load(Ordering::SeqCst)), Take::Vanished));
            std::thread::sleep(WATCH / 2);
            gone.store(true, Ordering::SeqCst);
            std::thread::sleep(WATCH * 2);
            store.put(slot, raw("7")).expect("put");
            assert!(waiter.join().expect("waiter"), "the waiter saw its client leave");
        });
        let Take::Got(t) = store.take(slot, Some(Duration::ZERO), &stop, || true) else { panic!("the value stayed") };
        assert_eq!(t.value().get(), "7");
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let store = Store::new(&["q".into()], 1 << 20, 1 << 20);
        let slot = store.slot("q").expect("q");
        store.put(slot, raw("1")).expect("put");
        let stop = AtomicBool::new(false);
        assert!(matches!(store.take(slot, Some(Duration::MAX), &stop, || true), Take::Got(_)));
    }
}
