"""S9, notifications (docs/benchmarks.md): latency, delivery and update throughput with
subscriptions, measured by tsunagu-notify-bench (bench/notify/).

wrk cannot send at a fixed rate or receive notifications, so S9 has its own load generator: one
process, pinned to the load CPU, that runs the webhook receiver, creates the subscriptions that
point at it, and PATCHes dissolvedOxygen of the listed entities with each update's sequence
number as the value, either open loop at a fixed rate or closed loop as fast as the broker
answers. Every row gets a fresh broker on a fresh copy of the data set, like the scenarios that
write, and ends with the line the tool prints (TSUNAGU_NOTIFY key=value ...)."""

import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional

from . import entities as E
from . import report, server
from .server import BenchError, die_with_parent

LATENCY_SIZE = 10_000       # entities of the latency rows: every one has a subscription
THROUGHPUT_SIZE = 100_000   # entities of the throughput rows: updates spread over all of them
THROUGHPUT_SUBS = [100, 1_000, 100_000]
HOT = 100                   # the throughput row that updates only its subscribed entities
RATES = [1_000, 10_000]
OPEN_LOOP_CONNECTIONS = 64  # enough that an update never waits for a free connection
NEVER_Q = "dissolvedOxygen<0"


@dataclass
class Variant:
    label: str
    preload: int
    lines: list                 # [(id, type, subscribe)] in update order
    type_sub: Optional[str]     # one subscription on every entity of this type
    rate: float                 # updates/s, 0: closed loop
    provides: Optional[str] = None
    baseline: Optional[str] = None
    share: str = ""             # which updates notify, for the notes
    part: str = "latency"       # "latency" or "throughput" (run.py --s9-parts)
    never_q: str = ""           # a q no update satisfies: the subscriptions never fire


def _shuffled(n, seed):
    ids = E.dataset_ids(n)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [(i, ids[i]) for i in order]


def _type_of(entity_id):
    return entity_id.split(":")[2]


def variants(rates, throughput_size, throughput_subs, parts=("latency", "throughput")):
    """Every S9 row of `parts` but the connection count, in report order."""
    out = []
    every = [(eid, _type_of(eid), True) for _, eid in _shuffled(LATENCY_SIZE, 91)]
    of_type = [(eid, t, False) for eid, t, _ in every if t == E.QUERY_TYPE]
    for kind, lines, type_sub in (("per-entity", every, None), ("per-type", of_type, E.QUERY_TYPE)):
        subs = (f"{len(lines):,} per-entity subscriptions" if type_sub is None
                else f"1 subscription on type {type_sub}, {len(lines):,} entities")
        for rate in rates + [0]:
            pace = f"{rate:,}/s" if rate else "max rate"
            out.append(Variant(f"S9 latency {kind}, {pace}", LATENCY_SIZE, lines, type_sub, rate,
                               share=subs))
    spread = _shuffled(throughput_size, 92)
    first_throughput = len(out)
    out.append(Variant("S9 updates, no subscription", throughput_size,
                       [(eid, _type_of(eid), False) for _, eid in spread], None, 0,
                       provides="S9-0"))
    for n in throughput_subs:
        n = min(n, throughput_size)
        lines = [(eid, _type_of(eid), i < n) for i, eid in spread]
        out.append(Variant(f"S9 updates, {n:,} per-entity subscriptions", throughput_size, lines,
                           None, 0, baseline="S9-0",
                           share=f"{100.0 * n / throughput_size:.3g} % of updates notify"))
    # Matching alone: as many subscriptions, each a candidate for its entity's every update, but
    # with a q that no update satisfies (the values are sequence numbers, never negative).
    n = min(max(throughput_subs), throughput_size)
    out.append(Variant(f"S9 updates, {n:,} per-entity subscriptions that never fire",
                       throughput_size, [(eid, _type_of(eid), i < n) for i, eid in spread], None,
                       0, baseline="S9-0", never_q=NEVER_Q,
                       share=f"q {NEVER_Q} never holds: matched, nothing notified"))
    hot = [(eid, _type_of(eid), False) for i, eid in spread if i < HOT]
    out.append(Variant(f"S9 updates of {HOT} entities, no subscription", throughput_size, hot,
                       None, 0, provides="S9-0-hot"))
    out.append(Variant(f"S9 updates of {HOT} entities, each subscribed", throughput_size,
                       [(eid, t, True) for eid, t, _ in hot], None, 0, baseline="S9-0-hot",
                       share="every update notifies"))
    for v in out[first_throughput:]:
        v.part = "throughput"
    return [v for v in out if v.part in parts]


def tool_path():
    path = server.binary("notify")
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} is missing; build with -DTSUNAGU_BENCH=ON (scripts/build)")
    return path


def parse(output):
    m = re.search(r"^TSUNAGU_NOTIFY (.*)$", output, re.M)
    if not m:
        raise BenchError(f"tsunagu-notify-bench printed no result line:\n{output[-3000:]}")
    return {k: float(v) for k, v in (kv.split("=", 1) for kv in m.group(1).split())}


def run_one(ctx, v, connections, args, n):
    """One row: a fresh broker on a copy of the data, the tool pinned to CPU 1."""
    lines_file = os.path.join(ctx.work_dir, f"s9-{n:02d}.tsv")
    if not os.path.exists(lines_file):
        with open(lines_file, "w") as f:
            for eid, t, sub in v.lines:
                f.write(f"{eid}\t{t}\t{1 if sub else 0}\n")
    p = server.Process("tsunagu", args=ctx.server_args, data_dir=ctx.fresh_dir(v.preload),
                       work_dir=ctx.work_dir).start()
    cmd = ["taskset", "-c", "1", tool_path(), "--port", str(p.port), "--updates", lines_file,
           "--rate", f"{v.rate:g}", "--connections", str(connections), "--warmup",
           f"{args.warmup:g}", "--duration", f"{args.duration:g}", "--server-pid",
           str(p.proc.pid)]
    if v.type_sub:
        cmd += ["--type-subscription", v.type_sub]
    if v.never_q:
        cmd += ["--never-q", v.never_q]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=die_with_parent,
                           timeout=args.warmup + args.duration + 600)
    finally:
        p.stop()
        if not args.keep:
            shutil.rmtree(p.data_dir, ignore_errors=True)
    out = r.stdout + r.stderr
    with open(os.path.join(ctx.work_dir, f"notify-{n:02d}-c{connections}.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n" + out)
    if r.returncode != 0:
        raise BenchError(f"{v.label}: tsunagu-notify-bench failed ({r.returncode}): "
                         f"{out.strip()[-1500:]}")
    return parse(out)


def make_row(ctx, v, connections, f):
    rate = f["rate"]
    if v.provides:
        ctx.baselines[(v.provides, connections)] = rate
    base = ctx.baselines.get((v.baseline, connections)) if v.baseline else None
    notes = [v.share] if v.share else []
    expected, delivered = int(f["expected"]), int(f["delivered"])
    if expected:
        pct = 100.0 * delivered / expected
        text = f"{delivered:,} of {expected:,} notified ({pct:.2f} %)"
        notes.append(text if delivered == expected else f"**{text}**")
        notes.append(f"max {f['max_us'] / 1000:.1f} ms")
    if f["subscriptions"] >= 1000:
        notes.append(f"{int(f['subscriptions']):,} subscriptions created in {f['create_s']:.1f} s")
    for key, what in (("bad_status", "non-2xx updates"), ("duplicates", "duplicates"),
                      ("misdirected", "misdirected"), ("out_of_order", "out of order")):
        if f[key]:
            notes.append(f"**{int(f[key]):,} {what}**")
    if f["lag_p99_us"] >= 1000:
        notes.append(f"sender p99 {f['lag_p99_us'] / 1000:.1f} ms behind schedule")
    if f["drain_s"] >= 1:
        notes.append(f"last notification {f['drain_s']:.1f} s after the last update")
    return report.Row(label=v.label, key="S9", data=v.preload, connections=connections,
                      rate=rate, unit="updates/s", p50_ms=f["p50_us"] / 1000,
                      p95_ms=f["p95_us"] / 1000, p99_ms=f["p99_us"] / 1000,
                      baseline=v.baseline, baseline_rate=base,
                      ratio=rate / base if base else None, server_cpu=f["server_cpu"],
                      wrk_cpu=f["tool_cpu"], notes="; ".join(notes))


def run_all(ctx, args, first_index):
    """Every S9 row; returns (rows, labels of the rows that failed)."""
    rows, failures = [], []
    chosen = variants(args.s9_rates, args.s9_size, args.s9_subscriptions, args.s9_parts)
    for k, v in enumerate(chosen):
        n = first_index + k
        print(f"[{n}] {v.label} over {v.preload:,} entities", flush=True)
        counts = [OPEN_LOOP_CONNECTIONS] if v.rate else args.connections
        for c in counts:
            try:
                f = run_one(ctx, v, c, args, n)
            except BenchError as e:
                print(f"    FAILED: {e}", flush=True)
                failures.append(v.label)
                rows.append(report.Row(label=v.label, key="S9", data=v.preload, connections=c,
                                       rate=0.0, unit="updates/s", p50_ms=0.0, p95_ms=0.0,
                                       p99_ms=0.0, baseline=None, baseline_rate=None, ratio=None,
                                       server_cpu=0.0, wrk_cpu=0.0,
                                       notes=f"**FAILED**: {str(e).splitlines()[0][:160]}"))
                continue
            rows.append(make_row(ctx, v, c, f))
            print(f"    c={c}: {f['rate']:,.0f} updates/s, notified {int(f['delivered']):,} of "
                  f"{int(f['expected']):,}, p50 {f['p50_us'] / 1000:.2f} ms, p99 "
                  f"{f['p99_us'] / 1000:.2f} ms, max {f['max_us'] / 1000:.2f} ms, CPU server "
                  f"{100 * f['server_cpu']:.0f} % tool {100 * f['tool_cpu']:.0f} %", flush=True)
    return rows, failures
