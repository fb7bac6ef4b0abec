//! Fault points across processes: a child armed at a pipe or queue point dies (or pauses)
//! exactly there, and what the peer then sees; an arming holds only in the process that made it. Own `main`
//! (`harness = false`) so that a spawned child dispatches to its entry first.

use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use procthread::faultpoint::{self, Action, Arming, Point};
use procthread::{ChannelError, Entry, PipeEnd, Process, Queue, Registry, StartMethod, pipe};

/// Arms `point` for its `nth` hit with `action`, then sends `count` strings of `len` bytes.
static ARMED_SENDER: Entry<(PipeEnd, Point, u64, Action, u32, usize)> =
    Entry::new("armed_sender", |(end, point, nth, action, count, len)| {
        faultpoint::arm(Arming { point, nth, action, this_thread_only: false });
        for i in 0..count {
            end.send(&format!("{i}:{}", "x".repeat(len))).expect("send");
        }
    });

/// Arms `point` (kill at its first hit), then receives one value.
static ARMED_RECEIVER: Entry<(PipeEnd, Point)> = Entry::new("armed_receiver", |(end, point)| {
    faultpoint::arm(Arming { point, nth: 1, action: Action::Kill, this_thread_only: false });
    let _: Result<String, _> = end.recv();
});

/// Arms `point` for its `nth` hit with `action`, then puts `count` strings on the queue.
static ARMED_PUTTER: Entry<(Queue, Point, u64, Action, u32)> =
    Entry::new("armed_putter", |(q, point, nth, action, count)| {
        faultpoint::arm(Arming { point, nth, action, this_thread_only: false });
        for i in 0..count {
            q.put(&format!("m{i}")).expect("put");
        }
    });

/// Arms `queue.get.half` (kill at its first hit), then gets one value.
static ARMED_GETTER: Entry<Queue> = Entry::new("armed_getter", |q| {
    faultpoint::arm(Arming { point: Point::QueueGetHalf, nth: 1, action: Action::Kill, this_thread_only: false });
    let _: Result<String, _> = q.get_timeout(Duration::from_secs(60));
});

static REGISTRY: Registry = &[&ARMED_SENDER, &ARMED_RECEIVER, &ARMED_PUTTER, &ARMED_GETTER];

fn kill_code() -> i32 {
    if cfg!(windows) { -15 } else { -9 }
}

/// What the parent receives from an armed sender child, and how the child ended.
fn from_sender(
    method: StartMethod,
    point: Point,
    nth: u64,
    action: Action,
    count: u32,
    len: usize,
) -> Result<(Vec<String>, ChannelError, i32), Failed> {
    let (mine, theirs) = pipe()?;
    let mut p = Process::new(&ARMED_SENDER, (theirs, point, nth, action, count, len)).start_method(method);
    p.start()?;
    let mut got = Vec::new();
    let end = loop {
        match mine.recv_timeout::<String>(Duration::from_secs(60)) {
            Ok(v) => got.push(v),
            Err(e) => break e,
        }
    };
    let code = p.join()?;
    Ok((got, end, code))
}

fn killed_before_writing_leaves_whole_messages_then_eof(method: StartMethod) -> Result<(), Failed> {
    let (got, end, code) = from_sender(method, Point::PipeSendBegin, 3, Action::Kill, 5, 10)?;
    assert_eq!(got.len(), 2, "the first two messages arrived: {got:?}");
    assert!(matches!(end, ChannelError::Eof), "then EOF, nothing torn: {end}");
    assert_eq!(code, kill_code());
    Ok(())
}

fn killed_mid_message_leaves_a_truncated_one(method: StartMethod) -> Result<(), Failed> {
    for len in [10, 200_000] {
        let (got, end, code) = from_sender(method, Point::PipeSendHalf, 2, Action::Kill, 5, len)?;
        assert_eq!(got.len(), 1, "one whole message before the cut one ({len} bytes)");
        assert!(matches!(end, ChannelError::Truncated { .. }), "the cut message reads as truncated: {end}");
        assert_eq!(code, kill_code());
    }
    Ok(())
}

fn a_delay_mid_message_loses_nothing(method: StartMethod) -> Result<(), Failed> {
    let (got, end, code) = from_sender(method, Point::PipeSendHalf, 2, Action::Delay { ms: 50 }, 4, 1000)?;
    assert_eq!(got.len(), 4, "every message whole");
    assert!(got.iter().enumerate().all(|(i, v)| v.starts_with(&format!("{i}:")) && v.len() == 1002));
    assert!(matches!(end, ChannelError::Eof), "{end}");
    assert_eq!(code, 0);
    Ok(())
}

fn a_receiver_killed_mid_message_dies_there(method: StartMethod) -> Result<(), Failed> {
    let (mine, theirs) = pipe()?;
    let mut p = Process::new(&ARMED_RECEIVER, (theirs, Point::PipeRecvHalf)).start_method(method);
    p.start()?;
    // Where the pipe's buffer is smaller than the message (Windows), the send fails once the
    // receiver is gone mid-message: a broken pipe, which is what the sender must see.
    match mine.send(&"y".repeat(100_000)) {
        Ok(()) => {}
        Err(ChannelError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("send: {e}").into()),
    }
    assert_eq!(p.join()?, kill_code());
    Ok(())
}

/// What the parent gets from a queue after an armed putter child ended, and the child's end;
/// then checks that the queue still carries a value both ways.
fn from_putter(method: StartMethod, point: Point, nth: u64, action: Action) -> Result<(Vec<String>, i32), Failed> {
    let q = Queue::new()?;
    let mut p = Process::new(&ARMED_PUTTER, (q.clone(), point, nth, action, 4)).start_method(method);
    p.start()?;
    let code = p.join()?;
    let mut got = Vec::new();
    while let Ok(v) = q.get_timeout::<String>(Duration::from_millis(300)) {
        got.push(v);
    }
    q.put("after")?;
    assert_eq!(q.get_timeout::<String>(Duration::from_secs(60))?, "after", "the queue is still usable");
    Ok((got, code))
}

fn a_putter_killed_at_a_queue_point_loses_only_its_message_in_flight(method: StartMethod) -> Result<(), Failed> {
    for point in [Point::QueuePutBegin, Point::QueuePutHalf] {
        let (got, code) = from_putter(method, point, 3, Action::Kill)?;
        assert_eq!(got, ["m0", "m1"], "{point}: the two whole messages before it, nothing torn");
        assert_eq!(code, kill_code(), "{point}");
    }
    let (got, code) = from_putter(method, Point::QueuePutHalf, 2, Action::Delay { ms: 50 })?;
    assert_eq!((got, code), (vec!["m0".into(), "m1".into(), "m2".into(), "m3".into()], 0), "a delay loses nothing");
    Ok(())
}

fn a_getter_killed_before_releasing_leaves_its_message_to_the_next(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let mut p = Process::new(&ARMED_GETTER, q.clone()).start_method(method);
    p.start()?;
    q.put("taken by the dying getter")?;
    q.put("second")?;
    assert_eq!(p.join()?, kill_code());
    let first: String = q.get_timeout(Duration::from_secs(60))?;
    assert_eq!(first, "taken by the dying getter", "not lost: the next reader gets it");
    assert_eq!(q.get_timeout::<String>(Duration::from_secs(60))?, "second");
    Ok(())
}

/// A message larger than the ring streams through it in pieces: a getter killed with its first
/// piece taken loses that message, and the next reader skips the rest of it to the next one,
/// never seeing a torn value.
fn a_getter_killed_mid_stream_loses_only_that_message(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::with_buffer_size(64 << 10)?;
    let big = "b".repeat(200 << 10);
    let mut p = Process::new(&ARMED_GETTER, q.clone()).start_method(method);
    p.start()?;
    q.put(&big)?;
    q.put("after the big one")?;
    assert_eq!(p.join()?, kill_code(), "killed at its first hit: mid-message");
    let next: String = q.get_timeout(Duration::from_secs(60))?;
    assert_eq!(next, "after the big one", "the big message went with its reader, whole or not at all");
    q.put("still usable")?;
    assert_eq!(q.get_timeout::<String>(Duration::from_secs(60))?, "still usable");
    Ok(())
}

/// A child forked from an armed process shares its memory, the armed state included: it must
/// not fire there (the arming names the process that made it).
#[cfg(unix)]
fn a_forked_child_is_not_armed_by_its_parent() -> Result<(), Failed> {
    let (mine, theirs) = pipe()?;
    faultpoint::arm(Arming { point: Point::PipeSendBegin, nth: 1, action: Action::Kill, this_thread_only: false });
    let child = procthread::fork()?;
    match child {
        procthread::Fork::Child => {
            let code = if theirs.send("from the child").is_ok() { 0 } else { 3 };
            procthread::exit_child(code)
        }
        procthread::Fork::Parent(mut c) => {
            drop(theirs);
            let got: String = mine.recv()?;
            assert_eq!(got, "from the child");
            assert_eq!(c.wait()?, 0, "the child passed the point alive");
            assert!(faultpoint::is_armed() && faultpoint::hits() == 0, "the parent's arming is untouched");
            faultpoint::disarm();
            Ok(())
        }
    }
}

fn main() {
    procthread::dispatch(REGISTRY);
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let mut trials = Vec::new();
    type MethodTest = fn(StartMethod) -> Result<(), Failed>;
    let per_method: [(&str, MethodTest); 7] = [
        ("killed_before_writing_leaves_whole_messages_then_eof", killed_before_writing_leaves_whole_messages_then_eof),
        ("killed_mid_message_leaves_a_truncated_one", killed_mid_message_leaves_a_truncated_one),
        ("a_delay_mid_message_loses_nothing", a_delay_mid_message_loses_nothing),
        ("a_receiver_killed_mid_message_dies_there", a_receiver_killed_mid_message_dies_there),
        (
            "a_putter_killed_at_a_queue_point_loses_only_its_message_in_flight",
            a_putter_killed_at_a_queue_point_loses_only_its_message_in_flight,
        ),
        ("a_getter_killed_mid_stream_loses_only_that_message", a_getter_killed_mid_stream_loses_only_that_message),
        (
            "a_getter_killed_before_releasing_leaves_its_message_to_the_next",
            a_getter_killed_before_releasing_leaves_its_message_to_the_next,
        ),
    ];
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        for (name, f) in per_method {
            let trial = Trial::test(format!("{name}::{}", method.as_str()), move || f(method));
            trials.push(trial.with_ignored_flag(!method.is_available()));
        }
    }
    #[cfg(unix)]
    trials.push(Trial::test("a_forked_child_is_not_armed_by_its_parent", a_forked_child_is_not_armed_by_its_parent));
    libtest_mimic::run(&args, trials).exit();
}
