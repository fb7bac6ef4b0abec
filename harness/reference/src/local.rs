//! `Local`: per-object thread-local storage, like the chapter's `threading.local`.
//!
//! Values live in the storing thread's own thread-local table, indexed by the `Local`'s unique id
//! (ids are never reused). They are dropped when that thread exits, so a new thread, even one
//! the OS gives a recycled thread id, starts with nothing. Setting a value where one of the same
//! type is already stored overwrites it in place, without allocating.
//!
//! A `Local` made with [`Local::with_init`] is CPython's `local` subclass with an `__init__`:
//! its initializer runs in each thread the first time that thread reads the value.

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOTS: RefCell<Vec<Option<Box<dyn Any>>>> = const { RefCell::new(Vec::new()) };
}

type Init<T> = Arc<dyn Fn() -> T + Send + Sync>;

/// One thread-local variable, shareable between threads: each thread sees only what it set
/// (or, with an initializer, what the initializer made for it).
pub struct Local<T> {
    id: usize,
    init: Option<Init<T>>,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("id", &self.id).field("with_init", &self.init.is_some()).finish()
    }
}

impl<T: 'static> Default for Local<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Local<T> {
    pub fn new() -> Self {
        Local { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), init: None, _t: PhantomData }
    }

    /// A local whose value `init` makes, in each thread, the first time that thread reads it
    /// (through [`with`](Self::with) or [`get`](Self::get)): CPython's `local` subclass whose
    /// `__init__` runs again in every thread. After [`take`](Self::take), the next read runs
    /// it again. `init` may itself use other `Local`s.
    pub fn with_init(init: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Local { init: Some(Arc::new(init)), ..Self::new() }
    }

    fn is_bound(&self) -> bool {
        SLOTS.with(|s| s.borrow().get(self.id).is_some_and(|v| v.as_ref().is_some_and(|b| b.is::<T>())))
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

    /// Calls `f` with this thread's value, `None` if this thread never set one (and the local
    /// has no initializer).
    pub fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        if let Some(init) = &self.init
            && !self.is_bound()
        {
            // Run outside the table's borrow: the initializer may use other locals.
            let value = init();
            self.set(value);
        }
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
    fn the_initializer_runs_once_in_each_thread_that_reads() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let local = Arc::new(Local::with_init(move || {
            r.fetch_add(1, Ordering::SeqCst);
            crate::thread::current_name()
        }));
        let here = crate::thread::current_name();
        assert_eq!(local.get(), Some(here.clone()));
        assert_eq!(local.get(), Some(here));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let l = local.clone();
        let there = crate::thread::Builder::new()
            .name("Worker")
            .spawn(move || (l.get(), l.take(), l.with(|v| v.cloned())))
            .expect("spawn")
            .join()
            .expect("join");
        let worker = Some("Worker".to_string());
        assert_eq!(there, (worker.clone(), worker.clone(), worker), "take, then a read runs it again");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        local.set("set".into());
        assert_eq!(local.get().as_deref(), Some("set"), "a set value wins");
    }

    #[test]
    fn an_initializer_may_read_another_local() {
        let base = Arc::new(Local::with_init(|| 20));
        let b = base.clone();
        let derived = Local::with_init(move || b.get().unwrap_or_default() + 1);
        assert_eq!(derived.get(), Some(21));
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
