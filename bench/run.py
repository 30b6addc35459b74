"""The load benchmarks (called by bench/run.sh, which installs wrk and builds first).

For each scenario: a fresh server pinned to CPU 0 with a fresh data directory (a copy of a
preloaded seed directory when the scenario needs data), a check that the first request gets the
expected status, a short warm-up, then wrk pinned to CPU 1 at each connection count (for the
scenarios that write, on a fresh server each, so that every count starts from the same data).
S9 (notifications) runs bench/notify's tool instead of wrk: benchlib/notify.py.
Prints one table and writes bench/results/latest.md (and latest.json)."""

import argparse
import datetime
import os
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import entities as E  # noqa: E402
from benchlib import loader, notify, report, scenarios, server, wrk  # noqa: E402
from benchlib.server import BenchError  # noqa: E402

KEYS = ["L0", "L0b", "S1", "S2", "S3", "S4", "S5", "S6", "S8", "S9", "S10"]


class Context:
    """What scenarios share within a run: seed data directories, measured sizes, baselines."""

    def __init__(self, work_dir, server_args):
        self.work_dir = work_dir
        self.server_args = server_args
        self.seeds = {}        # preloaded entities -> data dir of a stopped server
        self.sizes = {}        # S6 options -> mean response bytes
        self.baselines = {}    # (L0 | L0b | L0b-kv, connections) -> requests/s

    def seed(self, count):
        """A data dir holding data-set entities 0..count-1, written once per run."""
        if count not in self.seeds:
            print(f"seed: {count:,} entities", flush=True)
            path = os.path.join(self.work_dir, f"seed-{count}")
            p = server.Process("tsunagu", args=self.server_args, data_dir=path,
                               work_dir=self.work_dir).start()
            try:
                loader.preload(p.port, count)
                if count == scenarios.SMALL:
                    self.measure_s6(p.port)
            finally:
                p.stop()
            self.seeds[count] = path
        return self.seeds[count]

    def fresh_dir(self, count):
        path = tempfile.mkdtemp(prefix="data-", dir=self.work_dir)
        if count:
            shutil.rmtree(path)
            shutil.copytree(self.seed(count), path)
        return path

    def measure_s6(self, port):
        """Mean body size of S6 responses over the first 200 requests of its pool."""
        for options in ("", "keyValues"):
            pool = scenarios.pool_retrieve(options)(self)[:200]
            total = 0
            for method, path, _ in pool:
                status, _, body = server.request(port, method, path)
                if status != 200:
                    raise BenchError(f"measuring S6: GET {path} answered {status}: {body[:300]!r}")
                total += len(body)
            self.sizes[options] = round(total / len(pool))
            print(f"  S6 {options or 'normalized'} response: {self.sizes[options]} bytes",
                  flush=True)

    def s6_bytes(self, options):
        if options not in self.sizes:
            self.seed(scenarios.SMALL)
        return self.sizes[options]


def write_pool(ctx, sc, n):
    requests = sc.pool(ctx)
    path = os.path.join(ctx.work_dir, f"pool-{n:02d}-{sc.key}.tsv")
    with open(path, "w") as f:
        for method, p, body in requests:
            if "\t" in p + body or "\n" in p + body:
                raise BenchError(f"{sc.label}: a request holds a tab or newline")
            f.write(f"{method}\t{p}\t{body}\n")
    return path, requests


def fill(text, prefix):
    parts = text.split("{{N}}")
    return parts[0] + "".join(f"{prefix}-{i}{part}" for i, part in enumerate(parts[1:]))


def check_first(sc, port, requests):
    method, path, body = requests[0]
    status, _, data = server.request(port, method, fill(path, "check"),
                                     fill(body, "check") if body else None)
    if status not in sc.expect:
        raise BenchError(f"{sc.label}: {method} {path[:200]} answered {status}, expected "
                         f"{'/'.join(map(str, sc.expect))}: {data[:400]!r}")


def match_note(sc, port, requests):
    """"N of M match (P %)": the mean count over the pool's first requests (geo pools vary)."""
    counts = []
    for _, path, _ in requests[:20]:
        _, headers, _ = server.request(port, "GET", path.replace("limit=100", "limit=1&count=true"))
        counts.append(int(headers.get("ngsild-results-count", "0")))
    _, headers, _ = server.request(
        port, "GET", f"{scenarios.API}/entities?type={E.QUERY_TYPE}&limit=1&count=true")
    population = int(headers.get("ngsild-results-count", "0"))
    mean = sum(counts) / len(counts)
    pct = 100.0 * mean / population if population else 0
    share = (f" ({pct:.0f} %)" if pct >= 10 else f" ({pct:.2g} %)") if population else ""
    shown = f"{mean:,.0f}" if mean >= 10 else f"{mean:.1f}"
    return f"{shown} of {population:,} {E.QUERY_TYPE}{share} match"


def run_scenario(ctx, sc, n, args):
    print(f"[{n}] {sc.label}" + (f" over {sc.preload:,} entities" if sc.preload else ""),
          flush=True)
    pool_file, requests = write_pool(ctx, sc, n)
    rows = []
    proc = None
    note = ""

    def start():
        if sc.server == "null":
            body = sc.null_body(ctx) if sc.null_body else 0
            p = server.Process("null", args=["--body-bytes", str(body)], work_dir=ctx.work_dir)
        else:
            p = server.Process("tsunagu", args=ctx.server_args,
                               data_dir=ctx.fresh_dir(sc.preload), work_dir=ctx.work_dir)
        try:
            p.start()
        except BaseException:
            stop(p)
            raise
        return p

    def stop(p):
        p.stop()
        if sc.server == "tsunagu" and not args.keep:
            shutil.rmtree(p.data_dir, ignore_errors=True)

    try:
        for c in args.connections:
            # A scenario that writes leaves more data, a longer log and a busier checkpoint
            # behind: every connection count starts again from the same data.
            if proc is not None and sc.writes:
                stop(proc)
                proc = None
            if proc is None:
                proc = start()
                check_first(sc, proc.port, requests)
                if sc.count:
                    note = match_note(sc, proc.port, requests)
                if sc.null_body:
                    note = f"body {sc.null_body(ctx)} bytes"
            if args.warmup > 0:
                wrk.run(proc.port, pool_file, c, args.warmup, tag=f"w{n}c{c}")
            r = wrk.run(proc.port, pool_file, c, args.duration, tag=f"r{n}c{c}",
                        server_pid=proc.proc.pid)
            with open(os.path.join(ctx.work_dir, f"wrk-{n:02d}-{sc.key}-c{c}.txt"), "w") as f:
                f.write(r.output)
            rows.append(make_row(ctx, sc, c, r, note))
            print(f"    c={c}: {rows[-1].rate:,.0f} {rows[-1].unit}, p50 {r.p50_ms:.2f} ms, "
                  f"p95 {r.p95_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, CPU server "
                  f"{100 * r.server_cpu:.0f} % wrk {100 * r.wrk_cpu:.0f} %", flush=True)
    finally:
        if proc is not None:
            stop(proc)
    return rows


def make_row(ctx, sc, c, r, note):
    rate = r.rate * sc.per_request
    if sc.provides:
        ctx.baselines[(sc.provides, c)] = r.rate
    base_rate = ctx.baselines.get((sc.baseline, c)) if sc.baseline else None
    notes = [note] if note else []
    if r.bad_status:
        notes.append(f"**{r.bad_status:,} non-2xx responses**")
    if r.errors:
        notes.append(f"**{r.errors:,} socket errors/timeouts**")
    baseline = {"L0b-kv": "L0b"}.get(sc.baseline, sc.baseline)
    return report.Row(label=sc.label, key=sc.key, data=sc.preload, connections=c, rate=rate,
                      unit="entities/s" if sc.per_request > 1 else "req/s", p50_ms=r.p50_ms,
                      p95_ms=r.p95_ms, p99_ms=r.p99_ms, baseline=baseline,
                      baseline_rate=base_rate, ratio=rate / base_rate if base_rate else None,
                      server_cpu=r.server_cpu, wrk_cpu=r.wrk_cpu, notes="; ".join(notes))


def failed_row(sc, message):
    first = message.splitlines()[0][:160] if message else "failed"
    return report.Row(label=sc.label, key=sc.key, data=sc.preload, connections=0, rate=0.0,
                      unit="req/s", p50_ms=0.0, p95_ms=0.0, p99_ms=0.0, baseline=None,
                      baseline_rate=None, ratio=None, server_cpu=0.0, wrk_cpu=0.0,
                      notes=f"**FAILED**: {first}")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run.sh", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="bench/run.sh also takes --no-build (skip install-deps and scripts/build) and "
               "--micro [Google Benchmark flags] (run build/tsunagu_micro instead). "
               "docs/benchmarks.md describes every scenario.")
    ap.add_argument("--quick", action="store_true",
                    help="3 s runs, query data sets of 1,000 and 10,000 only")
    ap.add_argument("--only", default="", help="comma-separated scenarios: " + ",".join(KEYS)
                    + " (the baselines they are compared with always run)")
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 10; 3 quick)")
    ap.add_argument("--warmup", type=int, help="seconds of warm-up per run (default 1; 0: none)")
    ap.add_argument("--connections", default="10,50", help="connection counts (default 10,50)")
    ap.add_argument("--sizes", help="preloaded entities for S4/S5 (default 1000,10000,100000)")
    ap.add_argument("--geo-sizes", help="preloaded entities for S10 (default 10000,100000)")
    ap.add_argument("--s9-rates", help="S9 open-loop rates in updates/s (default 1000,10000)")
    ap.add_argument("--s9-size", type=int,
                    help="entities of S9's throughput rows (default 100000; 10000 quick)")
    ap.add_argument("--s9-subscriptions",
                    help="per-entity subscriptions of S9's throughput rows (default "
                         "100,1000,100000, each at most --s9-size)")
    ap.add_argument("--s9-parts", default="latency,throughput",
                    help="which S9 rows: latency, throughput or both (default both)")
    ap.add_argument("--sync", default="full", choices=["full", "normal"],
                    help="the server's --sync (default full: fsync every commit)")
    ap.add_argument("--server-args", default="",
                    help="more options for every broker, quoted (e.g. \"--durable-notifications "
                         "off\")")
    ap.add_argument("--out-dir", default=os.path.join(server.ROOT, "bench", "results"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, pools)")
    a = ap.parse_args(argv)
    a.duration = a.duration or (3 if a.quick else 10)
    a.warmup = a.warmup if a.warmup is not None else 1
    ints = lambda s: [int(x) for x in s.split(",") if x]
    a.connections = ints(a.connections)
    a.sizes = ints(a.sizes) if a.sizes else ([1_000, 10_000] if a.quick else scenarios.QUERY_SIZES)
    a.geo_sizes = (ints(a.geo_sizes) if a.geo_sizes
                   else ([10_000] if a.quick else scenarios.GEO_SIZES))
    a.s9_rates = ints(a.s9_rates) if a.s9_rates else notify.RATES
    a.s9_size = a.s9_size or (10_000 if a.quick else notify.THROUGHPUT_SIZE)
    a.s9_subscriptions = (ints(a.s9_subscriptions) if a.s9_subscriptions
                          else sorted({min(n, a.s9_size) for n in notify.THROUGHPUT_SUBS}))
    a.s9_parts = [x for x in a.s9_parts.split(",") if x]
    a.only = [k.strip() for k in a.only.split(",") if k.strip()]
    unknown = [k for k in a.only if k not in KEYS]
    if unknown:
        ap.error(f"unknown scenario {','.join(unknown)} (choose from {','.join(KEYS)})")
    return a


def select(args):
    every = scenarios.all_scenarios(args.sizes, args.geo_sizes)
    if not args.only:
        return every
    chosen = [s for s in every if s.key in args.only]
    needed = {s.baseline for s in chosen if s.baseline}
    return [s for s in every if s in chosen or s.provides in needed]


def main(argv):
    args = parse_args(argv)
    server.install_signal_handlers()
    wrk.check_installed()
    if (os.cpu_count() or 1) < 2:
        raise BenchError("needs 2 CPUs: the server on CPU 0, wrk on CPU 1")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    command = os.environ.get("TSUNAGU_BENCH_COMMAND") or "bench/run.py " + shlex.join(argv)
    load_start = report.loadavg()
    work_dir = tempfile.mkdtemp(prefix="tsunagu-bench-")
    print(f"work dir: {work_dir}", flush=True)
    ctx = Context(work_dir, ["--sync", args.sync] + shlex.split(args.server_args))
    rows, failures = [], []
    commit = "unknown"
    t0 = time.time()
    try:
        server.snapshot_binaries(work_dir)
        commit = report.git_describe()
        chosen = select(args)
        for n, sc in enumerate(chosen):
            try:
                rows += run_scenario(ctx, sc, n, args)
            except BenchError as e:
                # One broken scenario should not cost the rest of a long run.
                print(f"    FAILED: {e}", file=sys.stderr, flush=True)
                failures.append(sc.label)
                rows.append(failed_row(sc, str(e)))
        if not args.only or "S9" in args.only:
            s9_rows, s9_failures = notify.run_all(ctx, args, len(chosen))
            rows += s9_rows
            failures += s9_failures
    finally:
        server.stop_all()
        if args.keep or failures:
            print(f"work dir kept: {work_dir}", flush=True)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    settings = (f"{args.duration:g} s per run after {args.warmup:g} s warm-up, "
                f"connections {','.join(map(str, args.connections))}, --sync {args.sync}"
                + (f" {args.server_args}" if args.server_args else ""))
    placement = None
    if not args.only or "S9" in args.only:
        placement = ("server on CPU 0 (`--threads 1`), wrk (`-t1`) and S9's tsunagu-notify-bench "
                     "on CPU 1")
    header = report.conditions(command, started, commit, load_start, report.loadavg(), settings,
                               **({"placement": placement} if placement else {}))
    print()
    print(header)
    print()
    print(report.text_table(rows))
    md = report.write(args.out_dir, rows, header)
    print(f"\nwritten to {md} ({time.time() - t0:.0f} s)")
    if failures:
        print(f"bench: {len(failures)} scenario(s) failed: {'; '.join(failures)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
