"""Start-up time and memory per entity (called by bench/startup.sh).

1. A fresh server (pinned to CPU 0) on an empty data dir: VmRSS before loading.
2. N template entities (benchlib/entities.py) preloaded by batch upsert: VmRSS after, and the
   difference per entity (DESIGN.md: under 2 KiB per template entity); VmRSS is also read
   half-way, because the delta includes fixed costs (SQLite's page cache of up to 64 MiB fills
   during the load), and the growth over the second half is the marginal cost. Then SIGTERM.
3. The server started RUNS times on that data dir: time from exec to the first 200 on /health,
   the `seconds` of its state_loaded log line, and VmRSS once loaded from the store.
Prints a table and writes bench/results/startup.md."""

import argparse
import datetime
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import loader, report, server  # noqa: E402
from benchlib.server import BenchError  # noqa: E402


def state_loaded(log_path):
    """The fields of the server's state_loaded log line (JSON log format)."""
    with open(log_path, errors="replace") as f:
        for line in f:
            if '"state_loaded"' in line:
                return json.loads(line)
    raise BenchError(f"no state_loaded line in {log_path}")


def settled_rss(p, wait=3.0):
    """VmRSS in KiB after the process has had `wait` seconds to finish background work (the
    store hands a fold's buffers back to the OS 2 s after the last fold, see log_store.cpp)."""
    time.sleep(wait)
    return p.rss_kib()


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def main(argv):
    ap = argparse.ArgumentParser(prog="bench/startup.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sync", default="full", choices=["full", "normal"])
    ap.add_argument("--out-dir", default=os.path.join(server.ROOT, "bench", "results"))
    ap.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = ap.parse_args(argv)
    server.install_signal_handlers()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    command = os.environ.get("TSUNAGU_BENCH_COMMAND") or "bench/startup.py " + shlex.join(argv)
    load_start = report.loadavg()
    work = tempfile.mkdtemp(prefix="tsunagu-startup-")
    data = os.path.join(work, "data")
    sargs = ["--sync", args.sync, "--log-format", "json"]
    lines = []
    try:
        server.snapshot_binaries(work)
        commit = report.git_describe()
        p = server.Process("tsunagu", args=sargs, data_dir=data, work_dir=work).start()
        before = settled_rss(p)
        half = args.entities // 2
        loader.preload(p.port, half)
        middle = settled_rss(p)
        loader.preload(p.port, args.entities - half, first=half)
        after = settled_rss(p)
        code = p.stop()
        if code != 0:
            raise BenchError(f"the server exited with {code} on SIGTERM:\n{p.read_log()}")
        per_entity = (after - before) * 1024 / args.entities
        disk = dir_bytes(data)
        lines.append(f"- VmRSS empty: {before / 1024:.1f} MiB; after preloading "
                     f"{args.entities:,} entities through the API: {after / 1024:.1f} MiB")
        marginal = (after - middle) * 1024 / (args.entities - half)
        lines.append(f"- Memory per entity (RSS delta / {args.entities:,}): "
                     f"**{per_entity:,.0f} bytes** (target: under 2,048)")
        lines.append(f"- Marginal memory per entity (RSS growth over the second "
                     f"{args.entities - half:,}, once the store's fixed caches have filled): "
                     f"**{marginal:,.0f} bytes**")
        lines.append(f"- Data dir on disk: {disk / 2**20:.1f} MiB "
                     f"({disk / args.entities:,.0f} bytes per entity)")
        runs = []
        for i in range(args.runs):
            p = server.Process("tsunagu", args=sargs, data_dir=data, work_dir=work).start(
                timeout=600)
            ready = p.ready_after
            rss = settled_rss(p)
            loaded = state_loaded(p.log_path)
            p.stop()
            runs.append((ready, float(loaded["seconds"]), int(loaded["entities"]), rss))
            print(f"  start {i + 1}: /health 200 after {ready:.3f} s, state_loaded "
                  f"{loaded['seconds']:.3f} s ({loaded['entities']:,} entities), "
                  f"VmRSS {rss / 1024:.1f} MiB", flush=True)
        for ready, seconds, count, rss in runs:
            if count != args.entities:
                raise BenchError(f"the server loaded {count} entities, expected {args.entities}")
        best = min(r[0] for r in runs)
        median = sorted(r[0] for r in runs)[len(runs) // 2]
        rss_loaded = sorted(r[3] for r in runs)[len(runs) // 2]
        lines.append(f"- Start with {args.entities:,} entities, exec to 200 on /health "
                     f"({args.runs} runs): median **{median:.2f} s**, best {best:.2f} s; "
                     "state_loaded seconds: "
                     + ", ".join(f"{r[1]:.2f}" for r in runs))
        lines.append(f"- VmRSS after a start that rebuilt memory from the store: "
                     f"{rss_loaded / 1024:.1f} MiB "
                     f"({(rss_loaded - before) * 1024 / args.entities:,.0f} bytes per entity "
                     "over the empty server)")
    finally:
        server.stop_all()
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    header = report.conditions(command, started, commit, load_start, report.loadavg(),
                               f"--sync {args.sync}", placement="server on CPU 0 (`--threads 1`)")
    text = header + "\n\n" + "\n".join(lines)
    print("\n" + text)
    os.makedirs(args.out_dir, exist_ok=True)
    out = os.path.join(args.out_dir, "startup.md")
    with open(out, "w") as f:
        f.write("# Tsunagu start-up time and memory: latest run\n\n"
                "Written by `bench/startup.sh`; see docs/benchmarks.md.\n\n" + text + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"startup: {e}", file=sys.stderr)
        sys.exit(1)
