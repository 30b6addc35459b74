"""Server processes for the benchmarks: build/tsunagu or build/tsunagu-null on a free loopback
port, pinned to one CPU with taskset, each broker with a fresh data directory. Every process
started here is registered and stopped by stop_all(), which the drivers call on any exit."""

import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("TSUNAGU_BUILD_DIR", os.path.join(ROOT, "build"))
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)

_running = []
_binaries = {"tsunagu": os.path.join(BUILD, "tsunagu"), "null": os.path.join(BUILD, "tsunagu-null"),
             "notify": os.path.join(BUILD, "tsunagu-notify-bench")}
# Copied when present: only S9 needs it, and it fails with its own message when it is missing.
_optional = {"notify"}


class BenchError(Exception):
    """A fault that stops the run, with a message for the user."""


def die_with_parent():
    """In the child before exec: SIGTERM when the driver dies, even by SIGKILL (prctl
    PR_SET_PDEATHSIG survives exec), so no server outlives a crashed or killed run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def snapshot_binaries(work_dir, wait_s=120):
    """Copies the server binaries into `work_dir` and uses the copies from then on, so that a
    rebuild of the shared build directory during a long run cannot change or remove them.
    Waits up to `wait_s` for a binary that is being relinked."""
    os.makedirs(os.path.join(work_dir, "bin"), exist_ok=True)
    for kind, path in list(_binaries.items()):
        if kind in _optional and not os.path.exists(path):
            continue
        deadline = time.time() + wait_s
        # A binary modified in the last two seconds may be half-written by a linker.
        while not os.access(path, os.X_OK) or time.time() - os.path.getmtime(path) < 2:
            if time.time() > deadline:
                raise BenchError(f"{path} is missing; run scripts/build")
            time.sleep(1)
        copy = os.path.join(work_dir, "bin", os.path.basename(path))
        shutil.copy2(path, copy)
        _binaries[kind] = copy


def binary(kind):
    """The path of a binary of the build (its copy once snapshot_binaries ran)."""
    return _binaries[kind]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def rss_kib(pid):
    """VmRSS of `pid` in KiB (from /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


class Process:
    """One server process. `kind` is "tsunagu" or "null"."""

    def __init__(self, kind, args=(), cpu="0", port=None, data_dir=None, work_dir=None,
                 binary=None):
        self.kind = kind
        self.port = port or free_port()
        if not port_is_free(self.port):
            raise BenchError(f"port {self.port} is busy; stop what holds it or pick another")
        self.cpu = cpu
        self.owns_dir = False
        self.data_dir = data_dir
        if kind == "tsunagu" and data_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix="data-", dir=work_dir)
            self.owns_dir = True
        binary = binary or _binaries[kind]  # another build of the same kind (bench/ab.py)
        if not os.access(binary, os.X_OK):
            raise BenchError(f"{binary} is missing; run scripts/build")
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--threads", "1"]
        if kind == "tsunagu":
            cmd += ["--data-dir", self.data_dir]
        cmd += list(args)
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        self.cmd = cmd
        log_dir = work_dir or self.data_dir or tempfile.gettempdir()
        self.log_path = os.path.join(log_dir, f"{kind}-{self.port}.log")
        self.proc = None
        self.started_at = None

    def start(self, timeout=120):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
        self.log = open(self.log_path, "ab")
        self.started_at = time.perf_counter()
        # taskset execs the server, so proc.pid is the server's pid.
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=self.log, env=env,
                                     stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        _running.append(self)
        self.ready_after = self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        """Seconds from exec until the server answered (200 on /health for the broker)."""
        deadline = time.perf_counter() + timeout
        path = "/health" if self.kind == "tsunagu" else "/"
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                 + self.read_log())
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                c.close()
                if r.status < 300:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.005)
        raise BenchError(f"{self.kind} did not answer on port {self.port} within {timeout} s:\n"
                         + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-3000:]
        except OSError:
            return ""

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def stop(self, timeout=60):
        """SIGTERM, then SIGKILL after `timeout` s. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self in _running:
            _running.remove(self)
        return self.proc.returncode

    def remove_data(self):
        if self.owns_dir and self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def stop_all():
    for p in list(_running):
        try:
            p.stop(timeout=10)
        except Exception:  # noqa: BLE001 - best effort on the way out
            if p.proc and p.proc.poll() is None:
                p.proc.kill()


def install_signal_handlers():
    """Turn SIGTERM/SIGHUP into SystemExit so `finally` blocks stop the servers."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def request(port, method, path, body=None, headers=None, conn=None, timeout=120):
    """One HTTP request; returns (status, headers dict with lower-case names, body bytes)."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        if own:
            c.close()
