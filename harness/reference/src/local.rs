//! `Local`: per-object thread-local storage, like the chapter's `threading.local`.
//!
//! Values live in the storing thread's own thread-local table, indexed by the `Local`'s unique id
//! (ids are never reused). They are dropped when that thread exits, so a new thread, even one
//! the OS gives a recycled thread id, starts with nothing. Setting a value where one of the same
//! type is already stored overwrites it in place, without allocating.

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOTS: RefCell<Vec<Option<Box<dyn Any>>>> = const { RefCell::new(Vec::new()) };
}

/// One thread-local variable, shareable between threads: each thread sees only what it set.
#[derive(Debug)]
pub struct Local<T> {
    id: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T: 'static> Default for Local<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Local<T> {
    pub fn new() -> Self {
        Local { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), _t: PhantomData }
    }

    /// Binds this thread's value.
    pub fn set(&self, value: T) {
        SLOTS.with(|s| {
            let mut slots = s.borrow_mut();
            if slots.len() <= self.id {
                slots.resize_with(self.id + 1, || None);
            }
            match slots[self.id].as_mut().and_then(|b| b.downcast_mut::<T>()) {
                Some(v) => *v = value,
                None => slots[self.id] = Some(Box::new(value)),
            }
        });
    }

    /// Calls `f` with this thread's value, `None` if this thread never set one.
    pub fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        SLOTS.with(|s| f(s.borrow().get(self.id).and_then(|v| v.as_ref()?.downcast_ref())))
    }

    /// Removes and returns this thread's value.
    pub fn take(&self) -> Option<T> {
        let taken = SLOTS.with(|s| s.borrow_mut().get_mut(self.id).and_then(Option::take));
        taken.and_then(|v| v.downcast().ok()).map(|b| *b)
    }
}

impl<T: Clone + 'static> Local<T> {
    /// A copy of this thread's value.
    pub fn get(&self) -> Option<T> {
        self.with(|v| v.cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn each_thread_sees_only_its_own_and_main_sees_none() {
        let school = Arc::new(Local::<String>::new());
        let handles: Vec<_> = [("Thread-A", "Alice"), ("Thread-B", "Bob")]
            .into_iter()
            .map(|(thread, student)| {
                let school = school.clone();
                crate::thread::Builder::new()
                    .name(thread)
                    .spawn(move || {
                        school.set(student.to_string());
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        format!("Hello, {} (in {})", school.get().unwrap_or_default(), crate::thread::current_name())
                    })
                    .expect("spawn")
            })
            .collect();
        let lines: Vec<String> = handles.into_iter().map(|h| h.join().expect("join")).collect();
        assert_eq!(lines, ["Hello, Alice (in Thread-A)", "Hello, Bob (in Thread-B)"]);
        assert_eq!(school.get(), None);
    }

    #[test]
    fn a_new_thread_sees_nothing_left_by_a_dead_one() {
        let local = Arc::new(Local::<u32>::new());
        for round in 0..50 {
            let l = local.clone();
            let seen = std::thread::spawn(move || {
                let before = l.get();
                l.set(round);
                before
            })
            .join()
            .expect("join");
            assert_eq!(seen, None, "round {round}");
        }
    }

    #[test]
    fn two_locals_do_not_share_a_slot() {
        let (a, b) = (Local::<u8>::new(), Local::<u8>::new());
        a.set(1);
        assert_eq!(b.get(), None);
        assert_eq!(a.take(), Some(1));
        assert_eq!(a.get(), None);
    }
}
