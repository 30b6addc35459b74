"""Running wrk: one thread pinned to the load-generator CPU, bench/lua/requests.lua cycling over a
pool file, results read from the line its done() prints."""

import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass

from .server import BenchError, die_with_parent

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.abspath(os.path.join(HERE, "..", "lua", "requests.lua"))


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int       # socket errors and timeouts
    bad_status: int   # responses outside 2xx/3xx
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    output: str       # wrk's own text (with --latency), for the log
    server_cpu: float  # CPU time of the server over wall time (1.0 = one core busy)
    wrk_cpu: float     # the same for wrk

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def check_installed():
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (scripts/install-deps bench)")


def cpu_seconds(pid):
    """User + system CPU time of every thread of `pid` (from /proc/<pid>/stat)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(port, pool_file, connections, duration, cpu="1", tag="r", timeout_s=10, server_pid=None):
    """Runs wrk for `duration` seconds with `connections` connections on one thread; also
    measures how busy the server (`server_pid`) and wrk were."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout_s}s",
           "--latency", "-s", SCRIPT, f"http://127.0.0.1:{port}", "--", pool_file, tag]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    server_before = cpu_seconds(server_pid)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout_s + 60,
                       preexec_fn=die_with_parent)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / wall
    server_cpu = (cpu_seconds(server_pid) - server_before) / wall
    if p.returncode != 0:
        raise BenchError(f"wrk failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
    m = re.search(r"^TSUNAGU_BENCH (.*)$", p.stdout, re.M)
    if not m:
        raise BenchError(f"wrk printed no result line:\n{p.stdout}\n{p.stderr}")
    f = dict(kv.split("=", 1) for kv in m.group(1).split())
    ms = lambda k: float(f[k]) / 1000.0
    return Result(
        requests=int(f["requests"]), seconds=int(f["duration_us"]) / 1e6,
        errors=sum(int(f[k]) for k in ("connect", "read", "write", "timeout")),
        bad_status=int(f["status"]), mean_ms=ms("mean_us"), p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"), p95_ms=ms("p95_us"), p99_ms=ms("p99_us"), max_ms=ms("max_us"),
        output=p.stdout + p.stderr, server_cpu=server_cpu, wrk_cpu=wrk_cpu)
