"""What a distributed query costs (issue 18's benchmark): the same Query Entities answered by a
Tsunagu server from its own data, by a broker that holds nothing and asks one registered
Tsunagu source, and by a broker that asks three sources at once. Each source holds 20 Vehicles
of five attributes; every query returns 20 entities (limit=20 of the three sources' 60 in the
fan-out). wrk measures one connection for latency (p50, p99) and 8 connections for the rate.

  python3 bench/federation.py [--binary build/tsunagu] [--seconds 5]

The fan-out row's "over slowest" is its p50 minus the largest p50 of the three sources asked
directly with the same query (the target: under 1 ms on loopback). docs/federation.md has the
figures."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import harness  # noqa: E402

QUERY = "/ngsi-ld/v1/entities?type=Vehicle&limit=20"


def vehicles(prefix):
    return [{"id": f"urn:ngsi-ld:Vehicle:{prefix}{i}", "type": "Vehicle",
             "speed": {"type": "Property", "value": i * 1.5, "observedAt": "2026-01-01T00:00:00Z"},
             "brandName": {"type": "Property", "value": f"Brand {i}"},
             "location": {"type": "GeoProperty",
                          "value": {"type": "Point", "coordinates": [134.0 + i / 100, 34.3]}},
             "isParked": {"type": "Relationship", "object": f"urn:ngsi-ld:Parking:{i}"},
             "fuel": {"type": "Property", "value": 40, "unitCode": "LTR"}} for i in range(20)]


def wrk(port, seconds, connections):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}{QUERY}"],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        return float(m.group(1)) * scale
    return rate, percentile(50), percentile(99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/tsunagu")
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    harness.BINARY = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="tsunagu-bench-federation-")
    servers = []

    def start(name, *extra):
        os.makedirs(os.path.join(work, name))
        s = harness.Server(data_dir=os.path.join(work, name),
                           args=["--sync", "normal", "--threads", "1", "--log-level", "warn",
                                 "--source-identity", name, *extra])
        s.start(timeout=60)
        servers.append(s)
        return s

    def register(broker, source):
        r = broker.request("POST", "/ngsi-ld/v1/csourceRegistrations", {
            "type": "ContextSourceRegistration",
            "information": [{"entities": [{"type": "Vehicle"}]}],
            "endpoint": f"http://127.0.0.1:{source.port}"})
        assert r.status == 201, r

    try:
        sources = [start(f"source{k}") for k in range(3)]
        for k, s in enumerate(sources):
            r = s.request("POST", "/ngsi-ld/v1/entityOperations/upsert", vehicles(f"s{k}-"))
            assert r.status in (201, 204), r
        one = start("broker1")
        register(one, sources[0])
        three = start("broker3")
        for s in sources:
            register(three, s)
        rows = [("local (a source asked directly)", sources[0]),
                ("broker asking 1 source", one),
                ("broker asking 3 sources", three)]
        results = {}
        print(f"{'query of 20 entities':34} {'rate/s (8 conn)':>16} {'p50 ms':>8} {'p99 ms':>8}")
        for label, server in rows:
            rate, _, _ = wrk(server.port, args.seconds, 8)
            _, p50, p99 = wrk(server.port, args.seconds, 1)
            results[label] = (rate, p50)
            print(f"{label:34} {rate:16.0f} {p50:8.3f} {p99:8.3f}")
        slowest = max(wrk(s.port, args.seconds, 1)[1] for s in sources)
        local_rate = results[rows[0][0]][0]
        print(f"\none source, rate as a fraction of local: "
              f"{results[rows[1][0]][0] / local_rate:.0%}")
        print(f"three sources, p50 over the slowest source's own p50: "
              f"{results[rows[2][0]][1] - slowest:.3f} ms")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
