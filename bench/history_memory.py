"""The memory the history costs: loads entities of five attributes by batch upserts into a fresh
server (on a free port, its own data directory) and prints its RSS once they are in, with and
without --history off (docs/temporal.md, "Capture costs").

  python3 bench/history_memory.py [--entities 100000] [--binary build/tsunagu] [-- server options]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import harness  # noqa: E402


def rss_after_load(binary, entities, extra):
    data = tempfile.mkdtemp(prefix="tsunagu-history-memory-")
    harness.BINARY = binary
    server = harness.Server(data_dir=data, args=["--sync", "normal"] + extra)
    server.start(timeout=60)
    try:
        conn = server.connection(timeout=120)
        for b in range(entities // 1000):
            body = [{"id": f"urn:ngsi-ld:Meter:{b}-{i}", "type": "Meter",
                     **{f"a{k}": {"type": "Property", "value": i * k + 0.5,
                                  "observedAt": "2026-01-01T00:00:00Z"} for k in range(5)}}
                    for i in range(1000)]
            r = server.request("POST", "/ngsi-ld/v1/entityOperations/upsert", json.dumps(body),
                               {"Content-Type": "application/json"}, conn=conn)
            if r.status not in (201, 204):
                raise SystemExit(f"upsert answered {r.status}")
        conn.close()
        time.sleep(2)
        with open(f"/proc/{server.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=100000)
    ap.add_argument("--binary", default=os.path.join(harness.ROOT, "build", "tsunagu"))
    ap.add_argument("server_args", nargs="*", help="more server options (after --)")
    args = ap.parse_args()
    for label, extra in (("history on", []), ("history off", ["--history", "off"])):
        kb = rss_after_load(args.binary, args.entities, extra + args.server_args)
        print(f"{label}: {args.entities} entities of five attributes, RSS {kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
