//! Queues, pipe ends, managers and subprocesses, as one actor uses them.

use std::time::Duration;

use procthread::manager::{Client, Manager};
use procthread::{ManagerError, PipeEnd, Process, StartMethod};
use procthread_scenario::{Backend, ErrorKind, QueueRef, ResourceKind};
use serde_json::Value;

use super::actor::{Actor, StepErr};
use super::launch::{SERVE, ServeLaunch};
use super::prims::{QueueRt, channel};
use crate::events::EventKind;

/// A manager this actor serves: in its own process on the fork backend (its threads would keep
/// this actor from forking again), in this process elsewhere.
pub(crate) enum Server {
    Here(Manager),
    Process(Box<Process>),
}

pub(crate) fn queue_name(q: &QueueRef) -> String {
    match q {
        QueueRef::Local(q) => q.clone(),
        QueueRef::Remote { manager, queue } => format!("{manager}/{queue}"),
    }
}

fn manager_err(e: ManagerError) -> StepErr {
    remote_err(e, false)
}

/// `timed_get`: the error of a `get` with a timeout (no answer reads `timeout` there).
fn remote_err(e: ManagerError, timed_get: bool) -> StepErr {
    StepErr { kind: super::hosts::manager_error_kind(&e, timed_get), message: e.to_string() }
}

impl Actor {
    pub(crate) fn local_queue(&self, name: &str) -> Result<&QueueRt, StepErr> {
        self.world.queues.get(name).ok_or_else(|| self.unavailable(name))
    }

    pub(crate) fn put(&mut self, queue: &QueueRef, v: &Value, timeout: Option<Duration>) -> Result<(), StepErr> {
        match queue {
            QueueRef::Local(q) => self.local_queue(q)?.put(v, timeout),
            QueueRef::Remote { manager, queue } => {
                self.client(manager)?.queue(queue.clone()).put(v).map_err(manager_err)
            }
        }
    }

    pub(crate) fn get(&mut self, queue: &QueueRef, timeout: Option<Duration>) -> Result<Value, StepErr> {
        match queue {
            QueueRef::Local(q) => self.local_queue(q)?.get(timeout),
            QueueRef::Remote { manager, queue } => {
                self.client(manager)?.queue(queue.clone()).get(timeout).map_err(|e| remote_err(e, timeout.is_some()))
            }
        }
    }

    pub(crate) fn end(&self, pipe: &str, end: char) -> Result<&PipeEnd, StepErr> {
        self.ends.get(&(pipe.to_string(), end)).ok_or_else(|| {
            let owner = self.world.scenario.resource(pipe).and_then(|r| match &r.kind {
                ResourceKind::Pipe { a, b } => Some(if end == 'a' { a.clone() } else { b.clone() }),
                _ => None,
            });
            StepErr::kind(
                ErrorKind::Closed,
                format!(
                    "`{}` does not hold pipe end `{pipe}.{end}` (it belongs to actor `{}`, or was closed)",
                    self.instance,
                    owner.unwrap_or_default()
                ),
            )
        })
    }

    fn manager_spec(&self, m: &str) -> Result<(Vec<String>, String), StepErr> {
        match self.world.scenario.resource(m).map(|r| &r.kind) {
            Some(ResourceKind::Manager { queues, authkey, .. }) => Ok((queues.clone(), authkey.clone())),
            _ => Err(self.unavailable(m)),
        }
    }

    /// The manager's `peer_timeout_ms`, if the scenario sets one.
    fn peer_timeout(&self, m: &str) -> Option<Duration> {
        match self.world.scenario.resource(m).map(|r| &r.kind) {
            Some(ResourceKind::Manager { peer_timeout_ms: Some(ms), .. }) => {
                Some(Duration::from_millis(u64::from(*ms)))
            }
            _ => None,
        }
    }

    pub(crate) fn serve(&mut self, m: &str) -> Result<(), StepErr> {
        let (queues, key) = self.manager_spec(m)?;
        let peer_timeout = self.peer_timeout(m);
        let rendezvous = self.world.rendezvous.get(m).ok_or_else(|| self.unavailable(m))?.clone();
        let cannot = |e: String| StepErr::other(format!("cannot serve `{m}`: {e}"));
        if self.world.backend == Backend::Fork {
            let bind = super::hosts::bind_address();
            let launch = ServeLaunch { queues, authkey: key, rendezvous, bind, peer_timeout };
            let mut p = Process::new(&SERVE, launch).name(format!("{m}-server")).start_method(StartMethod::Spawn);
            p.start().map_err(|e| cannot(e.to_string()))?;
            self.servers.insert(m.to_string(), Server::Process(Box::new(p)));
            return Ok(());
        }
        let builder = queues.into_iter().fold(Manager::builder(), |b, q| b.queue(q)).authkey(key.into_bytes());
        let builder = builder.address(std::net::SocketAddr::new(super::hosts::bind_address(), 0));
        let builder = match peer_timeout {
            Some(t) => builder.peer_timeout(t),
            None => builder,
        };
        let server = builder.start().map_err(|e| cannot(e.to_string()))?;
        rendezvous.put(&server.address().to_string()).map_err(channel)?;
        self.servers.insert(m.to_string(), Server::Here(server));
        Ok(())
    }

    pub(crate) fn connect(&mut self, m: &str, key: Option<String>) -> Result<(), StepErr> {
        let (_, default_key) = self.manager_spec(m)?;
        let rendezvous = self.world.rendezvous.get(m).ok_or_else(|| self.unavailable(m))?;
        // Wait until the manager is served; leave its address for the next client.
        let address: String = rendezvous.get().map_err(channel)?;
        rendezvous.put(&address).map_err(channel)?;
        let key = key.unwrap_or(default_key);
        let builder = match self.peer_timeout(m) {
            Some(t) => Client::builder().peer_timeout(t),
            None => Client::builder(),
        };
        let client = builder.connect(address.as_str(), key.as_bytes()).map_err(manager_err)?;
        self.clients.insert(m.to_string(), client);
        Ok(())
    }

    fn client(&mut self, m: &str) -> Result<&Client, StepErr> {
        if !self.clients.contains_key(m) {
            self.connect(m, None)?;
        }
        self.clients.get(m).ok_or_else(|| StepErr::other("not connected"))
    }

    pub(crate) fn shutdown(&mut self, m: &str) -> Result<(), StepErr> {
        match self.servers.remove(m) {
            Some(Server::Here(server)) => {
                server.shutdown();
                Ok(())
            }
            Some(Server::Process(p)) => {
                self.client(m)?.shutdown().map_err(manager_err)?;
                self.clients.remove(m);
                p.join().map(|_| ()).map_err(|e| StepErr::other(e.to_string()))
            }
            None => self.client(m)?.shutdown().map_err(manager_err),
        }
    }

    /// At the actor's end: managers still served stop (a server process is asked, then reaped).
    pub(crate) fn stop_servers(&mut self) {
        let names: Vec<String> = self.servers.keys().cloned().collect();
        for m in names {
            if self.shutdown(&m).is_err()
                && let Some(Server::Process(p)) = self.servers.remove(&m)
            {
                let _ = p.kill();
                let _ = p.join();
            }
        }
    }

    pub(crate) fn run_tool(
        &mut self,
        argv: &[procthread_scenario::Template],
        stdin: Option<&procthread_scenario::Template>,
        timeout: Option<Duration>,
    ) -> Result<(), StepErr> {
        let args: Vec<String> = argv.iter().map(|a| crate::events::plain(&self.render(a))).collect();
        let exe = std::env::current_exe().map_err(|e| StepErr::other(e.to_string()))?;
        let mut full = vec![exe.to_string_lossy().into_owned(), "tool".to_string()];
        full.extend(args.iter().cloned());
        let input = stdin.map(|s| crate::events::plain(&self.render(s)));
        let done =
            procthread::subprocess::run(&full, input.as_deref().map(str::as_bytes), timeout).map_err(|e| match e {
                procthread::SubprocessError::Timeout { .. } => StepErr::kind(ErrorKind::Timeout, e.to_string()),
                other => StepErr::other(other.to_string()),
            })?;
        self.record(EventKind::Ran { argv: args, code: done.code });
        let out = String::from_utf8_lossy(&done.stdout).replace("\r\n", "\n");
        self.last = Value::from(out.trim_end_matches('\n'));
        Ok(())
    }
}
