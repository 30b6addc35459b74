"""Durability of acknowledged writes (DESIGN: "A write that got a 2xx is never lost when the
process is killed"): client threads create entities and PATCH counters while the server is
killed with SIGKILL mid-load, three times on the same data directory; then the same under a
graceful SIGTERM, which must also exit with code 0. Restart times are printed, not asserted.

Run: python3 -m unittest tests/integration/test_durability.py"""

import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402
from integration_support import ENTITIES  # noqa: E402

WORKERS = 4
LOAD_SECONDS = 2.0
JSON = {"Content-Type": "application/json"}


def initial_entity(eid, label):
    return {
        "id": eid, "type": "Counter",
        "counter": {"type": "Property", "value": 0},
        # "a" and "b" only ever change together (one PATCH .../attrs): they must stay equal.
        "a": {"type": "Property", "value": 0},
        "b": {"type": "Property", "value": 0},
        "label": {"type": "Property", "value": label},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [135.5, 34.7]}},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:" + label},
    }


class Ledger:
    """What the clients know: per entity, the last acknowledged and the last sent value of
    "counter" and of the pair "a"/"b"; creates acknowledged or left in flight."""

    def __init__(self):
        self.lock = threading.Lock()
        self.owned = {w: [] for w in range(WORKERS)}  # worker -> acknowledged entity ids
        self.acked = {}  # id -> {"counter": v, "pair": v}
        self.sent = {}   # id -> {"counter": v, "pair": v}
        self.labels = {}
        self.pending_creates = set()  # sent, no 201 seen
        self.acks_this_run = 0

    def entities(self):
        return len(self.acked)


class Load:
    """WORKERS client threads writing until stopped or until the server goes away."""

    def __init__(self, server, ledger, tag):
        self.server, self.ledger, self.tag = server, ledger, tag
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(w,)) for w in range(WORKERS)]
        self.errors = []

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def run(self, w):
        led, rng = self.ledger, random.Random(hash((self.tag, w)))
        conn = self.server.connection(timeout=30)
        n = 0
        try:
            while not self.stop.is_set():
                mine = led.owned[w]
                if not mine or rng.random() < 0.25:
                    n += 1
                    eid = f"urn:ngsi-ld:Counter:{self.tag}-w{w}-{n}"
                    label = f"{self.tag}-w{w}-{n}"
                    with led.lock:
                        led.pending_creates.add(eid)
                        led.labels[eid] = label
                    r = self.server.request("POST", ENTITIES, initial_entity(eid, label), JSON,
                                            conn=conn)
                    if r.status != 201:
                        self.errors.append(f"create {eid}: {r!r}")
                        return
                    with led.lock:
                        led.pending_creates.discard(eid)
                        led.acked[eid] = {"counter": 0, "pair": 0}
                        led.sent[eid] = {"counter": 0, "pair": 0}
                        led.acks_this_run += 1
                        mine.append(eid)
                    continue
                eid = rng.choice(mine)
                key = "pair" if rng.random() < 0.25 else "counter"
                with led.lock:
                    v = led.sent[eid][key] + 1
                    led.sent[eid][key] = v
                if key == "counter":
                    r = self.server.request("PATCH", f"{ENTITIES}/{eid}/attrs/counter",
                                            {"type": "Property", "value": v}, JSON, conn=conn)
                else:
                    r = self.server.request("PATCH", f"{ENTITIES}/{eid}/attrs",
                                            {"a": {"type": "Property", "value": v},
                                             "b": {"type": "Property", "value": v}}, JSON,
                                            conn=conn)
                if r.status != 204:
                    self.errors.append(f"patch {eid} {key}={v}: {r!r}")
                    return
                with led.lock:
                    led.acked[eid][key] = v
                    led.acks_this_run += 1
        except OSError:
            return  # the server is gone: whatever was in flight stays unacknowledged
        finally:
            conn.close()


class Durability(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="tsunagu-durability-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop(signal.SIGKILL)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def start_server(self, label):
        s = Server(data_dir=self.data_dir)
        self.servers.append(s)
        t0 = time.monotonic()
        s.start(timeout=60)
        print(f"\n  [durability] {label}: start took {time.monotonic() - t0:.3f} s",
              file=sys.stderr)
        return s

    def run_load(self, server, ledger, tag, finish_server):
        ledger.acks_this_run = 0
        load = Load(server, ledger, tag).start()
        time.sleep(LOAD_SECONDS)
        finish_server()
        load.finish()
        self.assertEqual(load.errors, [], "requests failed while the server was up")
        self.assertGreater(ledger.acks_this_run, 0, "no write was acknowledged during the load")
        print(f"  [durability] {tag}: {ledger.acks_this_run} writes acknowledged, "
              f"{len(ledger.pending_creates)} creates in flight, "
              f"{ledger.entities()} entities known", file=sys.stderr)

    def verify(self, server, ledger):
        """Checks the restarted server against the ledger, then makes what it holds the new
        baseline (a value sent but not acknowledged may or may not have survived)."""
        problems = []
        conn = server.connection()
        try:
            for eid in sorted(ledger.acked):
                r = server.request("GET", f"{ENTITIES}/{eid}", conn=conn)
                if r.status != 200:
                    problems.append(f"acknowledged create {eid} lost: {r!r}")
                    continue
                got = r.json()
                problems += self.check_entity(eid, got, ledger.labels[eid],
                                              ledger.acked[eid], ledger.sent[eid])
                observed = {"counter": got["counter"]["value"], "pair": got["a"]["value"]}
                ledger.acked[eid] = dict(observed)
                ledger.sent[eid] = dict(observed)
            for eid in sorted(ledger.pending_creates):
                r = server.request("GET", f"{ENTITIES}/{eid}", conn=conn)
                if r.status == 404:
                    continue
                if r.status != 200:
                    problems.append(f"unacknowledged create {eid}: {r!r}")
                    continue
                zero = {"counter": 0, "pair": 0}
                problems += self.check_entity(eid, r.json(), ledger.labels[eid], zero, zero)
                ledger.acked[eid] = dict(zero)
                ledger.sent[eid] = dict(zero)
                worker = int(eid.rsplit("-w", 1)[1].split("-")[0])
                ledger.owned[worker].append(eid)
            ledger.pending_creates.clear()
        finally:
            conn.close()
        self.assertEqual(problems, [])

    @staticmethod
    def check_entity(eid, got, label, acked, sent):
        """Well-formed, all attributes present, values within [acknowledged, sent]."""
        expected = initial_entity(eid, label)
        problems = []
        if set(got) != set(expected):
            return [f"{eid}: members {sorted(got)} instead of {sorted(expected)}"]
        for k in ("id", "type", "label", "location", "owner"):
            if got[k] != expected[k]:
                problems.append(f"{eid}: {k} = {got[k]!r}, expected {expected[k]!r}")
        for k in ("counter", "a", "b"):
            if set(got[k]) != {"type", "value"} or got[k]["type"] != "Property" or \
                    not isinstance(got[k]["value"], int):
                problems.append(f"{eid}: {k} is malformed: {got[k]!r}")
        if problems:
            return problems
        c, a, b = got["counter"]["value"], got["a"]["value"], got["b"]["value"]
        if not acked["counter"] <= c <= sent["counter"]:
            problems.append(f"{eid}: counter {c} outside [acknowledged {acked['counter']}, "
                            f"sent {sent['counter']}]")
        if a != b:
            problems.append(f"{eid}: a={a} b={b}: a PATCH of both was half applied")
        if not acked["pair"] <= a <= sent["pair"]:
            problems.append(f"{eid}: a/b {a} outside [acknowledged {acked['pair']}, "
                            f"sent {sent['pair']}]")
        return problems

    def test_kill_9_under_load_three_times(self):
        ledger = Ledger()
        server = self.start_server("fresh data dir")
        for cycle in range(3):
            self.run_load(server, ledger, f"k{cycle}", server.kill)
            self.assertEqual(server.proc.returncode, -signal.SIGKILL)
            server = self.start_server(f"after kill -9 #{cycle + 1} "
                                       f"({ledger.entities()} entities)")
            self.verify(server, ledger)
        server.stop()

    def test_sigterm_under_load(self):
        ledger = Ledger()
        server = self.start_server("fresh data dir")

        def terminate():
            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(60)
            except Exception:
                pass

        self.run_load(server, ledger, "term", terminate)
        code = server.stop()
        self.assertEqual(code, 0, "exit code after SIGTERM:\n" + server.read_log())
        server = self.start_server(f"after SIGTERM ({ledger.entities()} entities)")
        self.verify(server, ledger)
        server.stop()


if __name__ == "__main__":
    unittest.main()
