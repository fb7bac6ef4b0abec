"""Distributed processes: `serve`, `connect` and remote queues with a `BaseManager`.

As the chapter's master does: a `QueueManager` registers one `get_NAME` per queue, binds to an
address with an authkey, and `start()`s its server (a process of its own). Clients make a
`QueueManager` with the same address and their key, `connect()`, and call `get_NAME()` for a proxy
of the queue. A wrong key is refused with `multiprocessing.AuthenticationError`.

The chapter's master and workers know the address in advance; in a scenario the server binds to
a free loopback port, and the address reaches the clients through a rendezvous queue of the run.
"""

import functools
import multiprocessing
import queue
from multiprocessing.managers import BaseManager

from . import hosts
from .errors import AUTH_REFUSED, TIMEOUT, StepError


class QueueManager(BaseManager):
    """The chapter's manager class: queues registered by name."""


# The queues a server process serves, made on first use; lives in the server process.
_served = {}


def served_queue(name):
    return _served.setdefault(name, queue.Queue())


def spec(actor, manager):
    resource = actor.world.config.scenario.resources.get(manager)
    if resource is None or resource["kind"] != "manager":
        raise actor.unavailable(manager)
    return resource["queues"], resource["authkey"]


def serve(actor, manager):
    """Starts the manager's server and leaves its address for the clients."""
    names, authkey = spec(actor, manager)
    for name in names:
        # A module-level function (not a lambda), so that a spawned server process can unpickle it.
        QueueManager.register("get_" + name, callable=functools.partial(served_queue, name))
    ctx = actor.world.config.context() or multiprocessing.get_context()
    # On its host's address (the server process starts in this process's host).
    server = QueueManager(address=(hosts.bind_address(), 0), authkey=authkey.encode(), ctx=ctx)
    server.start()
    rendezvous = actor.world.rendezvous.get(manager)
    if rendezvous is None:
        raise actor.unavailable(manager)
    rendezvous.put(server.address)
    actor.servers[manager] = server


def connect(actor, manager, authkey=None):
    """Connects to a served manager with the resource's key, or with `authkey`."""
    names, default_key = spec(actor, manager)
    rendezvous = actor.world.rendezvous.get(manager)
    if rendezvous is None:
        raise actor.unavailable(manager)
    # Wait until the manager is served; leave its address for the next client.
    address = rendezvous.get()
    rendezvous.put(address)
    for name in names:
        QueueManager.register("get_" + name)
    key = default_key if authkey is None else authkey
    client = QueueManager(address=tuple(address), authkey=key.encode())
    try:
        client.connect()
    except multiprocessing.AuthenticationError as e:
        raise StepError(f"the manager refused the key: {e}", AUTH_REFUSED) from None
    actor.clients[manager] = client


def remote_queue(actor, manager, name):
    """A proxy of a served queue: from the server this actor runs, or as a client (connecting
    on first use)."""
    proxy = actor.remote.get((manager, name))
    if proxy is None:
        owner = actor.servers.get(manager)
        if owner is None:
            if manager not in actor.clients:
                connect(actor, manager)
            owner = actor.clients[manager]
        proxy = actor.remote[(manager, name)] = getattr(owner, "get_" + name)()
    return proxy


def remote_get(actor, manager, name, timeout):
    """`get` on a served queue: the proxy raises the server's `queue.Empty` at the timeout."""
    try:
        return remote_queue(actor, manager, name).get(True, timeout)
    except queue.Empty:
        ms = None if timeout is None else round(timeout * 1000)
        raise StepError(f"empty: nothing arrived within {ms} ms", TIMEOUT) from None


def shutdown(actor, manager):
    """Stops serving; from a client, asks the server to stop."""
    server = actor.servers.pop(manager, None)
    if server is not None:
        drop_proxies(actor, manager)
        server.shutdown()
        return
    if manager not in actor.clients:
        connect(actor, manager)
    client = actor.clients.pop(manager)
    drop_proxies(actor, manager)
    # BaseManager has no public call for this: a client sends the server its `shutdown` request.
    from multiprocessing.managers import dispatch

    conn = client._Client(client._address, authkey=client._authkey)
    try:
        dispatch(conn, None, "shutdown")
    finally:
        conn.close()


def drop_proxies(actor, manager):
    for key in [k for k in actor.remote if k[0] == manager]:
        del actor.remote[key]


def stop_servers(actor):
    """At the end of an actor: the servers it still runs stop."""
    for manager in list(actor.servers):
        shutdown(actor, manager)
    actor.remote.clear()
