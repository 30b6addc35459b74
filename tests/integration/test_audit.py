"""The audit log (issue 19): every write and every refused request of the NGSI-LD and admin APIs
is recorded with who, when, what and from where, in DATA_DIR/audit (one file of JSON lines per
UTC day, only appended to), and the server administrator queries it at /admin/v1/auditLog. Reads
are not recorded; a load of concurrent writes appears exactly once each, also after kill -9;
day files past --audit-retention-days are deleted; --audit off records nothing.

Run: python3 tests/integration/run.py test_audit"""

import datetime
import glob
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import OneDataDir, Server  # noqa: E402

AUDIT = "/admin/v1/auditLog"
KEYS = "/admin/v1/apiKeys"
ENTITIES = "/ngsi-ld/v1/entities"
MEMBERS = {"time", "tenant", "subject", "operation", "method", "path", "status", "remote"}


def api_key(secret):
    return {"Authorization": "ApiKey " + secret}


def read_secret(path):
    with open(path) as f:
        return f.read().strip()


def sensor(eid, value=0):
    return {"id": eid, "type": "Sensor", "level": {"type": "Property", "value": value}}


def audit_lines(data_dir):
    """Every record of the day files, as the files hold them."""
    records = []
    for path in sorted(glob.glob(os.path.join(data_dir, "audit", "*.jsonl"))):
        with open(path) as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def concurrent_writes(server, headers, paths, connections=8):
    """PATCHes each path once over `connections` keep-alive connections; returns the paths
    acknowledged with 204."""
    acked, lock = [], threading.Lock()
    body = json.dumps({"level": {"type": "Property", "value": 1}})

    def worker(part):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            for path in part:
                conn.request("PATCH", path, body=body,
                             headers=dict(headers, **{"Content-Type": "application/json"}))
                r = conn.getresponse()
                r.read()
                if r.status == 204:
                    with lock:
                        acked.append(path)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(paths[i::connections],))
               for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked


class Admin:
    def __init__(self, server, admin_file):
        self.server, self.headers = server, api_key(read_secret(admin_file))

    def issue(self, **body):
        r = self.server.request("POST", KEYS, body, self.headers)
        assert r.status == 201, r
        return r.json()

    def audit(self, **params):
        return self.server.request("GET", AUDIT + "?" + urllib.parse.urlencode(params),
                                   headers=self.headers)

    def records(self, **params):
        r = self.audit(**params)
        assert r.status == 200, r
        return r.json()

    def all_records(self, **params):
        """Every matching record, page by page (1,000 at most each)."""
        out, offset = [], 0
        while True:
            page = self.records(limit=1000, offset=offset, **params)
            out.extend(page)
            if len(page) < 1000:
                return out
            offset += 1000


class AuditLog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.admin_file = os.path.join(cls.dir.name, "admin.key")
        cls.server = Server(args=["--admin-key-file", cls.admin_file]).start()
        cls.admin = Admin(cls.server, cls.admin_file)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def assert_problem(self, r, status, says):
        self.assertEqual(r.status, status, r)
        self.assertIn(says, r.json()["detail"])

    def test_writes_and_refusals_are_recorded_reads_are_not(self):
        writer = self.admin.issue(name="gateway", tenant="city-a", access="write")
        reader = self.admin.issue(name="display", tenant="city-a", access="read")
        mine = dict(api_key(writer["secret"]), **{"NGSILD-Tenant": "city-a"})
        read = dict(api_key(reader["secret"]), **{"NGSILD-Tenant": "city-a"})
        eid = "urn:ngsi-ld:Sensor:audit-1"
        before = time.time()
        self.assertEqual(self.server.create(sensor(eid), mine).status, 201)
        self.assertEqual(self.server.get(f"{ENTITIES}/{eid}?options=keyValues", mine).status, 200)
        self.assertEqual(self.server.request("HEAD", f"{ENTITIES}/{eid}", headers=read).status, 200)
        self.assertEqual(self.server.request("POST", "/ngsi-ld/v1/entityOperations/query",
                                             {"type": "Query", "entities": [{"type": "Sensor"}]},
                                             read).status, 200)
        patch = f"{ENTITIES}/{eid}/attrs?options=noOverwrite"
        self.assertEqual(self.server.request("PATCH", f"{ENTITIES}/{eid}/attrs",
                                             {"level": {"type": "Property", "value": 2}},
                                             read).status, 403)
        self.assertEqual(self.server.request("POST", patch, "{", dict(
            mine, **{"Content-Type": "application/json"})).status, 400)
        self.assertEqual(self.server.get(f"{ENTITIES}/{eid}", {"NGSILD-Tenant": "city-a"}).status,
                         401)

        mine_records = self.admin.records(subject=writer["id"], order="oldest")
        self.assertEqual([(r["operation"], r["method"], r["status"]) for r in mine_records],
                         [("createEntity", "POST", 201), ("appendAttrs", "POST", 400)])
        created = mine_records[0]
        self.assertEqual(set(created), MEMBERS)
        self.assertEqual(created["tenant"], "city-a")
        self.assertEqual(created["path"], ENTITIES)
        self.assertEqual(mine_records[1]["path"], patch)  # the query string is kept
        self.assertTrue(created["remote"].startswith("127.0.0.1:"), created)
        at = datetime.datetime.fromisoformat(created["time"].replace("Z", "+00:00")).timestamp()
        self.assertLessEqual(before - 1, at)
        self.assertLessEqual(at, time.time() + 1)
        # The read key's refused write, not its reads (HEAD, the query POST).
        self.assertEqual([(r["operation"], r["status"], r["tenant"])
                          for r in self.admin.records(subject=reader["id"])],
                         [("updateEntity", 403, "city-a")])
        anonymous = self.admin.records(subject="", operation="retrieveEntity", tenant="city-a")
        self.assertEqual([(r["status"], r["path"]) for r in anonymous], [(401, f"{ENTITIES}/{eid}")])
        # The administrator's writes, under the admin API and no tenant.
        issued = self.admin.records(subject="administrator", operation="createApiKey", limit=2)
        self.assertEqual([(r["path"], r["status"], r["tenant"]) for r in issued],
                         [(KEYS, 201, "")] * 2)
        # Secrets travel in headers, which are never recorded.
        stored = json.dumps(audit_lines(self.server.data_dir))
        for secret in (writer["secret"], reader["secret"], read_secret(self.admin_file)):
            self.assertNotIn(secret, stored)

    def test_the_admin_apis_refusals_are_recorded_and_its_reads_are_not(self):
        r = self.server.request("GET", AUDIT + "?limit=1", headers=api_key("tsk_" + "x" * 43))
        self.assertEqual(r.status, 401)
        refused = self.admin.records(operation="queryAuditLog")
        self.assertEqual([(r["status"], r["subject"], r["path"]) for r in refused],
                         [(401, "", AUDIT + "?limit=1")])
        # The administrator's own queries (reads) are not.
        self.assertEqual(self.admin.records(operation="queryAuditLog", status=200), [])

    def test_filters_window_order_and_count(self):
        key = self.admin.issue(name="filtered", tenant="city-f", access="write")
        headers = dict(api_key(key["secret"]), **{"NGSILD-Tenant": "city-f"})
        for n in range(5):
            self.assertEqual(self.server.create(sensor(f"urn:ngsi-ld:Sensor:f-{n}"), headers).status,
                             201)
        self.assertEqual(self.server.create(sensor("urn:ngsi-ld:Sensor:f-0"), headers).status, 409)
        newest = self.admin.records(subject=key["id"])
        self.assertEqual([r["status"] for r in newest], [409, 201, 201, 201, 201, 201])
        times = [r["time"] for r in newest]
        self.assertEqual(times, sorted(times, reverse=True))
        oldest = self.admin.records(subject=key["id"], order="oldest")
        self.assertEqual(oldest, list(reversed(newest)))

        r = self.admin.audit(subject=key["id"], limit=2, offset=1, count="true")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), newest[1:3])
        self.assertEqual(r.header("ngsild-results-count"), "6")
        self.assertIsNone(self.admin.audit(subject=key["id"]).header("ngsild-results-count"))
        r = self.admin.audit(subject=key["id"], limit=0, count="true")
        self.assertEqual((r.json(), r.header("ngsild-results-count")), ([], "6"))

        self.assertEqual(len(self.admin.records(subject=key["id"], status=201)), 5)
        self.assertEqual(len(self.admin.records(subject=key["id"], status="4xx")), 1)
        self.assertEqual(len(self.admin.records(tenant="city-f", operation="createEntity")), 6)
        self.assertEqual(self.admin.records(tenant="city-nowhere"), [])
        # since is inclusive, until exclusive.
        window = self.admin.records(subject=key["id"], since=oldest[1]["time"],
                                    until=oldest[3]["time"], order="oldest")
        self.assertEqual(window, oldest[1:3])
        self.assertEqual(len(self.admin.records(subject=key["id"], until="2000-01-01T00:00:00Z")), 0)

    def test_bad_parameters_are_400_naming_them(self):
        for params, name in [
            ({"limit": "1001"}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": "-1"}, "offset"),
            ({"since": "yesterday"}, "since"), ({"until": "2026-13-01T00:00:00Z"}, "until"),
            ({"since": "2026-12-07T00:00:00Z", "until": "2026-12-06T00:00:00Z"}, "until"),
            ({"status": "99"}, "status"), ({"status": "6xx"}, "status"),
            ({"status": "40x"}, "status"), ({"order": "up"}, "order"),
            ({"count": "maybe"}, "count"), ({"tenant": "no spaces"}, "tenant"),
            ({"operation": ""}, "operation"), ({"user": "x"}, "user"),
        ]:
            r = self.admin.audit(**params)
            self.assertEqual(r.status, 400, (params, r))
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertIn(name, r.json()["detail"], params)

    def test_a_load_of_concurrent_writes_appears_exactly_once_each(self):
        key = self.admin.issue(name="load", tenant="city-load", access="write")
        headers = dict(api_key(key["secret"]), **{"NGSILD-Tenant": "city-load"})
        n = 2000
        ids = [f"urn:ngsi-ld:Sensor:load-{i}" for i in range(n)]
        for start in range(0, n, 1000):
            r = self.server.request("POST", "/ngsi-ld/v1/entityOperations/create",
                                    [sensor(e) for e in ids[start:start + 1000]], headers)
            self.assertEqual(r.status, 201, r)
        paths = [f"{ENTITIES}/{e}/attrs" for e in ids]
        acked = concurrent_writes(self.server, headers, paths)
        self.assertEqual(len(acked), n)
        records = self.admin.all_records(subject=key["id"], operation="updateEntity")
        self.assertEqual(len(records), n)
        self.assertEqual(sorted(r["path"] for r in records), sorted(paths))
        self.assertEqual({r["status"] for r in records}, {204})
        r = self.admin.audit(subject=key["id"], count="true", limit=0)
        self.assertEqual(r.header("ngsild-results-count"), str(n + 2))  # and the two batches

    def test_metrics_count_what_is_written_and_dropped(self):
        self.assertEqual(self.server.create(sensor("urn:ngsi-ld:Sensor:m"), {}).status, 401)
        self.admin.records(limit=1)  # waits until what is queued is written
        text = self.server.get("/metrics").body.decode()
        written = [line for line in text.splitlines()
                   if line.startswith("tsunagu_audit_records_written_total")]
        self.assertEqual(len(written), 1, text[-2000:])
        self.assertGreater(float(written[0].split()[-1]), 0)


class AuditFiles(OneDataDir):
    """What survives kill -9, retention of day files, and --audit off."""

    def setUp(self):
        super().setUp()
        self.key_dir = tempfile.TemporaryDirectory()
        self.admin_file = os.path.join(self.key_dir.name, "admin.key")
        self.audit_dir = os.path.join(self.data_dir, "audit")

    def tearDown(self):
        super().tearDown()
        self.key_dir.cleanup()

    def test_kill_9_after_a_flushed_load_keeps_every_acknowledged_write(self):
        server = self.start_server("--admin-key-file", self.admin_file)
        admin = Admin(server, self.admin_file)
        key = admin.issue(name="crash", access="write")
        headers = api_key(key["secret"])
        ids = [f"urn:ngsi-ld:Sensor:crash-{i}" for i in range(500)]
        r = server.request("POST", "/ngsi-ld/v1/entityOperations/create",
                           [sensor(e) for e in ids], headers)
        self.assertEqual(r.status, 201, r)
        acked = concurrent_writes(server, headers, [f"{ENTITIES}/{e}/attrs" for e in ids])
        self.assertEqual(len(acked), len(ids))
        time.sleep(0.5)  # the writer thread gathers for 10 ms, then writes
        server.kill()
        on_disk = [r["path"] for r in audit_lines(self.data_dir)
                   if r["subject"] == key["id"] and r["operation"] == "updateEntity"]
        self.assertEqual(sorted(on_disk), sorted(acked))

        server = self.start_server("--admin-key-file", self.admin_file)
        admin = Admin(server, self.admin_file)
        after = admin.all_records(subject=key["id"], operation="updateEntity")
        self.assertEqual(sorted(r["path"] for r in after), sorted(acked))
        # Appended to, never rewritten: the next write joins the same day's file.
        self.assertEqual(server.create(sensor("urn:ngsi-ld:Sensor:after"), headers).status, 201)
        self.assertEqual(len(admin.records(subject=key["id"], operation="createEntity")), 1)

    def test_a_stop_writes_what_is_queued(self):
        server = self.start_server()
        for n in range(50):
            self.assertEqual(server.create(sensor(f"urn:ngsi-ld:Sensor:stop-{n}")).status, 201)
        server.stop()
        records = [r for r in audit_lines(self.data_dir) if r["operation"] == "createEntity"]
        self.assertEqual(len(records), 50)
        self.assertEqual({r["subject"] for r in records}, {""})  # an open server: anonymous

    def test_retention_deletes_day_files_past_the_period(self):
        os.makedirs(self.audit_dir)
        today = datetime.datetime.now(datetime.timezone.utc).date()
        recent = (today - datetime.timedelta(days=2)).isoformat()
        names = ["2001-01-01.jsonl", recent + ".jsonl", "notes.txt"]
        for name in names:
            with open(os.path.join(self.audit_dir, name), "w") as f:
                f.write("{}\n")
        server = self.start_server("--audit-retention-days", "30")
        self.assertEqual(sorted(os.listdir(self.audit_dir)), sorted(names[1:]))
        self.assertIn("audit_day_deleted", server.read_log())
        server.stop()
        # 0 keeps every day; 1 deletes the one of two days ago.
        with open(os.path.join(self.audit_dir, "2001-01-01.jsonl"), "w") as f:
            f.write("{}\n")
        self.start_server("--audit-retention-days", "0").stop()
        self.assertIn("2001-01-01.jsonl", os.listdir(self.audit_dir))
        self.start_server("--audit-retention-days", "1").stop()
        self.assertEqual(os.listdir(self.audit_dir), ["notes.txt"])

    def test_audit_off_records_nothing(self):
        server = self.start_server("--admin-key-file", self.admin_file, "--audit", "off")
        admin = Admin(server, self.admin_file)
        key = admin.issue(name="unrecorded", access="write")
        self.assertEqual(server.create(sensor("urn:ngsi-ld:Sensor:off"), api_key(key["secret"]))
                         .status, 201)
        self.assertEqual(server.create(sensor("urn:ngsi-ld:Sensor:off")).status, 401)
        r = admin.audit()
        self.assertEqual(r.status, 422, r)
        self.assertIn("--audit off", r.json()["detail"])
        server.stop()
        self.assertEqual(audit_lines(self.data_dir), [])

    def test_behind_a_trusted_proxy_the_forwarded_client_is_recorded(self):
        forwarded = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
        # Not trusted: the header is anyone's word, and the peer is recorded.
        server = self.start_server()
        self.assertEqual(server.create(sensor("urn:ngsi-ld:Sensor:direct"), forwarded).status, 201)
        server.stop()
        # Trusted: the proxy appended the client's address last.
        server = self.start_server("--trusted-proxies", "127.0.0.0/8, ::1")
        self.assertEqual(server.create(sensor("urn:ngsi-ld:Sensor:proxied"), forwarded).status,
                         201)
        server.stop()
        records = [r for r in audit_lines(self.data_dir) if r["operation"] == "createEntity"]
        self.assertEqual(len(records), 2, records)
        self.assertTrue(records[0]["remote"].startswith("127.0.0.1:"), records[0])
        self.assertEqual(records[1]["remote"], "203.0.113.7")
        with self.assertRaises(RuntimeError) as caught:
            self.start_server("--trusted-proxies", "proxy.example", timeout=10)
        self.assertIn("proxy.example", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
