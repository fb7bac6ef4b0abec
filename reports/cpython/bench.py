#!/usr/bin/env python3
"""CPython's side of the report: the same workloads as the Rust reference, done with
multiprocessing, threading and subprocess. `harness report` runs one operation per call:

    python3 bench.py OPERATION [--quick] [--pinned] [--exe PATH]

and reads a JSON list of series ({"label", "samples", optional "x"}) from stdout. Times are in
nanoseconds per operation, throughputs in messages per second, splits relative to sequential.
"""
import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.managers import BaseManager

UNIX = os.name == "posix"


def budget(quick):
    # As the Rust side's: many short samples, for the bootstrap intervals of the medians.
    return (15, 0.02) if quick else (31, 0.08)


def pick(quick, q, full):
    return q if quick else full


def time_per_op(op, quick, samples=None):
    n_samples, sample_time = budget(quick)
    n_samples = samples or n_samples
    start, warm = time.perf_counter(), 0
    while warm < 3 or time.perf_counter() - start < sample_time / 4:
        op()
        warm += 1
    per = (time.perf_counter() - start) / warm
    batch = max(1, int(sample_time / max(per, 1e-9)))
    out = []
    for _ in range(n_samples):
        t = time.perf_counter_ns()
        for _ in range(batch):
            op()
        out.append((time.perf_counter_ns() - t) / batch)
    return out


def noop(*_):
    return None


def identity(x):
    return x


def burn(n):
    x = 0x9E3779B9 ^ n
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def echo_queue(rx, tx):
    while True:
        msg = rx.get()
        if msg is None:
            return
        tx.put(msg)


def echo_pipe(conn):
    # A None ends the loop: with fork, this child also holds a copy of the parent's end, so
    # EOF alone would never come.
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(msg)


def flood(q, count):
    msg = "x" * 16
    for _ in range(count):
        q.put(msg)


def ctx():
    return mp.get_context("fork" if UNIX else "spawn")


def series(label, samples, x=None):
    s = {"label": label, "samples": samples}
    if x is not None:
        s["x"] = x
    return s


def echo_peer(target, args, thread):
    """The echo of a round trip: a process (fork where there is fork) or a thread of this one."""
    p = threading.Thread(target=target, args=args) if thread else ctx().Process(target=target, args=args)
    p.start()
    return p


def queue_rtt_at(size, quick, thread=False):
    c = ctx()
    rx, tx = c.Queue(), c.Queue()
    p = echo_peer(echo_queue, (rx, tx), thread)
    msg = "x" * size

    def op():
        rx.put(msg)
        tx.get()

    try:
        return time_per_op(op, quick)
    finally:
        rx.put(None)
        p.join()


def pipe_rtt_at(size, quick, thread=False):
    a, b = ctx().Pipe()
    p = echo_peer(echo_pipe, (b,), thread)
    if not thread:
        b.close()
    msg = "x" * size

    def op():
        a.send(msg)
        a.recv()

    try:
        return time_per_op(op, quick)
    finally:
        a.send(None)
        p.join()


class QueueManager(BaseManager):
    pass


_QUEUES = {}


def _register(names, serve):
    import queue

    for name in names:
        if serve:
            _QUEUES[name] = queue.Queue()
            QueueManager.register("get_" + name, callable=lambda name=name: _QUEUES[name])
        else:
            QueueManager.register("get_" + name)


def start_manager(names=("queue",)):
    """Serves one queue per name, each reached as get_<name>(), as the chapter registers them."""
    _register(names, serve=True)
    m = QueueManager(address=("127.0.0.1", 0), authkey=b"abc")
    m.start()
    return m


def client(address, names=("queue",)):
    _register(names, serve=False)
    c = QueueManager(address=address, authkey=b"abc")
    c.connect()
    return c


def manager_worker(address):
    cl = client(address, ("task_queue", "result_queue"))
    tasks, results = cl.get_task_queue(), cl.get_result_queue()
    while True:
        n = tasks.get()
        if n < 0:
            return
        results.put(n * n)


def force_nodelay():
    """Make every TCP socket of this process set TCP_NODELAY, as the reference does."""
    original = socket.socket.connect

    def connect(self, addr):
        original(self, addr)
        if self.family in (socket.AF_INET, socket.AF_INET6):
            self.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    socket.socket.connect = connect
    accept = socket.socket.accept

    def accepted(self):
        conn, addr = accept(self)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    socket.socket.accept = accepted


def run(op, quick, exe):
    c = ctx()
    if op == "thread_start_join":
        def f():
            t = threading.Thread(target=noop)
            t.start()
            t.join()
        return [series("cpython", time_per_op(f, quick))]
    if op in ("process_fork", "process_spawn"):
        method = "fork" if op == "process_fork" else "spawn"
        if method == "fork" and not UNIX:
            return []
        cc = mp.get_context(method)

        def f():
            p = cc.Process(target=noop)
            p.start()
            p.join()
        return [series("cpython", time_per_op(f, quick, samples=pick(quick, 5, 9) if method == "spawn" else None))]
    if op == "subprocess_trivial":
        return [series("cpython", time_per_op(lambda: subprocess.call([exe, "--exit-now"]), quick))]
    if op == "pool_chapter":
        out = []
        for method in (["fork"] if UNIX else []) + ["spawn"]:
            cc = mp.get_context(method)

            def f():
                pool = cc.Pool(4)
                rs = [pool.apply_async(identity, (i,)) for i in range(5)]
                pool.close()
                pool.join()
                [r.get() for r in rs]
            out.append(series("cpython-" + method, time_per_op(f, quick, samples=pick(quick, 5, 9))))
        return out
    if op == "queue_rtt":
        return [series("cpython", queue_rtt_at(16, quick)), series("cpython-threads", queue_rtt_at(16, quick, True))]
    if op == "pipe_rtt":
        return [series("cpython", pipe_rtt_at(16, quick)), series("cpython-threads", pipe_rtt_at(16, quick, True))]
    if op == "size_sweep":
        sizes = [16, 4096, 65536, 1 << 20] if quick else [16, 256, 4096, 65536, 1 << 20]
        out = []
        for s in sizes:
            out.append(series("cpython-queue", queue_rtt_at(s, quick), x=s))
            out.append(series("cpython-pipe", pipe_rtt_at(s, quick), x=s))
        return out
    if op == "queue_throughput":
        count = 20000 if quick else 100000
        out = []
        for _ in range(pick(quick, 9, 15)):
            q = c.Queue()
            t = time.perf_counter()
            p = c.Process(target=flood, args=(q, count))
            p.start()
            for _ in range(count):
                q.get()
            out.append(count / (time.perf_counter() - t))
            p.join()
        return [series("cpython", out)]
    if op == "lock_uncontended":
        lock = threading.Lock()

        def f():
            lock.acquire()
            lock.release()
        return [series("cpython", time_per_op(f, quick))]
    if op == "lock_contended":
        per = 20000 if quick else 100000
        lock = threading.Lock()
        out = []
        for _ in range(budget(quick)[0]):
            counter = [0]

            def work():
                for _ in range(per):
                    with lock:
                        counter[0] += 1
            ts = [threading.Thread(target=work) for _ in range(2)]
            t = time.perf_counter_ns()
            [x.start() for x in ts]
            [x.join() for x in ts]
            out.append((time.perf_counter_ns() - t) / (2 * per))
        return [series("cpython", out)]
    if op == "lock_contended_threads":
        per = 20000 if quick else 100000
        lock = threading.Lock()
        out = []
        for threads in (2, 4, 8):
            samples = []
            for _ in range(min(budget(quick)[0], 9)):
                def work():
                    for _ in range(per):
                        with lock:
                            pass
                ts = [threading.Thread(target=work) for _ in range(threads)]
                t = time.perf_counter_ns()
                [x.start() for x in ts]
                [x.join() for x in ts]
                samples.append((time.perf_counter_ns() - t) / (threads * per))
            out.append(series("cpython", samples, x=threads))
        return out
    if op == "balance_race":
        runs = 20 if quick else 80
        lost = 0
        for _ in range(runs):
            state = {"balance": 0}

            def change(n):
                for _ in range(100000):
                    state["balance"] = state["balance"] + n
                    state["balance"] = state["balance"] - n
            ts = [threading.Thread(target=change, args=(n,)) for n in (5, 8)]
            [x.start() for x in ts]
            [x.join() for x in ts]
            lost += state["balance"] != 0
        return [series("cpython", [100.0 * lost / runs])]
    if op == "local_rw":
        local = threading.local()
        counter = [0]

        def f():
            counter[0] += 1
            local.x = counter[0]
            return local.x
        return [series("cpython", time_per_op(f, quick))]
    if op == "cpu_split":
        chunk = 200000 if quick else 800000
        chunks = 8
        out = []
        for workers in (1, 2, 4):
            tr, pr = [], []
            pool = c.Pool(workers)
            for _ in range(pick(quick, 5, 7)):
                t = time.perf_counter()
                [burn(chunk) for _ in range(chunks)]
                base = time.perf_counter() - t
                t = time.perf_counter()
                ts = []
                per = chunks // workers
                for _ in range(workers):
                    th = threading.Thread(target=lambda: [burn(chunk) for _ in range(per)])
                    th.start()
                    ts.append(th)
                [th.join() for th in ts]
                tr.append((time.perf_counter() - t) / base)
                t = time.perf_counter()
                pool.map(burn, [chunk] * chunks)
                pr.append((time.perf_counter() - t) / base)
            pool.close()
            pool.join()
            out += [series("cpython-threads", tr, x=workers), series("cpython-processes", pr, x=workers)]
        return out
    if op == "pool_tiny_tasks":
        pool = c.Pool(2)
        try:
            return [series("cpython-pool", [t / 200 for t in time_per_op(lambda: pool.map(identity, range(200)), quick)])]
        finally:
            pool.close()
            pool.join()
    if op == "balance_loop":
        per = 100000 if quick else 400000
        out = {"cpython-locked": [], "cpython-unlocked": []}
        for _ in range(pick(quick, 5, 9)):
            for locked in (True, False):
                state = {"balance": 0}
                lock = threading.Lock()

                def change(n, locked=locked, state=state, lock=lock):
                    for _ in range(per):
                        if locked:
                            lock.acquire()
                        state["balance"] = state["balance"] + n
                        state["balance"] = state["balance"] - n
                        if locked:
                            lock.release()
                ts = [threading.Thread(target=change, args=(n,)) for n in (5, 8)]
                t = time.perf_counter_ns()
                [x.start() for x in ts]
                [x.join() for x in ts]
                label = "cpython-locked" if locked else "cpython-unlocked"
                out[label].append((time.perf_counter_ns() - t) / (2 * per))
        return [series(k, v) for k, v in out.items()]
    if op == "manager_master_worker":
        count = 2000 if quick else 10000
        rates = []
        for _ in range(3 if quick else 5):
            m = start_manager(("task_queue", "result_queue"))
            w = c.Process(target=manager_worker, args=(m.address,))
            w.start()
            cl = client(m.address, ("task_queue", "result_queue"))
            tasks, results = cl.get_task_queue(), cl.get_result_queue()
            t = time.perf_counter()
            for n in range(count):
                tasks.put(n)
            for _ in range(count):
                results.get()
            rates.append(count / (time.perf_counter() - t))
            tasks.put(-1)
            w.join()
            m.shutdown()
        return [series("cpython", rates)]
    if op in ("manager_rtt", "manager_connect"):
        m = start_manager()
        try:
            if op == "manager_connect":
                return [series("cpython", time_per_op(lambda: client(m.address), quick, samples=5))]
            q = client(m.address).get_queue()

            def f():
                q.put(1)
                q.get()
            return [series("cpython", time_per_op(f, quick))]
        finally:
            m.shutdown()
    if op == "manager_e2e":
        def e2e():
            m = start_manager()
            client(m.address).get_queue().put(1)
            m.shutdown()
        plain = time_per_op(e2e, quick, samples=3 if quick else 5)
        force_nodelay()
        fast = time_per_op(e2e, quick, samples=3 if quick else 5)
        return [series("cpython", plain), series("cpython-nodelay", fast)]
    raise SystemExit("unknown operation " + op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pinned", action="store_true")
    ap.add_argument("--exe", default=sys.executable)
    a = ap.parse_args()
    if a.pinned and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    print(json.dumps(run(a.op, a.quick, a.exe)))


if __name__ == "__main__":
    main()
