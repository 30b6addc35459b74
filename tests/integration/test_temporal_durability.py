"""History is as durable as the change it records (issue 17, "Capture"): client threads PATCH
readings into entities through the entity API and add instances through the temporal API while
the server is killed with SIGKILL, twice on the same data directory, with a checkpoint threshold
small enough that folds into SQLite happen under the load. After each restart every
acknowledged reading must be in the entity's history exactly once, in time order; readings sent
but not acknowledged may or may not be. Both --sync full and normal.

Run: python3 -m unittest tests/integration/test_temporal_durability.py"""

import http.client
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import OneDataDir  # noqa: E402

WORKERS = 4
LOAD_SECONDS = 2.0
T0 = 1767225600  # 2026-01-01T00:00:00Z


def observed(n):
    t = T0 + n
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Worker(threading.Thread):
    """Owns one entity; alternates a PATCH of `reading` through the entity API with an instance
    of `uploaded` through the temporal API, each numbered, observed n seconds after T0."""

    def __init__(self, server, eid, start):
        super().__init__(daemon=True)
        self.server, self.eid, self.n = server, eid, start
        self.acked = {"reading": [], "uploaded": []}
        self.sent = {"reading": set(), "uploaded": set()}
        self.stop = False
        self.errors = []
        self.conn = None

    def run(self):
        try:
            self.load()
        finally:
            if self.conn is not None:
                self.conn.close()

    def load(self):
        while not self.stop:
            self.n += 1
            attr = "reading" if self.n % 2 else "uploaded"
            instance = {"type": "Property", "value": self.n, "observedAt": observed(self.n)}
            if attr == "reading":
                path = f"/ngsi-ld/v1/entities/{self.eid}/attrs"
                method, ok = "PATCH", 204
            else:
                path = f"/ngsi-ld/v1/temporal/entities/{self.eid}/attrs"
                method, ok = "POST", 204
            self.sent[attr].add(self.n)
            try:
                self.conn = self.conn or self.server.connection(timeout=10)
                r = self.server.request(method, path, {attr: instance}, conn=self.conn)
            except (OSError, http.client.HTTPException):
                return  # the server went
            if r.status != ok:
                self.errors.append(repr(r))
                return
            self.acked[attr].append(self.n)


class TemporalDurability(OneDataDir):
    SERVER_ARGS = ("--checkpoint-mb", "1", "--temporal-max-instances", "1000000")

    def history(self, server, eid, attr):
        r = server.get(f"/ngsi-ld/v1/temporal/entities/{eid}?attrs={attr}&options=temporalValues")
        self.assertEqual(r.status, 200, repr(r))
        body = r.json()
        return [v[0] for v in body.get(attr, {}).get("values", [])]

    def test_kill_9_keeps_every_acknowledged_instance(self):
        server = self.start_server()
        eids = [f"urn:ngsi-ld:Meter:d{i}" for i in range(WORKERS)]
        for eid in eids:
            r = server.create({"id": eid, "type": "Meter",
                               "reading": {"type": "Property", "value": 0,
                                           "observedAt": observed(0)}})
            self.assertEqual(r.status, 201, repr(r))
        acked = {eid: {"reading": [0], "uploaded": []} for eid in eids}
        sent = {eid: {"reading": {0}, "uploaded": set()} for eid in eids}
        start = 0
        for cycle in range(2):
            workers = [Worker(server, eid, start) for eid in eids]
            for w in workers:
                w.start()
            time.sleep(LOAD_SECONDS)
            server.kill()
            for w in workers:
                w.stop = True
                w.join(30)
                self.assertEqual(w.errors, [])
                for attr in ("reading", "uploaded"):
                    acked[w.eid][attr] += w.acked[attr]
                    sent[w.eid][attr] |= w.sent[attr]
            start = max(w.n for w in workers) + 1
            total = sum(len(a["reading"]) + len(a["uploaded"]) for a in acked.values())
            self.assertGreater(total, 0)
            print(f"\n  [temporal durability] cycle {cycle}: {total} instances acknowledged",
                  file=sys.stderr)
            server = self.start_server()
            for eid in eids:
                for attr in ("reading", "uploaded"):
                    got = self.history(server, eid, attr)
                    self.assertEqual(got, sorted(got), f"{eid} {attr}: not in time order")
                    self.assertEqual(len(got), len(set(got)), f"{eid} {attr}: duplicates")
                    missing = set(acked[eid][attr]) - set(got)
                    self.assertEqual(missing, set(), f"{eid} {attr}: acknowledged but lost")
                    unknown = set(got) - sent[eid][attr]
                    self.assertEqual(unknown, set(), f"{eid} {attr}: never sent")
        server.stop()


class TemporalDurabilitySyncNormal(TemporalDurability):
    SERVER_ARGS = ("--checkpoint-mb", "1", "--temporal-max-instances", "1000000", "--sync",
                   "normal", "--threads", "2")


if __name__ == "__main__":
    unittest.main()
