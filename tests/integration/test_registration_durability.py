"""Context source registrations survive kill -9 (issue 18: "stored durably per tenant"): client
threads register, update and delete registrations in two tenants while the server is killed
with SIGKILL mid-load, twice on one data directory. After each restart every acknowledged
registration is there as last acknowledged, every acknowledged deletion stays deleted, and a
request in flight at the kill left either its before or its after state; the broker's own URI
(/info/sourceIdentity) stays the same. Both with --sync full and normal.

Run: python3 -m unittest tests/integration/test_registration_durability.py"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import OneDataDir  # noqa: E402

REGISTRATIONS = "/ngsi-ld/v1/csourceRegistrations"
WORKERS = 4
LOAD_SECONDS = 1.5
TENANTS = ("", "cityB")


def registration(rid, version):
    return {"id": rid, "type": "ContextSourceRegistration",
            "information": [{"entities": [{"type": "Vehicle"}], "propertyNames": ["speed"]}],
            "endpoint": f"http://source.example/v{version}", "version": version}


def tenant_headers(tenant):
    return {"NGSILD-Tenant": tenant} if tenant else {}


class Worker(threading.Thread):
    """Creates registrations of its own, then updates or deletes them, recording what each
    acknowledged request left: (tenant, id) -> endpoint version, or None once deleted. The
    request that the kill interrupts is kept as `in_flight`: (key, state before, state after)."""

    def __init__(self, server, index, cycle):
        super().__init__(daemon=True)
        self.server, self.index, self.cycle = server, index, cycle
        self.acked = {}
        self.in_flight = None
        self.errors = []
        self.stop = threading.Event()

    def run(self):
        conn = self.server.connection(timeout=10)
        n = 0
        while not self.stop.is_set():
            # Registration m is created, updated, and every fourth one deleted.
            m, step = divmod(n, 3)
            n += 1
            tenant = TENANTS[m % 2]
            rid = f"urn:ngsi-ld:ContextSourceRegistration:w{self.index}c{self.cycle}n{m}"
            key = (tenant, rid)
            if step == 0:
                method, path, body, after = "POST", REGISTRATIONS, registration(rid, 1), 1
            elif step == 1:
                method, path, body, after = ("PATCH", f"{REGISTRATIONS}/{rid}",
                                             {"endpoint": "http://source.example/v2",
                                              "version": 2}, 2)
            elif m % 4 == 0:
                method, path, body, after = "DELETE", f"{REGISTRATIONS}/{rid}", None, None
            else:
                continue
            self.in_flight = (key, self.acked.get(key), after)
            try:
                r = self.server.request(method, path, body, tenant_headers(tenant), conn=conn)
            except Exception:
                return  # the server was killed: this request stays in flight
            self.in_flight = None
            if r.status not in (201, 204):
                self.errors.append(f"{method} {path}: {r!r}")
                return
            self.acked[key] = after


class RegistrationDurability(OneDataDir):
    SERVER_ARGS = ()

    def read(self, server, key):
        tenant, rid = key
        r = server.request("GET", f"{REGISTRATIONS}/{rid}", headers=tenant_headers(tenant))
        if r.status == 404:
            return None
        self.assertEqual(r.status, 200, repr(r))
        body = r.json()
        return body["version"]

    def identity(self, server):
        r = server.request("GET", "/ngsi-ld/v1/info/sourceIdentity")
        self.assertEqual(r.status, 200, repr(r))
        return r.json()["id"]

    def test_kill_9_during_registration_writes(self):
        server = self.start_server()
        expected = {}
        # The broker's URI is made at its first start and kept (/info/sourceIdentity).
        source_id = self.identity(server)
        for cycle in range(2):
            workers = [Worker(server, i, cycle) for i in range(WORKERS)]
            for w in workers:
                w.start()
            time.sleep(LOAD_SECONDS)
            server.kill()
            for w in workers:
                w.stop.set()
                w.join(30)
            in_flight = {}
            for w in workers:
                self.assertEqual(w.errors, [])
                expected.update(w.acked)
                if w.in_flight:
                    key, before, after = w.in_flight
                    in_flight[key] = (before, after)
            acked = sum(len(w.acked) for w in workers)
            self.assertGreater(acked, 0, "no registration write was acknowledged")
            print(f"\n  [registrations] cycle {cycle}: {acked} registrations written, "
                  f"{len(in_flight)} requests in flight", file=sys.stderr)
            server = self.start_server()
            self.assertEqual(self.identity(server), source_id)
            problems = []
            for key, state in expected.items():
                got = self.read(server, key)
                allowed = {state} if key not in in_flight else set(in_flight[key])
                if got not in allowed:
                    problems.append(f"{key}: {got!r}, expected one of {allowed!r}")
            for key, (before, after) in in_flight.items():
                if key not in expected:
                    got = self.read(server, key)
                    if got not in (before, after):
                        problems.append(f"{key} (in flight): {got!r}")
                    expected[key] = got
                else:
                    expected[key] = self.read(server, key)
            self.assertEqual(problems, [])
        # Listing per tenant holds exactly the registrations that exist.
        for tenant in TENANTS:
            r = server.request("GET", f"{REGISTRATIONS}?local=true&limit=1000&count=true",
                               headers=tenant_headers(tenant))
            self.assertEqual(r.status, 200, repr(r))
            live = sum(1 for (t, _), v in expected.items() if t == tenant and v is not None)
            self.assertEqual(int(r.header("NGSILD-Results-Count")), live)
        server.stop()


class RegistrationDurabilitySyncNormal(RegistrationDurability):
    SERVER_ARGS = ("--sync", "normal", "--threads", "2")


if __name__ == "__main__":
    unittest.main()
