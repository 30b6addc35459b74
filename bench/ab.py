"""Compares two server binaries (or two sets of options) on one request pool, alternating them.

Two separate bench/run.sh runs differ by the machine's drift as well as by the change (about
10 % here), so this runs A, B, A, B, ... on the same pool, each round on a fresh copy of the
data, the server pinned to CPU 0 and wrk to CPU 1, and reports for each side the median rate
and the server's CPU time per request (from /proc/<pid>/stat, all its threads).

  python3 bench/run.py --only S1,S2,S8 --duration 1 --keep   # leaves the pools and seed
      # data behind: /tmp/tsunagu-bench-*/pool-NN-<scenario>.tsv and seed-<count>/
  python3 bench/ab.py --a /tmp/old/tsunagu --b build/tsunagu \\
      --pool /tmp/tsunagu-bench-XXXX/pool-03-S8.tsv [--seed /tmp/tsunagu-bench-XXXX/seed-10000]

A pool's lines are method, path and body separated by tabs (bench/lua/requests.lua)."""

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import server, wrk  # noqa: E402
from benchlib.server import BenchError  # noqa: E402


def one_round(binary, extra, pool, seed, conns, duration, work):
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    if seed:
        shutil.copytree(seed, data)
    else:
        os.makedirs(data)
    p = server.Process("tsunagu", args=extra, data_dir=data, work_dir=work,
                       binary=binary).start(timeout=60)
    try:
        before = wrk.cpu_seconds(p.proc.pid)
        r = wrk.run(p.port, pool, conns, duration, server_pid=p.proc.pid)
        used = wrk.cpu_seconds(p.proc.pid) - before
    finally:
        p.stop()
    if r.errors or r.bad_status:
        raise BenchError(f"{r.errors} socket errors, {r.bad_status} unexpected statuses; "
                         f"see {p.log_path}")
    return r.rate, used * 1e6 / max(r.requests, 1)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="binary A")
    ap.add_argument("--b", required=True, help="binary B (may be the same as A)")
    ap.add_argument("--a-args", default="", help="server options for A (quoted)")
    ap.add_argument("--b-args", default="", help="server options for B (quoted)")
    ap.add_argument("--args", default="--sync normal", help="server options for both")
    ap.add_argument("--pool", required=True)
    ap.add_argument("--seed", help="data directory copied before each round")
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-request", type=float, default=1,
                    help="divide rates and times by this (entities per batch request)")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="tsunagu-ab-")
    sides = {"A": (args.a, shlex.split(args.args) + shlex.split(args.a_args)),
             "B": (args.b, shlex.split(args.args) + shlex.split(args.b_args))}
    results = {k: [] for k in sides}
    for r in range(args.rounds):
        for k, (binary, extra) in sides.items():
            rate, us = one_round(binary, extra, args.pool, args.seed, args.connections,
                                 args.duration, work)
            rate, us = rate * args.per_request, us / args.per_request
            results[k].append((rate, us))
            print(f"round {r + 1} {k}: {rate:,.0f}/s, {us:.1f} µs of server CPU each",
                  flush=True)
    shutil.rmtree(work)
    for k, (binary, extra) in sides.items():
        rates = [x[0] for x in results[k]]
        us = [x[1] for x in results[k]]
        print(f"{k} {binary} {' '.join(extra)}: median {statistics.median(rates):,.0f}/s "
              f"({min(rates):,.0f}-{max(rates):,.0f}), {statistics.median(us):.1f} µs each")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
