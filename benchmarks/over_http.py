"""Over HTTP: gunicorn serving the benchmark project on loopback, under a bounded load.

The server is ``gunicorn benchmarks.wsgi`` with 2 workers (sync by default), on a socket
this process binds to 127.0.0.1:0 and hands over as ``fd://N`` (no port race). The load
is a closed loop: ``connections`` client threads in this process, each sending its next
request as soon as the previous answer is in, for a few seconds per slot; rows take turns
in rotated rounds like the in-process stages. The client is pure Python (raw sockets, one
pre-built request), so its CPU competes with the workers' on this machine: its cost per
request is printed, and the workers' own CPU per request (from /proc) next to it.

The server is stopped (SIGTERM to its process group, then SIGKILL) whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the benchmark dies (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Server:
    port: int
    proc: subprocess.Popen

    def worker_cpu_ticks(self) -> int:
        """utime + stime of the master's children (the workers), in clock ticks."""
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:  # ppid
                total += int(fields[11]) + int(fields[12])
        return total


@contextlib.contextmanager
def gunicorn(worker_class: str = "sync", workers: int = 2, threads: int = 1) -> Iterator[Server]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    log = tempfile.TemporaryFile(mode="w+")
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"fd://{fd}",
           "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
           "--log-level", "warning", "--timeout", "60", "--graceful-timeout", "5",
           "benchmarks.wsgi:application"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, pass_fds=(fd,), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=_die_with_parent)
    sock.close()  # the server holds its own copy
    server = Server(port, proc)
    try:
        _wait_ready(server, log)
        yield server
    finally:
        _stop(proc)
        log.close()


def _log_tail(log: Any) -> str:
    log.seek(0)
    return log.read()[-3000:]


def _wait_ready(server: Server, log: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    request = _request("/floor/", {}, server.port)
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.proc.returncode}:\n{_log_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                s.sendall(request)
                status, _ = _read_response(s)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # the master and its workers: our own group
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _request(path: str, environ_headers: dict[str, str], port: int) -> bytes:
    """One GET as bytes; ``HTTP_X_API_KEY``-style keys become ``X-Api-Key`` headers."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: application/json",
             "User-Agent: ainative-bench/1"]
    for key, value in environ_headers.items():
        name = "-".join(part.capitalize() for part in key.removeprefix("HTTP_").split("_"))
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket) -> tuple[int, bool]:
    """(status, server closes the connection) of one response, body read to its end."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    match = _CONTENT_LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        body += chunk
    return int(head[9:12]), bool(_CLOSE.search(head))


@dataclass
class Slot:
    requests: int
    errors: int
    seconds: float
    client_cpu_s: float
    server_cpu_s: float


def load(server: Server, path: str, headers: dict[str, str], seconds: float,
         connections: int) -> Slot:
    """``connections`` closed-loop clients for ``seconds``; non-200 answers are errors."""
    request = _request(path, headers, server.port)
    counts = [[0, 0] for _ in range(connections)]
    start = threading.Barrier(connections + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        sock: socket.socket | None = None
        done = bad = 0
        start.wait()
        deadline = stop_at[0]
        try:
            while time.perf_counter() < deadline:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    sock.sendall(request)
                    status, close = _read_response(sock)
                except (ConnectionError, OSError):
                    # A keep-alive connection the server dropped: reconnect once, count it.
                    sock.close()
                    sock = None
                    bad += 1
                    continue
                done += 1
                bad += status != 200
                if close:
                    sock.close()
                    sock = None
        finally:
            if sock is not None:
                sock.close()
            counts[i] = [done, bad]

    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(connections)]
    for t in threads:
        t.start()
    ticks0, cpu0 = server.worker_cpu_ticks(), time.process_time()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu1, ticks1 = time.process_time(), server.worker_cpu_ticks()
    return Slot(sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed,
                cpu1 - cpu0, (ticks1 - ticks0) / os.sysconf("SC_CLK_TCK"))


@dataclass
class HTTPRow:
    name: str
    path: str
    headers: dict[str, str]
    slots: list[Slot]

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.slots)

    @property
    def rps(self) -> float:
        return self.requests / sum(s.seconds for s in self.slots)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.slots)

    def per_request_us(self, attr: str) -> float:
        return sum(getattr(s, attr) for s in self.slots) / max(1, self.requests) * 1e6


def run(rows: list[tuple[str, str, dict[str, str]]], seconds: float, rounds: int,
        connections: int, worker_class: str, threads: int) -> dict[str, Any]:
    """Every row in ``rows`` (name, path, headers; the first is the no-auth floor)."""
    measured = [HTTPRow(name, path, headers, []) for name, path, headers in rows]
    with gunicorn(worker_class=worker_class, threads=threads) as server:
        for row in measured:  # warm both workers on every path (first requests import)
            load(server, row.path, row.headers, min(0.5, seconds), connections)
        for r in range(rounds):
            for row in measured[r % len(measured):] + measured[: r % len(measured)]:
                row.slots.append(load(server, row.path, row.headers, seconds, connections))
    floor = measured[0].rps
    workers = f"{worker_class}" + (f", {threads} threads" if worker_class == "gthread" else "")
    print(f"\nOver HTTP: gunicorn, 2 workers ({workers}), loopback, {connections} closed-loop "
          f"connections, {rounds} x {seconds:g} s per row, rounds rotated")
    head = (f"{'contender':<44} {'req/s':>8} {'% no-auth':>9} {'errors':>6} "
            f"{'workers CPU µs/req':>18} {'% by CPU':>8} {'client CPU µs/req':>17}")
    print(head)
    print("-" * len(head))
    out = []
    floor_cpu = measured[0].per_request_us("server_cpu_s")
    for row in measured:
        server_us, client_us = row.per_request_us("server_cpu_s"), row.per_request_us(
            "client_cpu_s")
        # "% by CPU": the no-auth view's worker CPU per request over this row's, i.e. the
        # share of the floor's throughput a CPU-bound server would keep.
        print(f"{row.name:<44} {row.rps:>8.0f} {row.rps / floor * 100:>8.1f}% {row.errors:>6} "
              f"{server_us:>18.0f} {floor_cpu / server_us * 100:>7.1f}% {client_us:>17.0f}")
        out.append({"name": row.name, "rps": row.rps, "of_floor": row.rps / floor,
                    "requests": row.requests, "errors": row.errors,
                    "server_cpu_us_per_request": server_us,
                    "of_floor_by_cpu": floor_cpu / server_us,
                    "client_cpu_us_per_request": client_us,
                    "slot_rps": [s.requests / s.seconds for s in row.slots]})
    return {"worker_class": worker_class, "threads": threads, "workers": 2,
            "connections": connections, "seconds": seconds, "rounds": rounds, "rows": out}
