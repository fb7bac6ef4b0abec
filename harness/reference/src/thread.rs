//! Named threads, like the chapter's `threading.Thread`: the main thread is `MainThread`, a
//! thread started without a name is `Thread-N`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use std::thread::JoinHandle;

static NEXT: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Builds a named thread; a thin layer over [`std::thread::Builder`].
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = self.name.unwrap_or_else(|| format!("Thread-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        std::thread::Builder::new().name(name.clone()).spawn(move || {
            NAME.with(|n| *n.borrow_mut() = Some(name));
            f()
        })
    }
}

/// Starts `f` on a new thread named `Thread-N`.
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// The current thread's name: its given name, `MainThread` for the main thread, or the name
/// std knows it by.
pub fn current_name() -> String {
    if let Some(name) = NAME.with(|n| n.borrow().clone()) {
        return name;
    }
    match std::thread::current().name() {
        Some("main") => "MainThread".to_string(),
        Some(other) => other.to_string(),
        None => format!("{:?}", std::thread::current().id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_given_and_defaulted() {
        let named = Builder::new().name("LoopThread").spawn(current_name).expect("spawn");
        assert_eq!(named.join().expect("join"), "LoopThread");
        let unnamed = spawn(current_name).join().expect("join");
        assert!(unnamed.starts_with("Thread-"), "{unnamed}");
    }
}
