"""The results table: one row per (scenario, connections), printed as aligned text and written as
markdown with the conditions of the run (date, commit, CPU, load average)."""

import json
import os
import platform
import subprocess
from dataclasses import dataclass, asdict
from typing import Optional

from .server import ROOT


@dataclass
class Row:
    label: str
    key: str
    data: int            # preloaded entities
    connections: int
    rate: float          # requests/s, or entities/s when per_request > 1
    unit: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    baseline: Optional[str]
    baseline_rate: Optional[float]
    ratio: Optional[float]
    server_cpu: float    # server CPU time / wall time during the run (1.0 = its core busy)
    wrk_cpu: float
    notes: str


HEADERS = ["Scenario", "Data", "Conns", "Rate", "p50 ms", "p95 ms", "p99 ms", "Baseline",
           "Ratio", "CPU srv/wrk", "srv µs/op", "Notes"]
RIGHT = {1, 2, 3, 4, 5, 6, 8, 9, 10}


def size_text(n):
    if n == 0:
        return "-"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def cells(r):
    base = "-"
    if r.baseline:
        base = r.baseline if r.baseline_rate is None else f"{r.baseline} {r.baseline_rate:,.0f}"
    ratio = "-" if r.ratio is None else f"{100.0 * r.ratio:.0f} %"
    return [r.label, size_text(r.data), str(r.connections), f"{r.rate:,.0f} {r.unit}",
            ms(r.p50_ms), ms(r.p95_ms), ms(r.p99_ms), base, ratio,
            f"{100 * r.server_cpu:.0f}/{100 * r.wrk_cpu:.0f} %", cpu_per_op(r), r.notes]


def cpu_per_op(r):
    """Server CPU time per request (per entity for S8) in microseconds."""
    if r.rate <= 0:
        return "-"
    us = 1e6 * r.server_cpu / r.rate
    return f"{us:.1f}" if us < 100 else f"{us:,.0f}"


def text_table(rows):
    table = [HEADERS] + [cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = []
    for n, row in enumerate(table):
        parts = [c.rjust(w) if i in RIGHT else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows):
    out = ["| " + " | ".join(HEADERS) + " |",
           "|" + "|".join("---:" if i in RIGHT else "---"
                          for i in range(len(HEADERS))) + "|"]
    for r in rows:
        c = cells(r)
        c[0] = c[0].replace("|", "\\|")
        out.append("| " + " | ".join(c) + " |")
    return "\n".join(out)


def git_describe():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def conditions(command, started, commit, load_start, load_end, settings,
               placement="server on CPU 0 (`--threads 1`), wrk on CPU 1 (`-t1`)"):
    """The markdown list that heads a results file. `commit` is git_describe() taken when the
    binaries were copied, since others may commit during a long run."""
    ncpu = os.cpu_count() or 1
    busy = max(load_start, load_end) > 0.5
    lines = [
        f"- Date: {started} (UTC)",
        f"- Command: `{command}`",
        f"- Commit: {commit}",
        f"- Machine: {cpu_model()}, {ncpu} CPUs; {placement}",
        f"- Settings: {settings}",
        f"- 1-minute load average: {load_start:.2f} at start, {load_end:.2f} at end"
        + (" -- **the machine was busy: figures measured under load, noisy**" if busy else ""),
    ]
    return "\n".join(lines)


def write(out_dir, rows, header):
    os.makedirs(out_dir, exist_ok=True)
    md = os.path.join(out_dir, "latest.md")
    with open(md, "w") as f:
        f.write("# Tsunagu load benchmarks: latest run\n\n")
        f.write("Written by `bench/run.sh`; see docs/benchmarks.md for what each scenario "
                "does.\n\n")
        f.write(header + "\n\n")
        f.write(markdown_table(rows) + "\n")
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump([asdict(r) for r in rows], f, indent=1)
    return md
