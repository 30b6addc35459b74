"""Tenants as municipalities (issue 19): the administrator gives a tenant its settings through
/admin/v1/tenants (a name for people, a municipality code, a licence, quotas and browser
origins), and the server applies them to every NGSI-LD request: a request rate answered 429 with
Retry-After beyond its bucket, an entity quota (403 for a creation past it), CORS per tenant,
and with --tenants registered only the tenants made there exist. Settings are durable (kill -9
right after the 201).

Run: python3 tests/integration/run.py test_tenants"""

import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import OneDataDir, Server  # noqa: E402
from test_subscriptions import Receiver  # noqa: E402

TENANTS = "/admin/v1/tenants"
ENTITIES = "/ngsi-ld/v1/entities"


def entity(n, kind="Sensor"):
    return {"id": f"urn:ngsi-ld:{kind}:tenant-{n}", "type": kind,
            "level": {"type": "Property", "value": n}}


def read_secret(path):
    with open(path) as f:
        return f.read().strip()


class Admin:
    """The administrator's calls: tenants, and a write key per tenant for the NGSI-LD API."""

    def __init__(self, server, secret):
        self.server, self.headers = server, {"Authorization": "ApiKey " + secret}

    def tenant(self, method, path="", body=None):
        return self.server.request(method, TENANTS + path, body, self.headers)

    def make_tenant(self, **body):
        r = self.tenant("POST", body=body)
        assert r.status == 201, r
        return r.json()

    def key_for(self, tenant):
        body = {"name": "test", "access": "write"}
        if tenant:
            body["tenant"] = tenant
        r = self.server.request("POST", "/admin/v1/apiKeys", body, self.headers)
        assert r.status == 201, r
        headers = {"Authorization": "ApiKey " + r.json()["secret"]}
        if tenant:
            headers["NGSILD-Tenant"] = tenant
        return headers


class TenantTest(unittest.TestCase):
    def assert_problem(self, r, status, says=None):
        self.assertEqual(r.status, status, r)
        body = r.json()
        self.assertEqual(body["status"], status)
        if says is not None:
            self.assertIn(says, body["detail"])
        return body


class Tenants(TenantTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        admin_file = os.path.join(cls.dir.name, "admin.key")
        cls.server = Server(args=["--admin-key-file", admin_file]).start()
        cls.admin = Admin(cls.server, read_secret(admin_file))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def test_settings_are_made_changed_and_removed(self):
        made = self.admin.make_tenant(
            name="kurume", displayName="久留米市", municipalityCode="402036",
            licence="https://creativecommons.org/licenses/by/4.0/",
            quotas={"entities": 1000, "requestsPerSecond": 50},
            cors={"allowedOrigins": ["https://map.kurume.example"]})
        self.assertEqual(made["name"], "kurume")
        self.assertEqual(made["type"], "Tenant")
        self.assertEqual(made["displayName"], "久留米市")
        self.assertEqual(made["quotas"], {"entities": 1000, "requestsPerSecond": 50, "burst": 50})
        self.assertEqual(made["cors"], {"allowedOrigins": ["https://map.kurume.example"]})
        self.assertIn("createdAt", made)
        self.assert_problem(self.admin.tenant("POST", body={"name": "kurume"}), 409)

        r = self.admin.tenant("GET", "/kurume")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), made)
        self.assertIn("kurume", [t["name"] for t in self.admin.tenant("GET").json()])

        r = self.admin.tenant("PATCH", "/kurume", {"quotas": {"entities": 5},
                                                   "displayName": "Kurume"})
        self.assertEqual(r.status, 200, r)
        changed = r.json()
        self.assertEqual(changed["quotas"], {"entities": 5, "requestsPerSecond": 50, "burst": 50})
        self.assertEqual(changed["displayName"], "Kurume")
        self.assertEqual(changed["municipalityCode"], "402036")
        self.assertEqual(changed["createdAt"], made["createdAt"])
        self.assert_problem(self.admin.tenant("PATCH", "/kurume", {"name": "other"}), 400, "name")
        self.assert_problem(self.admin.tenant("PATCH", "/nowhere", {"displayName": "x"}), 404)

        self.assertEqual(self.admin.tenant("DELETE", "/kurume").status, 204)
        self.assert_problem(self.admin.tenant("GET", "/kurume"), 404)
        self.assert_problem(self.admin.tenant("DELETE", "/kurume"), 404)

    def test_bad_settings_are_refused_naming_the_member(self):
        for body, member in (
                ({}, "name"),
                ({"name": "a b"}, "name"),
                ({"name": "x", "colour": "red"}, "colour"),
                ({"name": "x", "quotas": {"entities": -1}}, "quotas.entities"),
                ({"name": "x", "quotas": {"requestsPerSecond": "fast"}}, "requestsPerSecond"),
                ({"name": "x", "quotas": {"bytes": 1}}, "bytes"),
                ({"name": "x", "cors": {"allowedOrigins": ["https://a.example/"]}}, "origin"),
                ({"name": "x", "cors": {"allowedOrigins": "https://a.example"}}, "allowedOrigins"),
                ({"name": "x", "licence": "CC BY 4.0"}, "licence"),
                ({"name": "x", "municipalityCode": "40/2036"}, "municipalityCode"),
                ({"name": "x", "createdAt": "2026-01-01T00:00:00Z"}, "createdAt"),
                ([], "object")):
            r = self.admin.tenant("POST", body=body)
            self.assert_problem(r, 400, member)
        self.assert_problem(self.admin.tenant("GET", "/x"), 404)
        # Not the administrator: refused before anything is read.
        r = self.server.request("POST", TENANTS, {"name": "y"})
        self.assert_problem(r, 401)

    def test_a_tenant_over_its_rate_gets_429_with_retry_after(self):
        self.admin.make_tenant(name="rated", quotas={"requestsPerSecond": 2, "burst": 4})
        rated, other = self.admin.key_for("rated"), self.admin.key_for("unrated")
        for headers in (rated, other):  # the tenants exist from their first entity on
            self.assertEqual(self.server.create(entity("rate"), headers).status, 201)
        conn = self.server.connection()
        answers = [self.server.request("GET", ENTITIES + "?type=Sensor", headers=rated, conn=conn)
                   for _ in range(10)]
        statuses = [r.status for r in answers]
        # The create took one request of the 4 the bucket holds.
        self.assertEqual(statuses[:3], [200] * 3, statuses)
        self.assertIn(429, statuses[3:])
        r = answers[statuses.index(429)]
        body = self.assert_problem(r, 429, "request rate")
        self.assertEqual(body["title"], "Too many requests")
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        # Another tenant has its own budget (none here).
        for _ in range(20):
            self.assertEqual(self.server.request("GET", ENTITIES + "?type=Sensor",
                                                 headers=other).status, 200)
        # The bucket fills again at the rate.
        time.sleep(1.1)
        self.assertEqual(self.server.request("GET", ENTITIES + "?type=Sensor",
                                             headers=rated).status, 200)
        metrics = self.server.request("GET", "/metrics").body.decode()
        self.assertIn('tsunagu_requests_limited_total{tenant="rated"}', metrics)
        # A caller without a valid key does not spend the tenant's budget: it is refused first.
        forged = {"Authorization": "ApiKey tsk_" + "x" * 43, "NGSILD-Tenant": "rated"}
        for _ in range(10):
            self.assertEqual(self.server.request("GET", ENTITIES + "?type=Sensor",
                                                 headers=forged).status, 401)
        self.assertEqual(self.server.request("GET", ENTITIES + "?type=Sensor",
                                             headers=rated).status, 200)
        # A rate of 0 is no limit.
        r = self.admin.tenant("PATCH", "/rated", {"quotas": {"requestsPerSecond": 0}})
        self.assertEqual(r.json()["quotas"], {}, r)
        for _ in range(10):
            self.assertEqual(self.server.request("GET", ENTITIES + "?type=Sensor",
                                                 headers=rated).status, 200)

    def test_an_entity_quota_refuses_creations_past_it(self):
        self.admin.make_tenant(name="small", quotas={"entities": 3})
        small = self.admin.key_for("small")
        for n in range(3):
            self.assertEqual(self.server.create(entity(n), small).status, 201)
        self.assert_problem(self.server.create(entity(3), small), 403, "quota of 3 entities")
        # A batch gets one error per entity it could not create.
        r = self.server.request("POST", "/ngsi-ld/v1/entityOperations/upsert",
                                [entity(0), entity(4)], small)
        self.assertEqual(r.status, 207, r)
        result = r.json()
        self.assertEqual(result["success"], ["urn:ngsi-ld:Sensor:tenant-0"])
        self.assertEqual(result["errors"][0]["entityId"], "urn:ngsi-ld:Sensor:tenant-4")
        self.assertEqual(result["errors"][0]["error"]["status"], 403)
        # Updates go on; a deletion makes room.
        r = self.server.request("PATCH", ENTITIES + "/urn:ngsi-ld:Sensor:tenant-1/attrs",
                                {"level": {"type": "Property", "value": 9}}, small)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.server.request("DELETE", ENTITIES + "/urn:ngsi-ld:Sensor:tenant-2",
                                             headers=small).status, 204)
        self.assertEqual(self.server.create(entity(3), small).status, 201)
        r = self.server.request("GET", ENTITIES + "?type=Sensor&count=true&limit=0", headers=small)
        self.assertEqual(r.header("ngsild-results-count"), "3")

    def test_a_notification_rate_paces_notifications_and_loses_none(self):
        self.admin.make_tenant(name="paced", quotas={"notificationsPerSecond": 5})
        key = self.admin.key_for("paced")
        receiver = Receiver()
        self.addCleanup(receiver.close)
        r = self.server.request("POST", "/ngsi-ld/v1/subscriptions", {
            "type": "Subscription", "entities": [{"type": "Sensor"}],
            "notification": {"endpoint": {"uri": receiver.url}, "format": "keyValues"}}, key)
        self.assertEqual(r.status, 201, r)
        started = time.monotonic()
        for n in range(20):
            self.assertEqual(self.server.create(entity(n, "Sensor"), key).status, 201)
        got = receiver.wait_for(20, timeout=30)
        elapsed = time.monotonic() - started
        # Every one, in order; at 5 a second after the first, 19 more take at least 3.8 s.
        self.assertEqual([n["data"][0]["level"] for _, n in got], list(range(20)))
        self.assertGreater(elapsed, 3.0)
        metrics = self.server.request("GET", "/metrics").body.decode()
        self.assertIn('tsunagu_notifications_paced_total{tenant="paced"}', metrics)

    def test_cors_follows_the_tenant(self):
        self.admin.make_tenant(name="browsed",
                               cors={"allowedOrigins": ["https://dash.browsed.example"]})
        browsed = self.admin.key_for("browsed")
        other = self.admin.key_for("elsewhere")
        for headers in (browsed, other):
            self.assertEqual(self.server.create(entity("cors"), headers).status, 201)
        origin = {"Origin": "https://dash.browsed.example"}
        # The preflight carries no credentials nor tenant: an origin some tenant allows passes.
        r = self.server.request("OPTIONS", ENTITIES, headers=dict(
            origin, **{"Access-Control-Request-Method": "POST",
                       "Access-Control-Request-Headers": "authorization, ngsild-tenant"}))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("access-control-allow-origin"), origin["Origin"])
        self.assertIn("POST", r.header("access-control-allow-methods"))
        self.assertIn("GET", r.header("access-control-allow-methods"))
        self.assertIn("NGSILD-Tenant", r.header("access-control-allow-headers"))
        self.assertIn("Authorization", r.header("access-control-allow-headers"))
        r = self.server.request("OPTIONS", ENTITIES, headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        self.assertEqual(r.status, 204, r)
        self.assertIsNone(r.header("access-control-allow-origin"))
        # OPTIONS without the preflight's headers is still a method the path lacks.
        self.assert_problem(self.server.request("OPTIONS", ENTITIES), 405)

        r = self.server.request("GET", ENTITIES + "?type=Sensor", headers=dict(browsed, **origin))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("access-control-allow-origin"), origin["Origin"])
        self.assertIn("NGSILD-Results-Count", r.header("access-control-expose-headers"))
        self.assertEqual(r.header("vary"), "Origin")
        # Another tenant does not allow that origin.
        r = self.server.request("GET", ENTITIES + "?type=Sensor", headers=dict(other, **origin))
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("access-control-allow-origin"))
        # A refusal is readable by the page, so it can ask its user to log in.
        r = self.server.request("GET", ENTITIES + "?type=Sensor",
                                headers=dict(origin, **{"NGSILD-Tenant": "browsed"}))
        self.assert_problem(r, 401)
        self.assertEqual(r.header("access-control-allow-origin"), origin["Origin"])

    def test_open_data_is_read_without_credentials_and_written_with_them(self):
        made = self.admin.make_tenant(name="opendata", publicRead=True)
        self.assertIs(made["publicRead"], True)
        key = self.admin.key_for("opendata")
        self.assertEqual(self.server.create(entity("open"), key).status, 201)
        anyone = {"NGSILD-Tenant": "opendata"}
        r = self.server.get(ENTITIES + "/urn:ngsi-ld:Sensor:tenant-open", anyone)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.server.get(ENTITIES + "?type=Sensor", anyone).status, 200)
        # Writes still need a credential, and a wrong credential is still refused.
        r = self.server.request("PATCH", ENTITIES + "/urn:ngsi-ld:Sensor:tenant-open/attrs",
                                {"level": {"type": "Property", "value": 2}}, anyone)
        self.assert_problem(r, 401)
        forged = dict(anyone, Authorization="ApiKey tsk_" + "y" * 43)
        self.assert_problem(self.server.get(ENTITIES + "?type=Sensor", forged), 401)
        # Other tenants stay closed; closing this one takes effect at once.
        self.admin.key_for("closed")
        self.assert_problem(self.server.get(ENTITIES + "?type=Sensor",
                                            {"NGSILD-Tenant": "closed"}), 401)
        self.assertEqual(self.admin.tenant("PATCH", "/opendata", {"publicRead": False}).status,
                         200)
        self.assert_problem(self.server.get(ENTITIES + "?type=Sensor", anyone), 401)
        self.assert_problem(self.admin.tenant("PATCH", "/opendata", {"publicRead": "yes"}), 400,
                            "publicRead")

    def test_a_tenants_administrator_manages_its_tenant_only(self):
        self.admin.make_tenant(name="town", quotas={"entities": 100})
        self.admin.make_tenant(name="other")
        r = self.server.request("POST", "/admin/v1/apiKeys",
                                {"name": "town admin", "tenant": "town", "access": "admin"},
                                self.admin.headers)
        self.assertEqual(r.status, 201, r)
        town_admin = {"Authorization": "ApiKey " + r.json()["secret"]}
        foreign = self.server.request("POST", "/admin/v1/apiKeys",
                                      {"name": "other's", "tenant": "other", "access": "write"},
                                      self.admin.headers).json()

        def call(method, path, body=None):
            return self.server.request(method, "/admin/v1" + path, body, town_admin)

        # Its tenant's keys: made without naming the tenant, listed, rotated, revoked.
        r = call("POST", "/apiKeys", {"name": "gateway", "access": "write"})
        self.assertEqual(r.status, 201, r)
        gateway = r.json()
        self.assertEqual(gateway["tenant"], "town")
        self.assert_problem(call("POST", "/apiKeys", {"name": "x", "access": "read",
                                                      "tenant": "other"}), 403, "own tenant")
        listed = call("GET", "/apiKeys").json()
        self.assertEqual({k["tenant"] for k in listed}, {"town"})
        self.assertNotIn(foreign["id"], [k["id"] for k in listed])
        self.assertEqual(call("POST", f"/apiKeys/{gateway['id']}/rotate").status, 200)
        for method, path in (("GET", ""), ("POST", "/rotate"), ("DELETE", "")):
            self.assert_problem(call(method, f"/apiKeys/{foreign['id']}{path}"), 404)
        self.assertEqual(call("DELETE", f"/apiKeys/{gateway['id']}").status, 204)

        # Its settings, to read and change but its quotas; the rest is the server
        # administrator's.
        self.assertEqual([t["name"] for t in call("GET", "/tenants").json()], ["town"])
        self.assertEqual(call("GET", "/tenants/town").json()["quotas"], {"entities": 100})
        self.assert_problem(call("GET", "/tenants/other"), 404)
        self.assert_problem(call("PATCH", "/tenants/town", {"quotas": {"entities": 10**6}}), 403,
                            "server administrator")
        roles = [{"name": "reader-of-bins", "rules": [{"access": "read", "types": ["Bin"]}]}]
        r = call("PATCH", "/tenants/town", {"roles": roles, "displayName": "Town"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["displayName"], r.json()["roles"][0]["name"],
                          r.json()["quotas"]), ("Town", "reader-of-bins", {"entities": 100}))
        self.assert_problem(call("PATCH", "/tenants/other", {"displayName": "mine"}), 404)
        self.assert_problem(call("POST", "/tenants", {"name": "mine"}), 403)
        self.assert_problem(call("DELETE", "/tenants/other"), 403)

        # The NGSI-LD API of its tenant, and no other.
        headers = dict(town_admin, **{"NGSILD-Tenant": "town"})
        self.assertEqual(self.server.create(entity("admin"), headers).status, 201)
        self.assert_problem(self.server.create(entity("admin"),
                                               dict(town_admin, **{"NGSILD-Tenant": "other"})), 403)

        # Its tenant's audit log only.
        r = call("GET", "/auditLog?limit=1000")
        self.assertEqual(r.status, 200, r)
        records = r.json()
        self.assertTrue(records)
        self.assertEqual({rec["tenant"] for rec in records}, {"town"})
        self.assertIn("createEntity", {rec["operation"] for rec in records})
        self.assert_problem(call("GET", "/auditLog?tenant=other"), 403, "its tenant only")
        # A key that may write is not an administrator's.
        writer = self.admin.key_for("town")
        r = self.server.request("GET", "/admin/v1/apiKeys", headers=writer)
        self.assert_problem(r, 401, "not an administrator's")


class RegisteredTenants(OneDataDir, TenantTest):
    def test_only_registered_tenants_exist_and_settings_survive_kill_9(self):
        admin_file = os.path.join(self.data_dir, "admin.key")
        server = self.start_server("--admin-key-file", admin_file, "--tenants", "registered",
                                   "--cors-origins", "https://everywhere.example")
        admin = Admin(server, read_secret(admin_file))
        stray = admin.key_for("stray")
        r = server.create(entity(1), stray)
        self.assert_problem(r, 404, "made")
        self.assertEqual(r.json()["type"], "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant")
        self.assert_problem(server.get(ENTITIES + "?type=Sensor", stray), 404)
        # The default tenant always exists.
        self.assertEqual(server.create(entity(1), admin.key_for("")).status, 201)
        admin.make_tenant(name="stray", quotas={"entities": 1})
        self.assertEqual(server.create(entity(1), stray).status, 201)
        # The server-wide origin is allowed on every tenant.
        r = server.get(ENTITIES + "?type=Sensor",
                       dict(stray, Origin="https://everywhere.example"))
        self.assertEqual(r.header("access-control-allow-origin"), "https://everywhere.example")
        server.kill()

        server = self.start_server("--admin-key-file", admin_file, "--tenants", "registered")
        admin = Admin(server, read_secret(admin_file))
        r = admin.tenant("GET", "/stray")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["quotas"], {"entities": 1})
        self.assert_problem(server.create(entity(2), admin.key_for("stray")), 403, "quota")
        self.assertEqual(admin.tenant("DELETE", "/stray").status, 204)
        self.assert_problem(server.get(ENTITIES + "?type=Sensor", admin.key_for("stray")), 404)


class DeletedTenants(OneDataDir, TenantTest):
    def test_a_tenant_deleted_with_its_data_is_gone_after_kill_9(self):
        admin_file = os.path.join(self.data_dir, "admin.key")
        server = self.start_server("--admin-key-file", admin_file)
        admin = Admin(server, read_secret(admin_file))
        admin.make_tenant(name="doomed", quotas={"entities": 100000})
        doomed, kept = admin.key_for("doomed"), admin.key_for("kept")
        # More entities than one deletion transaction takes, history, a subscription, a
        # registration and API keys; and another tenant that must keep all of its own.
        batch = "/ngsi-ld/v1/entityOperations/create"
        for start in range(0, 5000, 1000):
            r = server.request("POST", batch, [entity(n) for n in range(start, start + 1000)],
                               doomed)
            self.assertEqual(r.status, 201, r)
        self.assertEqual(server.create(entity(1), kept).status, 201)
        for headers in (doomed, kept):
            r = server.request("POST", "/ngsi-ld/v1/subscriptions", {
                "type": "Subscription", "entities": [{"type": "Sensor"}],
                "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}, headers)
            self.assertEqual(r.status, 201, r)
            r = server.request("POST", "/ngsi-ld/v1/csourceRegistrations", {
                "type": "ContextSourceRegistration", "endpoint": "http://127.0.0.1:9",
                "information": [{"entities": [{"type": "Bus"}]}]}, headers)
            self.assertEqual(r.status, 201, r)
        history = ("/ngsi-ld/v1/temporal/entities?type=Sensor&timerel=after"
                   "&timeAt=2000-01-01T00:00:00Z")
        self.assertEqual(len(server.get(history, doomed).json()), 20)
        self.assert_problem(admin.tenant("DELETE", "/doomed?withData=maybe"), 400, "withData")
        r = admin.tenant("DELETE", "/doomed?withData=true")
        self.assertEqual(r.status, 204, r)
        server.kill()

        server = self.start_server("--admin-key-file", admin_file)
        admin = Admin(server, read_secret(admin_file))
        self.assert_problem(admin.tenant("GET", "/doomed"), 404)
        self.assertEqual(server.get(ENTITIES + "?type=Sensor", doomed).status, 401)
        fresh = admin.key_for("doomed")
        for path in (ENTITIES + "?type=Sensor", "/ngsi-ld/v1/subscriptions",
                     "/ngsi-ld/v1/csourceRegistrations?type=Bus", history):
            with self.subTest(path=path):
                r = server.get(path, fresh)
                self.assertEqual((r.status, r.json()), (200, []), r)
        for path in (ENTITIES + "?type=Sensor", "/ngsi-ld/v1/subscriptions",
                     "/ngsi-ld/v1/csourceRegistrations?type=Bus"):
            with self.subTest(kept=path):
                self.assertEqual(len(server.get(path, kept).json()), 1)
        # Without withData only the settings go.
        admin.make_tenant(name="kept")
        self.assertEqual(admin.tenant("DELETE", "/kept").status, 204)
        self.assertEqual(len(server.get(ENTITIES + "?type=Sensor", kept).json()), 1)


if __name__ == "__main__":
    unittest.main()
