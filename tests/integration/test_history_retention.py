"""History retention (issue 17): with a retention period, instances older than it are forgotten
by a background pass, per tenant, and stay forgotten after a restart; what is younger stays.
With the checkpoint folding often, the space the old instances took goes back: the database
file shrinks.

Run: python3 -m unittest tests/integration/test_history_retention.py"""

import datetime
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import OneDataDir  # noqa: E402

BASE = "/ngsi-ld/v1/temporal/entities"
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def instances(days_back, count, rng=None):
    """`count` readings spread evenly over the last `days_back` days, oldest first; with `rng`,
    random doubles (which compress least)."""
    step = datetime.timedelta(days=days_back) / count
    return [{"type": "Property", "value": rng.random() * 100 if rng else n,
             "observedAt": iso(NOW - (count - n) * step)}
            for n in range(count)]


class TemporalServers(OneDataDir):
    """What the tests send and read, on servers one after another on one data directory."""

    SERVER_ARGS = ("--checkpoint-mb", "1", "--temporal-max-instances", "1000000")

    def provision(self, server, eid, tenant=None, days_back=10, count=2000, rng=None,
                  credential=None):
        headers = {"NGSILD-Tenant": tenant} if tenant else {}
        headers.update(credential or {})
        readings = instances(days_back, count, rng)
        for part in range(0, count, 500):
            body = {"id": eid, "type": "Meter", "power": readings[part:part + 500]}
            r = server.request("POST", BASE, body, headers)
            self.assertIn(r.status, (201, 204), repr(r))

    def times(self, server, eid, tenant=None, credential=None):
        headers = {"NGSILD-Tenant": tenant} if tenant else {}
        headers.update(credential or {})
        r = server.request("GET", f"{BASE}/{eid}?options=temporalValues", headers=headers)
        self.assertEqual(r.status, 200, repr(r))
        values = r.json().get("power", {}).get("values", [])
        return [datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) for _, t in values]

    def wait_for(self, check, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        self.fail("gave up waiting: " + what)



class HistoryRetention(TemporalServers):
    def test_old_instances_go_per_tenant_and_stay_gone(self):
        server = self.start_server()
        self.provision(server, "urn:ngsi-ld:Meter:r1")
        self.provision(server, "urn:ngsi-ld:Meter:r2", tenant="keeper")
        self.assertEqual(len(self.times(server, "urn:ngsi-ld:Meter:r1")), 2000)
        server.stop()
        # Three days for the default tenant, everything for "keeper".
        server = self.start_server("--history-retention-days", "3", "--history-retention-tenants",
                                   "keeper=0", "--history-retention-check-s", "1")
        limit = NOW - datetime.timedelta(days=3, seconds=5)
        self.wait_for(lambda: min(self.times(server, "urn:ngsi-ld:Meter:r1")) > limit,
                      "the default tenant's old instances to go")
        kept = self.times(server, "urn:ngsi-ld:Meter:r1")
        # 2,000 over ten days: the last three days hold about 600.
        self.assertGreater(len(kept), 550)
        self.assertLess(len(kept), 650)
        self.assertEqual(len(self.times(server, "urn:ngsi-ld:Meter:r2", "keeper")), 2000)
        # The current entity is not history: it keeps its latest value.
        r = server.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Meter:r1")
        self.assertEqual(r.status, 200, repr(r))
        server.stop()
        server = self.start_server()
        self.assertEqual(self.times(server, "urn:ngsi-ld:Meter:r1"), kept)

    def fill_log(self, server, megabytes):
        """Writes about `megabytes` of log (one entity, replaced again and again), so that the
        log store folds what came before into the database."""
        note = "x" * 20000
        for n in range(megabytes * 50):
            r = server.request("POST", "/ngsi-ld/v1/entityOperations/upsert",
                               [{"id": "urn:ngsi-ld:Filler:1", "type": "Filler",
                                 "note": {"type": "Property", "value": f"{n}{note}"}}])
            self.assertIn(r.status, (201, 204), repr(r))

    def test_a_tenants_settings_give_its_own_period(self):
        admin_file = os.path.join(self.data_dir, "admin.key")
        server = self.start_server("--admin-key-file", admin_file,
                                   "--history-retention-check-s", "1")
        with open(admin_file) as f:
            admin = {"Authorization": "ApiKey " + f.read().strip()}

        def key(tenant):
            r = server.request("POST", "/admin/v1/apiKeys",
                               {"name": tenant, "tenant": tenant, "access": "write"}, admin)
            self.assertEqual(r.status, 201, repr(r))
            return {"Authorization": "ApiKey " + r.json()["secret"]}
        r = server.request("POST", "/admin/v1/tenants",
                           {"name": "brief", "retention": {"historyDays": 3}}, admin)
        self.assertEqual((r.status, r.json().get("retention")), (201, {"historyDays": 3}))
        brief, lasting = key("brief"), key("lasting")
        self.provision(server, "urn:ngsi-ld:Meter:s1", "brief", credential=brief)
        self.provision(server, "urn:ngsi-ld:Meter:s2", "lasting", credential=lasting)
        limit = NOW - datetime.timedelta(days=3, seconds=5)
        self.wait_for(lambda: min(self.times(server, "urn:ngsi-ld:Meter:s1", "brief",
                                             brief)) > limit,
                      "the tenant's old instances to go")
        self.assertEqual(len(self.times(server, "urn:ngsi-ld:Meter:s2", "lasting", lasting)),
                         2000)
        # Back to the server's period (none): nothing more goes.
        r = server.request("PATCH", "/admin/v1/tenants/brief",
                           {"retention": {"historyDays": None}}, admin)
        self.assertEqual((r.status, "retention" in r.json()), (200, False))
        r = server.request("PATCH", "/admin/v1/tenants/brief",
                           {"retention": {"historyDays": -1}}, admin)
        self.assertEqual(r.status, 400, repr(r))

    def test_the_space_goes_back(self):
        server = self.start_server()
        rng = random.Random(7)
        for n in range(40):
            self.provision(server, f"urn:ngsi-ld:Meter:s{n}", days_back=30, count=5000, rng=rng)
        self.fill_log(server, 3)
        time.sleep(2)
        server.stop()
        db = os.path.join(self.data_dir, "tsunagu.db")
        before = os.path.getsize(db)
        server = self.start_server("--history-retention-days", "1",
                                   "--history-retention-check-s", "1")
        self.wait_for(lambda: len(self.times(server, "urn:ngsi-ld:Meter:s0")) < 200,
                      "the old instances to go")
        self.fill_log(server, 3)
        time.sleep(2)
        server.stop()
        after = os.path.getsize(db)
        print(f"\n  [retention] database {before} bytes before, {after} after", file=sys.stderr)
        self.assertLess(after, before * 0.5)


class HistoryOff(TemporalServers):
    """--history off: writes keep no history and the temporal API answers 422
    (OperationNotSupported); what was kept
    before stays, and is read again once history is back on."""

    def test_off_keeps_none_and_loses_nothing_kept(self):
        server = self.start_server()
        self.provision(server, "urn:ngsi-ld:Meter:o1", count=10)
        server.stop()
        server = self.start_server("--history", "off")
        r = server.get(f"{BASE}/urn:ngsi-ld:Meter:o1")
        self.assertEqual(r.status, 422, repr(r))
        self.assertEqual(r.json()["type"],
                         "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported")
        r = server.request("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Meter:o1/attrs",
                           {"power": {"type": "Property", "value": 99,
                                      "observedAt": iso(NOW)}})
        self.assertEqual(r.status, 204, repr(r))
        server.stop()
        server = self.start_server()
        self.assertEqual(len(self.times(server, "urn:ngsi-ld:Meter:o1")), 10)


if __name__ == "__main__":
    unittest.main()
