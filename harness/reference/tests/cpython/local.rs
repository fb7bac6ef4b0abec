//! Ported from CPython's `test_threading_local.py` (`ThreadLocalTest`, the C `_thread._local`).
//!
//! `Local<T>` holds one value per thread rather than attributes, so "an attribute set in one
//! thread" is the value set there, and a `local` subclass with an `__init__` is
//! `Local::with_init`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use libtest_mimic::Failed;
use procthread::{Event, Local};

use crate::case::{Case, Run, check, check_eq};

fn case(test: &'static str, checks: &'static str, f: fn() -> Result<(), Failed>) -> Case {
    Case {
        file: "test_threading_local.py",
        class: "ThreadLocalTest",
        test,
        checks,
        difference: None,
        run: Run::Once(f),
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            difference: Some(
                "every value is dropped when its thread ends; CPython may keep the last stopped thread's value alive (its test accepts n-1 or n)",
            ),
            ..case(
                "test_local_refs",
                "values set by 20, 50 and 100 short-lived threads are freed with their threads",
                local_refs,
            )
        },
        case(
            "test_derived",
            "with a slow per-thread initializer, each of ten threads reads back the value it set",
            derived,
        ),
        case(
            "test_derived_cycle_dealloc",
            "locals made after one was dropped hold nothing another thread set in the old one",
            derived_cycle_dealloc,
        ),
        case("test_threading_local", "a value set in one thread is absent in another", threading_local),
        case(
            "test_threading_local_subclass",
            "with an initializer, another thread sees its own initial value, not the value set elsewhere",
            threading_local_subclass,
        ),
    ]
}

/// What the threads store: counted alive, so that its release is visible.
struct Weakly;

fn local_refs() -> Result<(), Failed> {
    for n in [20, 50, 100] {
        let local = Arc::new(Local::<Arc<Weakly>>::new());
        let weaklist: Arc<std::sync::Mutex<Vec<Weak<Weakly>>>> = Arc::default();
        for _ in 0..n {
            let (local, weaklist) = (local.clone(), weaklist.clone());
            std::thread::spawn(move || {
                let weak = Arc::new(Weakly);
                weaklist.lock().expect("list").push(Arc::downgrade(&weak));
                local.set(weak);
            })
            .join()
            .map_err(|_| "thread panicked")?;
        }
        let weaklist = weaklist.lock().expect("list");
        check_eq(weaklist.len(), n, "values set")?;
        let dead = weaklist.iter().filter(|w| w.upgrade().is_none()).count();
        check_eq(dead, n, "values freed with their threads")?;
        local.set(Arc::new(Weakly)); // CPython's `local.someothervar = None`
        check_eq(weaklist.iter().filter(|w| w.upgrade().is_none()).count(), n, "still freed")?;
    }
    Ok(())
}

fn derived() -> Result<(), Failed> {
    let local = Arc::new(Local::<usize>::with_init(|| {
        std::thread::sleep(Duration::from_millis(10));
        usize::MAX
    }));
    let threads: Vec<_> = (0..10)
        .map(|i| {
            let local = local.clone();
            std::thread::spawn(move || {
                local.set(i);
                local.get()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        check_eq(t.join().map_err(|_| "thread panicked")?, Some(i), "the value this thread set")?;
    }
    Ok(())
}

fn derived_cycle_dealloc() -> Result<(), Failed> {
    let (e1, e2) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let locals: Arc<std::sync::OnceLock<Vec<Local<String>>>> = Arc::default();
    let passed = Arc::new(AtomicUsize::new(0));
    let (t_e1, t_e2, t_locals, t_passed) = (e1.clone(), e2.clone(), locals.clone(), passed.clone());
    let t = std::thread::spawn(move || {
        {
            let old = Local::<String>::new();
            old.set("bar".into());
        } // dropped: its slot is never given to another Local
        t_e1.set();
        t_e2.wait();
        let news = t_locals.get().expect("made by the main thread");
        if news.iter().all(|l| l.get().is_none()) {
            t_passed.store(1, Ordering::SeqCst);
        }
    });
    e1.wait();
    let _ = locals.set((0..10).map(|_| Local::new()).collect());
    e2.set();
    t.join().map_err(|_| "thread panicked")?;
    check(passed.load(Ordering::SeqCst) == 1, "new locals are empty")
}

/// CPython's `_test_one_class`: t1 sets x and waits; t2 must not see it.
fn one_class(obj: Arc<Local<String>>, unset: Option<String>) -> Result<(), Failed> {
    let (e1, e2) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let (o1, t_e1, t_e2) = (obj.clone(), e1.clone(), e2.clone());
    let t1 = std::thread::spawn(move || {
        o1.set("foo".into());
        t_e1.set();
        t_e2.wait();
    });
    e1.wait();
    let o2 = obj.clone();
    let seen = std::thread::spawn(move || o2.get()).join().map_err(|_| "thread panicked")?;
    e2.set();
    t1.join().map_err(|_| "thread panicked")?;
    check_eq(seen, unset, "what another thread sees")
}

fn threading_local() -> Result<(), Failed> {
    one_class(Arc::new(Local::new()), None)
}

fn threading_local_subclass() -> Result<(), Failed> {
    one_class(Arc::new(Local::with_init(|| "initial".to_string())), Some("initial".into()))
}
