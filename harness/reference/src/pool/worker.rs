//! A worker process: runs its initializer, then the chunks its pool sends, one at a time,
//! until the pool closes its end. Spawned workers start at [`WORKER_ENTRY`]; workers made by
//! the fork server call [`serve`] straight after the fork.

use std::io::{BufReader, PipeReader, PipeWriter, Write};

use serde::{Deserialize, Serialize};

use super::failure;
use super::protocol::{self, INIT_FAILED, Reply, SLACK};
use crate::entry::{self, Entry};
use crate::framing;
use crate::token::{Adopted, Exported};

/// The entry every spawned worker runs (registered by the crate itself).
pub(crate) static WORKER_ENTRY: Entry<WorkerBoot> = Entry::new("procthread::pool-worker", |boot| {
    let code = serve(boot.conn.reader, boot.conn.writer, boot.init.as_ref(), boot.limit);
    std::process::exit(code)
});

/// Exit code of a worker whose initializer failed.
pub(crate) const INIT_FAILED_EXIT: i32 = 3;
/// Exit code of a worker that received something that is not a request.
const PROTOCOL_EXIT: i32 = 4;

/// What a spawned worker is given.
#[derive(Serialize, Deserialize)]
pub(crate) struct WorkerBoot {
    pub(crate) conn: WorkerConn,
    pub(crate) init: Option<Init>,
    pub(crate) limit: usize,
}

/// The initializer a worker runs before any task (CPython's `initializer` and `initargs`): a
/// registered [`Entry`] and its arguments as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Init {
    pub(crate) entry: String,
    pub(crate) args: String,
}

/// The worker's ends of its two pipes: requests in, results out.
pub(crate) struct WorkerConn {
    pub(crate) reader: PipeReader,
    pub(crate) writer: PipeWriter,
}

impl Serialize for WorkerConn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Exported(crate::os::borrow(&self.reader)), Exported(crate::os::borrow(&self.writer))).serialize(s)
    }
}

impl<'de> Deserialize<'de> for WorkerConn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (r, w) = <(Adopted, Adopted)>::deserialize(d)?;
        Ok(WorkerConn { reader: PipeReader::from(r.0), writer: PipeWriter::from(w.0) })
    }
}

/// Runs the initializer; `Err` with what the pool should be told if it failed.
fn initialize(init: &Init) -> Result<(), String> {
    let Some(entry) = entry::lookup(&init.entry) else {
        return Err(format!("initializer {:?} is not registered in this program", init.entry));
    };
    match failure::run_captured(|| entry.call_json(&init.args)) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(msg)) => Err(msg),
        Err((_, remote)) => Err(remote),
    }
}

/// The worker's life: initializer, then requests until end-of-file. Returns the exit code.
pub(crate) fn serve(reader: PipeReader, writer: PipeWriter, init: Option<&Init>, limit: usize) -> i32 {
    if let Some(init) = init
        && let Err(msg) = initialize(init)
    {
        let msg = failure::cut(msg);
        let mut frame = Vec::with_capacity(msg.len() + 5);
        frame.extend_from_slice(&((msg.len() + 1) as u32).to_le_bytes());
        frame.push(INIT_FAILED);
        frame.extend_from_slice(msg.as_bytes());
        let _ = (&writer).write_all(&frame);
        return INIT_FAILED_EXIT;
    }
    let mut reader = BufReader::with_capacity(64 << 10, reader);
    let mut scratch = Vec::new();
    loop {
        // End-of-file (the pool closed our end) or a broken pipe: our work is done.
        let Ok(body) = framing::read_frame(&mut reader, limit + SLACK) else { return 0 };
        let Ok((name, items)) = protocol::parse_request(&body) else { return PROTOCOL_EXIT };
        let task = entry::lookup(name);
        let mut reply = Reply::new(&writer, limit);
        for item in items {
            let tag = match task {
                Some(t) => t.run_pool_item(item, &mut scratch, limit),
                None => protocol::failure(&mut scratch, &failure::WireFailure::UnknownTask(name.to_string())),
            };
            if reply.item(tag, &scratch).is_err() {
                return 0;
            }
        }
        if reply.flush().is_err() {
            return 0;
        }
    }
}
