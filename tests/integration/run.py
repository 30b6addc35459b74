#!/usr/bin/env python3
"""Runs every tests/integration/test_*.py module in its own process, side by side, prints each
module's result and a summary, and exits non-zero when any module fails.

Usage: python3 tests/integration/run.py [-v] [--build] [module-name-fragment ...]
  -v       print every module's full output, not only failing ones
  --build  run scripts/build first"""

import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def summary_of(output):
    ran = re.search(r"^Ran (\d+) tests? in ([\d.]+)s", output, re.M)
    failed = re.search(r"^FAILED \((.*)\)", output, re.M)
    skipped = re.search(r"skipped=(\d+)", output)
    return {
        "tests": int(ran.group(1)) if ran else 0,
        "failed": failed.group(1) if failed else "",
        "skipped": int(skipped.group(1)) if skipped else 0,
    }


def main(argv):
    verbose = "-v" in argv
    names = [a for a in argv if not a.startswith("-")]
    if "--build" in argv:
        subprocess.run([os.path.join(ROOT, "scripts", "build")], check=True)
    binary = os.environ.get("TSUNAGU_BINARY", os.path.join(ROOT, "build", "tsunagu"))
    if not os.access(binary, os.X_OK):
        print(f"no server binary at {binary}: run scripts/build (or pass --build)")
        return 2
    modules = sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    if names:
        modules = [m for m in modules if any(n in os.path.basename(m) for n in names)]
    t0 = time.monotonic()

    def run(module):
        rel = os.path.relpath(module, ROOT)
        started = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "unittest", "-v", rel], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return rel, p.returncode, p.stdout, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(modules))) as pool:
        results = list(pool.map(run, modules))
    wall = time.monotonic() - t0

    total_tests, bad = 0, 0
    for rel, code, out, seconds in results:
        s = summary_of(out)
        total_tests += s["tests"]
        ok = code == 0
        bad += not ok
        if verbose or not ok:
            print(f"===== {rel} =====")
            print(out.rstrip())
            print()
        else:  # measurements a module prints as "  [name] ..." lines are always shown
            info = [line for line in out.splitlines() if re.match(r"^\s*\[\w+\] ", line)]
            if info:
                print(f"===== {rel} (passed) =====")
                print("\n".join(info))
                print()
    print("Integration suite summary")
    for rel, code, out, seconds in results:
        s = summary_of(out)
        state = "ok" if code == 0 else f"FAILED ({s['failed'] or f'exit {code}'})"
        skipped = f", {s['skipped']} skipped" if s["skipped"] else ""
        print(f"  {rel:52} {s['tests']:3} tests{skipped:12} {seconds:6.1f} s  {state}")
    print(f"  {len(results)} modules, {total_tests} tests, {bad} failing modules, "
          f"{wall:.1f} s wall")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
