//! Ported from CPython's `_test_multiprocessing.py` (queues and connections: `_TestQueue`,
//! `_TestConnection`, `_TestPoll`).

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use procthread::{
    ChannelError, Entry, JoinableQueue, PipeEnd, Process, Queue, Registry, StartMethod, pipe, pipe_oneway,
};

use crate::case::{Case, Run, check, check_eq};

/// Generous: the machine is loaded while the suite runs.
const LONG: Duration = Duration::from_secs(30);

/// `_TestQueue._test_put`: waits for the go-ahead, then takes the six items.
static TAKE_SIX: Entry<(Queue, Queue)> = Entry::new("cpython::queue::take_six", |(go, q)| {
    let _: () = go.get().expect("go-ahead");
    for _ in 0..6 {
        let _: i32 = q.get_timeout(LONG).expect("item");
    }
});
/// `_TestQueue._test_get`: puts 2, 3, 4, 5 once told to.
static PUT_FOUR: Entry<(Queue, Queue)> = Entry::new("cpython::queue::put_four", |(go, q)| {
    let _: () = go.get().expect("go-ahead");
    for i in 2..6 {
        q.put(&i).expect("put");
    }
});
/// `_TestQueue._test_fork`: puts 10..20 and exits at once (its feeder, if any, is joined).
static PUT_TEN_MORE: Entry<Queue> = Entry::new("cpython::queue::put_ten_more", |q| {
    for i in 10..20 {
        q.put(&i).expect("put");
    }
});
/// `_TestQueue._test_task_done`: takes items until `None`, marking each done.
static WORKER: Entry<JoinableQueue> = Entry::new("cpython::queue::worker", |q| {
    while let Some(_n) = q.get::<Option<i32>>().expect("get") {
        q.task_done().expect("task_done");
    }
    q.task_done().expect("task_done of the stop marker");
});
/// `_TestConnection._echo`: echoes raw messages until the sentinel.
static ECHO: Entry<PipeEnd> = Entry::new("cpython::queue::echo", |conn| {
    loop {
        match conn.recv_bytes(None) {
            Ok(msg) if msg == SENTINEL => return,
            Ok(msg) => conn.send_bytes(&msg, 0, None).expect("echo"),
            Err(_) => return,
        }
    }
});
/// `_TestPoll._child_strings`: sends each string after a short pause.
static CHILD_STRINGS: Entry<(PipeEnd, Vec<Vec<u8>>)> = Entry::new("cpython::queue::child_strings", |(conn, ss)| {
    for s in ss {
        std::thread::sleep(Duration::from_millis(20));
        conn.send_bytes(&s, 0, None).expect("send");
    }
});
/// `_TestPoll._child_boundaries`: polls a one-way pipe's receiving end (a poll must not take
/// part of a message away from other readers).
static CHILD_BOUNDARIES: Entry<PipeEnd> = Entry::new("cpython::queue::child_boundaries", |r| {
    let _ = r.poll(Some(Duration::from_secs(2)));
});
/// `_TestPoll._child_dont_merge`.
static CHILD_DONT_MERGE: Entry<PipeEnd> = Entry::new("cpython::queue::child_dont_merge", |b| {
    for m in [&b"a"[..], b"b", b"cd"] {
        b.send_bytes(m, 0, None).expect("send");
    }
});
/// `_TestConnection._test_spawn_close` analogue: sends one value and closes its end.
static SEND_ONE: Entry<PipeEnd> = Entry::new("cpython::queue::send_one", |conn| {
    conn.send_bytes(b"x", 0, None).expect("send");
});

const SENTINEL: &[u8] = b"";

/// Entry points and tasks the children of these cases run.
pub static REGISTRY: Registry = &[
    &TAKE_SIX,
    &PUT_FOUR,
    &PUT_TEN_MORE,
    &WORKER,
    &ECHO,
    &CHILD_STRINGS,
    &CHILD_BOUNDARIES,
    &CHILD_DONT_MERGE,
    &SEND_ONE,
];

fn case(class: &'static str, test: &'static str, checks: &'static str, run: Run) -> Case {
    Case { file: "_test_multiprocessing.py", class, test, checks, difference: None, run }
}

pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        case(
            "_TestQueue",
            "test_put",
            "a queue of maxsize 6: put, put_nowait, put with timeout; qsize, empty, full; Full on the 7th by every form; a child takes all",
            Run::PerMethod(test_put),
        ),
        case(
            "_TestQueue",
            "test_get",
            "a child's puts: get, get with timeout, get_nowait; empty and qsize along the way; Empty on an empty queue by every form",
            Run::PerMethod(test_get),
        ),
        case(
            "_TestQueue",
            "test_fork",
            "a child started after the parent put (and fed) items: both producers' items arrive whole, each in order; then Empty",
            Run::PerMethod(test_fork),
        ),
        case("_TestQueue", "test_qsize", "qsize counts puts and gets", Run::Once(test_qsize)),
        case(
            "_TestQueue",
            "test_task_done",
            "JoinableQueue: worker processes mark every item done, join returns",
            Run::PerMethod(test_task_done),
        ),
        case(
            "_TestQueue",
            "test_timeout",
            "get with a timeout on an empty queue: Empty after the timeout",
            Run::Once(test_timeout),
        ),
        case(
            "_TestQueue",
            "test_closed_queue_put_get_exceptions",
            "put and get on a closed queue are errors",
            Run::Once(test_closed_queue_put_get_exceptions),
        ),
        case(
            "_TestQueue",
            "test_queue_feeder_donot_stop_onexc",
            "a value that cannot be encoded: the queue goes on (the next value arrives), and with a maxsize of 1 it takes no room",
            Run::Once(test_queue_feeder_donot_stop_onexc),
        ),
        case(
            "_TestConnection",
            "test_connection",
            "an echo child: send/recv, send_bytes/recv_bytes, recv_bytes_into at an offset, BufferTooShort carrying the message, poll timing, a 16 MiB message, EOF",
            Run::PerMethod(test_connection),
        ),
        case(
            "_TestConnection",
            "test_duplex_false",
            "a one-way pipe: readable/writable, the wrong direction is an error",
            Run::Once(test_duplex_false),
        ),
        case(
            "_TestConnection",
            "test_spawn_close",
            "the parent closes the child's end right after start; the child still sends",
            Run::PerMethod(test_spawn_close),
        ),
        case(
            "_TestConnection",
            "test_sendbytes",
            "send_bytes with offset and size; out-of-range bounds are errors",
            Run::Once(test_sendbytes),
        ),
        case(
            "_TestPoll",
            "test_empty_string",
            "poll sees an empty message, and seeing it does not consume it",
            Run::Once(test_empty_string),
        ),
        case(
            "_TestPoll",
            "test_strings",
            "a child's strings, empty ones included, arrive one by one through poll",
            Run::PerMethod(test_strings),
        ),
        case(
            "_TestPoll",
            "test_boundaries",
            "a child polling a shared receiving end takes no part of a message",
            Run::PerMethod(test_boundaries),
        ),
        case(
            "_TestPoll",
            "test_dont_merge",
            "three sends stay three messages; poll answers each",
            Run::PerMethod(test_dont_merge),
        ),
    ];
    for c in &mut cases {
        if c.test == "test_qsize" {
            c.difference =
                Some("CPython raises NotImplementedError on macOS; the count here is in shared memory on every OS");
        }
        if c.test == "test_queue_feeder_donot_stop_onexc" {
            c.difference = Some(
                "CPython's feeder thread prints the pickling error and drops the value; here `put` encodes the value itself and returns the error (`ChannelError::Codec`)",
            );
        }
        if c.test == "test_boundaries" {
            c.difference = Some("CPython's child polls for 5 s after a 2 s pause; here 2 s, the parent writes at once");
        }
    }
    cases
}

fn start<A>(entry: &'static Entry<A>, args: A, method: StartMethod) -> Result<Process, Failed>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let mut p = Process::new(entry, args).start_method(method);
    p.start()?;
    Ok(p)
}

fn is_full(r: Result<(), ChannelError>) -> bool {
    matches!(r, Err(ChannelError::Full { .. }))
}

fn is_empty<T>(r: Result<T, ChannelError>) -> bool {
    matches!(r, Err(ChannelError::Empty(_)))
}

fn test_put(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::with_maxsize(6)?;
    let go = Queue::new()?;
    let child = start(&TAKE_SIX, (go.clone(), q.clone()), method)?;
    q.put(&1)?;
    q.put_timeout(&2, LONG)?;
    q.put_nowait(&3)?;
    q.put_timeout(&4, Duration::from_millis(100))?;
    q.put_nowait(&5)?;
    q.put(&6)?;
    check(!q.empty()?, "not empty")?;
    check(q.full(), "full")?;
    check_eq(q.qsize(), 6, "qsize")?;
    check(is_full(q.put_nowait(&7)), "put_nowait on a full queue")?;
    let t = Instant::now();
    check(is_full(q.put_timeout(&7, Duration::from_millis(100))), "put with a timeout")?;
    check(t.elapsed() >= Duration::from_millis(100), "waited the timeout")?;
    go.put(&())?;
    check_eq(child.join()?, 0, "the child took all six")?;
    check_eq(q.qsize(), 0, "qsize after")?;
    check(q.empty()?, "empty after")?;
    check(!q.full(), "not full after")?;
    Ok(())
}

fn test_get(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    let go = Queue::new()?;
    let child = start(&PUT_FOUR, (go.clone(), q.clone()), method)?;
    check(q.empty()?, "empty before")?;
    go.put(&())?;
    check_eq(q.get_timeout::<i32>(LONG)?, 2, "get")?;
    check_eq(q.get_timeout::<i32>(LONG)?, 3, "get with timeout")?;
    child.join()?;
    let t = Instant::now();
    while q.qsize() < 2 && t.elapsed() < LONG {
        std::thread::sleep(Duration::from_millis(5));
    }
    check_eq(q.get_nowait::<i32>()?, 4, "get_nowait")?;
    check_eq(q.get_timeout::<i32>(Duration::from_millis(100))?, 5, "get with a short timeout")?;
    check(q.empty()?, "empty after")?;
    check(is_empty(q.get_nowait::<i32>()), "get_nowait on an empty queue")?;
    check(is_empty(q.get_timeout::<i32>(Duration::from_millis(50))), "get with a timeout on an empty queue")?;
    Ok(())
}

fn test_fork(method: StartMethod) -> Result<(), Failed> {
    let q = Queue::new()?;
    for i in 0..10 {
        q.put(&i)?;
    }
    // Let a feeder the puts may have started finish, so that fork sees one thread.
    std::thread::sleep(Duration::from_millis(100));
    let child = start(&PUT_TEN_MORE, q.clone(), method)?;
    check_eq(child.join()?, 0, "the child's exit code")?;
    let mut got: Vec<i32> = Vec::new();
    for _ in 0..20 {
        got.push(q.get_timeout(LONG)?);
    }
    let parent: Vec<i32> = got.iter().copied().filter(|&i| i < 10).collect();
    let child_items: Vec<i32> = got.iter().copied().filter(|&i| i >= 10).collect();
    check_eq(parent, (0..10).collect(), "the parent's items, in order")?;
    check_eq(child_items, (10..20).collect(), "the child's items, in order")?;
    check(is_empty(q.get_timeout::<i32>(Duration::from_millis(100))), "nothing more")?;
    Ok(())
}

fn test_qsize() -> Result<(), Failed> {
    let q = Queue::new()?;
    check_eq(q.qsize(), 0, "qsize of a new queue")?;
    q.put(&1)?;
    check_eq(q.qsize(), 1, "after a put")?;
    q.put(&5)?;
    check_eq(q.qsize(), 2, "after two puts")?;
    q.get::<i32>()?;
    check_eq(q.qsize(), 1, "after a get")?;
    q.get::<i32>()?;
    check_eq(q.qsize(), 0, "after two gets")?;
    Ok(())
}

fn test_task_done(method: StartMethod) -> Result<(), Failed> {
    let q = JoinableQueue::new()?;
    let mut workers = Vec::new();
    for _ in 0..4 {
        workers.push(start(&WORKER, q.clone(), method)?);
    }
    for i in 0..10 {
        q.put(&Some(i))?;
    }
    check(q.join_timeout(LONG), "join returned: every item marked done")?;
    for _ in &workers {
        q.put(&None::<i32>)?;
    }
    for w in workers {
        check_eq(w.join()?, 0, "a worker's exit code")?;
    }
    check(matches!(q.task_done(), Err(ChannelError::TaskDoneTooManyTimes)), "one task_done too many")?;
    Ok(())
}

fn test_timeout() -> Result<(), Failed> {
    let q = Queue::new()?;
    let t = Instant::now();
    check(is_empty(q.get_timeout::<i32>(Duration::from_millis(200))), "Empty")?;
    check(t.elapsed() >= Duration::from_millis(100), "waited at least the timeout's half (CPython's check)")?;
    Ok(())
}

fn test_closed_queue_put_get_exceptions() -> Result<(), Failed> {
    let q = Queue::new()?;
    q.close();
    check(matches!(q.put("foo"), Err(ChannelError::Closed)), "put on a closed queue")?;
    check(matches!(q.get::<String>(), Err(ChannelError::Closed)), "get on a closed queue")?;
    Ok(())
}

/// A value whose encoding fails, as CPython's object whose `__reduce__` raises.
struct NotSerializable;

impl serde::Serialize for NotSerializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value cannot be serialized"))
    }
}

fn test_queue_feeder_donot_stop_onexc() -> Result<(), Failed> {
    let q = Queue::new()?;
    check(matches!(q.put(&NotSerializable), Err(ChannelError::Codec(_))), "the value is refused at put")?;
    q.put(&true)?;
    check(q.get_timeout::<bool>(LONG)?, "the next value arrives")?;
    // The refused value must not keep its place in a bounded queue's count.
    let q = Queue::with_maxsize(1)?;
    check(q.put(&NotSerializable).is_err(), "refused in a bounded queue too")?;
    q.put(&true)?;
    check_eq(q.qsize(), 1, "qsize after the refused value and one put")?;
    check(q.get_timeout::<bool>(LONG)?, "the value arrives")?;
    check(q.empty()?, "empty afterwards")?;
    Ok(())
}

fn test_connection(method: StartMethod) -> Result<(), Failed> {
    let (conn, child_conn) = pipe()?;
    let mut p = Process::new(&ECHO, child_conn).start_method(method).daemon(true);
    p.start()?;
    // `recv`/`send` carry values: the echo child passes raw messages back unchanged.
    let seq = (1, 2.25, None::<i32>);
    conn.send(&seq)?;
    check_eq(conn.recv::<(i32, f64, Option<i32>)>()?, seq, "a value")?;
    let msg = b"hello world";
    conn.send_bytes(msg, 0, None)?;
    check_eq(conn.recv_bytes(None)?, msg.to_vec(), "raw bytes")?;
    let arr: Vec<u8> = [0i32, 1, 2, 3].iter().flat_map(|i| i.to_ne_bytes()).collect();
    let mut buffer = [0u8; 40];
    conn.send_bytes(&arr, 0, None)?;
    check_eq(conn.recv_bytes_into(&mut buffer, 0)?, 16, "recv_bytes_into")?;
    check_eq(&buffer[..16], &arr[..], "the bytes")?;
    let mut buffer = [0u8; 40];
    conn.send_bytes(&arr, 0, None)?;
    check_eq(conn.recv_bytes_into(&mut buffer, 12)?, 16, "recv_bytes_into at an offset")?;
    check_eq(&buffer[12..28], &arr[..], "the bytes at the offset")?;
    check(buffer[..12].iter().chain(&buffer[28..]).all(|&b| b == 0), "the rest untouched")?;
    let longmsg = msg.repeat(10);
    conn.send_bytes(&longmsg, 0, None)?;
    match conn.recv_bytes_into(&mut [b' '; 40], 0) {
        Err(ChannelError::BufferTooShort { message, .. }) => check_eq(message, longmsg, "the message in the error")?,
        other => return Err(format!("expected BufferTooShort, got {other:?}").into()),
    }
    let t = Instant::now();
    check(!conn.poll(None)?, "poll() of nothing")?;
    check(t.elapsed() < Duration::from_secs(1), "poll() answers at once")?;
    let t = Instant::now();
    check(!conn.poll(Some(Duration::from_millis(100)))?, "poll(0.1) of nothing")?;
    check(t.elapsed() >= Duration::from_millis(100), "poll(0.1) waits")?;
    conn.send(&None::<i32>)?;
    check(conn.poll(Some(LONG))?, "poll sees the echo")?;
    check_eq(conn.recv::<Option<i32>>()?, None, "None")?;
    let really_big = vec![b'X'; 16 << 20];
    let conn = conn.with_limit(17 << 20);
    conn.send_bytes(&really_big, 0, None)?;
    check(conn.recv_bytes(None)? == really_big, "a 16 MiB message")?;
    conn.send_bytes(SENTINEL, 0, None)?;
    check_eq(p.join()?, 0, "the echo's exit code")?;
    check(conn.readable() && conn.writable(), "a duplex end reads and writes")?;
    check(matches!(conn.recv::<i32>(), Err(ChannelError::Eof)), "EOF on recv")?;
    check(matches!(conn.recv_bytes(None), Err(ChannelError::Eof)), "EOF on recv_bytes")?;
    Ok(())
}

fn test_duplex_false() -> Result<(), Failed> {
    let (reader, writer) = pipe_oneway()?;
    writer.send(&1)?;
    check_eq(reader.recv::<i32>()?, 1, "recv")?;
    check_eq((reader.readable(), reader.writable()), (true, false), "the reader's directions")?;
    check_eq((writer.readable(), writer.writable()), (false, true), "the writer's directions")?;
    check(matches!(reader.send(&2), Err(ChannelError::WrongDirection(_))), "send on the reader")?;
    check(matches!(writer.recv::<i32>(), Err(ChannelError::WrongDirection(_))), "recv on the writer")?;
    check(matches!(writer.poll(None), Err(ChannelError::WrongDirection(_))), "poll on the writer")?;
    Ok(())
}

fn test_spawn_close(method: StartMethod) -> Result<(), Failed> {
    let (conn, child_conn) = pipe()?;
    let kept = child_conn.try_clone()?;
    let p = start(&SEND_ONE, child_conn, method)?;
    kept.close();
    check_eq(conn.recv_bytes(None)?, b"x".to_vec(), "the child's message")?;
    check_eq(p.join()?, 0, "exit code")?;
    check(matches!(conn.recv_bytes(None), Err(ChannelError::Eof)), "EOF once every copy is closed")?;
    Ok(())
}

fn test_sendbytes() -> Result<(), Failed> {
    let (a, b) = pipe()?;
    let msg: Vec<u8> = (0..=255).collect();
    a.send_bytes(&msg, 0, None)?;
    check_eq(b.recv_bytes(None)?, msg.clone(), "whole")?;
    a.send_bytes(&msg, 5, None)?;
    check_eq(b.recv_bytes(None)?, msg[5..].to_vec(), "from an offset")?;
    a.send_bytes(&msg, 7, Some(8))?;
    check_eq(b.recv_bytes(None)?, msg[7..15].to_vec(), "offset and size")?;
    a.send_bytes(&msg, 256, None)?;
    check_eq(b.recv_bytes(None)?, Vec::new(), "offset at the end")?;
    a.send_bytes(&msg, 256, Some(0))?;
    check_eq(b.recv_bytes(None)?, Vec::new(), "empty at the end")?;
    for (offset, size) in [(257, None), (0, Some(257)), (256, Some(1)), (usize::MAX, None), (1, Some(usize::MAX))] {
        check(
            matches!(a.send_bytes(&msg, offset, size), Err(ChannelError::Bounds { .. })),
            format!("bounds error for offset {offset} size {size:?}"),
        )?;
    }
    check(!b.poll(None)?, "the refused sends wrote nothing")?;
    Ok(())
}

fn test_empty_string() -> Result<(), Failed> {
    let (a, b) = pipe()?;
    check(!a.poll(None)?, "nothing yet")?;
    b.send_bytes(b"", 0, None)?;
    check(a.poll(None)?, "an empty message is there")?;
    check(a.poll(None)?, "still there after a poll")?;
    Ok(())
}

fn test_strings(method: StartMethod) -> Result<(), Failed> {
    let strings: Vec<Vec<u8>> =
        [&b"hello"[..], b"", b"a", b"b", b"", b"bye", b"", b"lop"].iter().map(|s| s.to_vec()).collect();
    let (a, b) = pipe()?;
    let p = start(&CHILD_STRINGS, (b, strings.clone()), method)?;
    for s in &strings {
        for _ in 0..3000 {
            if a.poll(Some(Duration::from_millis(10)))? {
                break;
            }
        }
        check_eq(&a.recv_bytes(None)?, s, "the next string")?;
    }
    check_eq(p.join()?, 0, "exit code")?;
    Ok(())
}

fn test_boundaries(method: StartMethod) -> Result<(), Failed> {
    let (r, w) = pipe_oneway()?;
    let p = start(&CHILD_BOUNDARIES, r.try_clone()?, method)?;
    let l = [b"first".to_vec(), b"second".to_vec()];
    for m in &l {
        w.send_bytes(m, 0, None)?;
    }
    w.close();
    check_eq(p.join()?, 0, "exit code")?;
    let got = r.recv_bytes(None)?;
    check(l.contains(&got), format!("a whole message, got {got:?}"))?;
    Ok(())
}

fn test_dont_merge(method: StartMethod) -> Result<(), Failed> {
    let (a, b) = pipe()?;
    check(!a.poll(Some(Duration::ZERO))?, "poll(0.0) of nothing")?;
    check(!a.poll(Some(Duration::from_millis(100)))?, "poll(0.1) of nothing")?;
    let p = start(&CHILD_DONT_MERGE, b, method)?;
    check_eq(a.recv_bytes(None)?, b"a".to_vec(), "first")?;
    check(a.poll(Some(LONG))?, "poll")?;
    check(a.poll(Some(LONG))?, "poll again")?;
    check_eq(a.recv_bytes(None)?, b"b".to_vec(), "second")?;
    check(a.poll(Some(LONG))?, "poll")?;
    check(a.poll(Some(LONG))?, "poll again")?;
    check(a.poll(Some(Duration::ZERO))?, "poll(0.0)")?;
    check_eq(a.recv_bytes(None)?, b"cd".to_vec(), "third")?;
    check_eq(p.join()?, 0, "exit code")?;
    Ok(())
}
