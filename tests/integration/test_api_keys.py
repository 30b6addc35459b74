"""API keys for machines (issue 19, authentication): the administrator, whose secret is in the
--admin-key-file (made by the server when missing), creates, lists, rotates and revokes keys
through /admin/v1/apiKeys; a key opens the NGSI-LD API for its one tenant, for reading or for
writing, until it expires, is rotated away or revoked. Keys are durable (kill -9 right after the
201) and only their hashes are stored. Without --admin-key-file nothing changes: the API is
open and the admin API refuses clearly.

Run: python3 tests/integration/run.py test_api_keys"""

import base64
import datetime
import hashlib
import json
import os
import stat
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import jws  # noqa: E402
from harness import OneDataDir, Server  # noqa: E402

KEYS = "/admin/v1/apiKeys"
ENTITIES = "/ngsi-ld/v1/entities"


def entity(n):
    return {"id": f"urn:ngsi-ld:Sensor:key-{n}", "type": "Sensor",
            "level": {"type": "Property", "value": n}}


def api_key(secret):
    return {"Authorization": "ApiKey " + secret}


def in_tenant(headers, tenant):
    return dict(headers, **{"NGSILD-Tenant": tenant}) if tenant else dict(headers)


def iso(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_secret(path):
    with open(path) as f:
        return f.read().strip()


class AdminClient:
    """The admin API, as the administrator calls it."""

    def __init__(self, server, secret):
        self.server, self.headers = server, api_key(secret)

    def create(self, **body):
        return self.server.request("POST", KEYS, body, self.headers)

    def issue(self, **body):
        r = self.create(**body)
        assert r.status == 201, r
        return r.json()

    def get(self, path=""):
        return self.server.request("GET", KEYS + path, headers=self.headers)

    def rotate(self, key_id):
        return self.server.request("POST", f"{KEYS}/{key_id}/rotate", headers=self.headers)

    def revoke(self, key_id):
        return self.server.request("DELETE", f"{KEYS}/{key_id}", headers=self.headers)


class ApiKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.admin_file = os.path.join(cls.dir.name, "admin.key")
        cls.server = Server(args=["--admin-key-file", cls.admin_file]).start()
        cls.admin = AdminClient(cls.server, read_secret(cls.admin_file))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def assert_problem(self, r, status, says=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("content-type"), "application/json")
        body = r.json()
        self.assertEqual(body["status"], status)
        if says is not None:
            self.assertIn(says, body["detail"])
        return body

    def assert_refused(self, r, says=None):
        self.assert_problem(r, 401, says)
        self.assertEqual(r.header("www-authenticate"), 'ApiKey realm="ngsi-ld"')

    def test_admin_key_file_is_made_private_and_logged_once(self):
        secret = read_secret(self.admin_file)
        self.assertTrue(secret.startswith("tsk_"))
        self.assertEqual(stat.S_IMODE(os.stat(self.admin_file).st_mode), 0o600)
        log = self.server.read_log()
        self.assertEqual(log.count("admin_key_created"), 1)
        self.assertIn(self.admin_file, log)
        self.assertNotIn(secret, log)
        self.assertIn("API key required", log)

    def test_admin_api_needs_the_administrators_key(self):
        worker = self.admin.issue(name="worker", access="write")
        for headers in ({}, api_key("tsk_" + "x" * 43), api_key(worker["secret"]),
                        {"X-API-Key": worker["secret"]}, {"Authorization": "Bearer a.b.c"},
                        {"Authorization": "ApiKey "}):
            r = self.server.request("GET", KEYS, headers=headers)
            self.assert_problem(r, 401)
            self.assertEqual(r.header("www-authenticate"), 'ApiKey realm="admin"')
            r = self.server.request("POST", KEYS, {"name": "x", "access": "write"}, headers)
            self.assert_problem(r, 401)
        self.assertEqual(self.admin.get().status, 200)
        both = dict(api_key(read_secret(self.admin_file)), **{"X-API-Key": worker["secret"]})
        self.assert_problem(self.server.request("GET", KEYS, headers=both), 401, "more than one")

    def test_create_shows_the_secret_once_and_list_never(self):
        r = self.admin.create(name="bus-stop gateway", description="line 3",
                              tenant="city-a", access="write", expiresAt=iso(3600))
        self.assertEqual(r.status, 201, r)
        key = r.json()
        self.assertEqual(r.header("location"), f"{KEYS}/{key['id']}")
        self.assertEqual(r.header("cache-control"), "no-store")
        self.assertTrue(key["secret"].startswith("tsk_"))
        self.assertGreaterEqual(len(key["secret"]), 40)
        self.assertEqual((key["name"], key["description"], key["tenant"], key["access"]),
                         ("bus-stop gateway", "line 3", "city-a", "write"))
        self.assertIn("createdAt", key)
        self.assertIn("expiresAt", key)
        for r in (self.admin.get(), self.admin.get("/" + key["id"])):
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(key["secret"], r.body.decode())
            self.assertNotIn(key["secret"][4:], r.body.decode())
        listed = [k for k in self.admin.get().json() if k["id"] == key["id"]]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("secret", listed[0])
        self.assertNotIn("secretHash", listed[0])
        self.assertEqual(self.admin.get("/" + key["id"]).json()["tenant"], "city-a")
        self.assert_problem(self.admin.get("/urn:tsunagu:ApiKey:none"), 404, "does not exist")

    def test_create_names_the_wrong_member(self):
        cases = [
            ({"access": "read"}, "name"),
            ({"name": "n"}, "access"),
            ({"name": "n", "access": "root"}, "access"),
            ({"name": "", "access": "read"}, "name"),
            ({"name": 7, "access": "read"}, "name"),
            ({"name": "n", "access": "read", "tenant": "no spaces"}, "tenant"),
            ({"name": "n", "access": "read", "tenant": ""}, "tenant"),
            ({"name": "n", "access": "read", "expiresAt": "tomorrow"}, "expiresAt"),
            ({"name": "n", "access": "read", "expiresAt": iso(-60)}, "expiresAt"),
            ({"name": "n", "access": "read", "secret": "tsk_mine"}, "secret"),
            ({"name": "n", "access": "read", "role": "admin"}, "role"),
        ]
        for body, member in cases:
            r = self.admin.create(**body)
            problem = self.assert_problem(r, 400, member)
            self.assertEqual(problem["type"], "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
                             body)
        for raw in (b"[1]", b"\"key\"", b"{"):
            r = self.server.request("POST", KEYS, raw, dict(self.admin.headers,
                                                            **{"Content-Type": "application/json"}))
            self.assertEqual(r.status, 400, r)
        r = self.server.request("POST", KEYS, b"{}", dict(self.admin.headers,
                                                          **{"Content-Type": "text/plain"}))
        self.assertEqual(r.status, 415, r)

    def test_a_write_key_reads_and_writes_its_tenant_only(self):
        key = self.admin.issue(name="gateway", tenant="city-a", access="write")
        mine = in_tenant(api_key(key["secret"]), "city-a")
        self.assertEqual(self.server.create(entity(1), mine).status, 201)
        r = self.server.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:key-1", mine)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["level"]["value"], 1)
        other = in_tenant({"X-API-Key": key["secret"]}, "city-a")
        self.assertEqual(self.server.get(f"{ENTITIES}?type=Sensor", other).status, 200)
        # Another tenant, one that exists and one that does not, and the default tenant: the
        # same 403, which says nothing of which tenants exist.
        elsewhere = self.admin.issue(name="other city", tenant="city-x", access="write")
        self.assertEqual(self.server.create(
            entity(2), in_tenant(api_key(elsewhere["secret"]), "city-x")).status, 201)
        answers = []
        for tenant in ("city-x", "city-nowhere", None):
            r = self.server.get(f"{ENTITIES}?type=Sensor", in_tenant(api_key(key["secret"]), tenant))
            self.assert_problem(r, 403)
            self.assertIsNone(r.header("www-authenticate"))
            answers.append(r.body)
        self.assertEqual(len(set(answers)), 1, answers)
        self.assertNotIn(b"city-x", answers[0])
        r = self.server.create(entity(3), in_tenant(api_key(key["secret"]), "city-x"))
        self.assert_problem(r, 403)
        # The hosted @contexts are every tenant's: a key of one tenant reads them, never changes.
        r = self.server.request("POST", "/ngsi-ld/v1/jsonldContexts",
                                {"@context": {"level": "https://example.org/level"}}, mine)
        self.assert_problem(r, 403, "every tenant shares")
        r = self.server.request("DELETE", "/ngsi-ld/v1/jsonldContexts/anything", headers=mine)
        self.assert_problem(r, 403, "every tenant shares")
        self.assertEqual(self.server.get("/ngsi-ld/v1/jsonldContexts", mine).status, 200)
        r = self.server.get(f"{ENTITIES}?type=Sensor", in_tenant(api_key(key["secret"]), "city a"))
        self.assert_problem(r, 400, "NGSILD-Tenant")

    def test_a_read_key_may_read_and_query_but_not_write(self):
        writer = self.admin.issue(name="writer", access="write")
        reader = self.admin.issue(name="display", access="read")
        self.assertNotIn("tenant", reader)  # the default tenant
        self.assertEqual(self.server.create(entity(10), api_key(writer["secret"])).status, 201)
        read = api_key(reader["secret"])
        self.assertEqual(self.server.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:key-10", read).status, 200)
        self.assertEqual(self.server.request("HEAD", f"{ENTITIES}/urn:ngsi-ld:Sensor:key-10",
                                             headers=read).status, 200)
        r = self.server.request("POST", "/ngsi-ld/v1/entityOperations/query",
                                {"type": "Query", "entities": [{"type": "Sensor"}]}, read)
        self.assertEqual(r.status, 200, r)
        self.assertIn("urn:ngsi-ld:Sensor:key-10", [e["id"] for e in r.json()])
        r = self.server.request("POST", "/ngsi-ld/v1/temporal/entityOperations/query",
                                {"type": "Query", "entities": [{"type": "Sensor"}],
                                 "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}},
                                read)
        self.assertEqual(r.status, 200, r)
        writes = [
            ("POST", ENTITIES, entity(11)),
            ("PATCH", f"{ENTITIES}/urn:ngsi-ld:Sensor:key-10/attrs", {"level": {"type": "Property", "value": 5}}),
            ("DELETE", f"{ENTITIES}/urn:ngsi-ld:Sensor:key-10", None),
            ("POST", "/ngsi-ld/v1/entityOperations/upsert", [entity(12)]),
            ("POST", "/ngsi-ld/v1/subscriptions",
             {"type": "Subscription", "entities": [{"type": "Sensor"}],
              "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}),
        ]
        for method, path, body in writes:
            r = self.server.request(method, path, body, read)
            self.assert_problem(r, 403, "may only read")
        r = self.server.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:key-10", read)
        self.assertEqual(r.json()["level"]["value"], 10)  # nothing was written

    def test_rotation_stops_the_old_secret_at_once(self):
        key = self.admin.issue(name="rotating", access="write")
        self.assertEqual(self.server.get(f"{ENTITIES}?type=Sensor", api_key(key["secret"])).status, 200)
        r = self.admin.rotate(key["id"])
        self.assertEqual(r.status, 200, r)
        rotated = r.json()
        self.assertEqual(rotated["id"], key["id"])
        self.assertNotEqual(rotated["secret"], key["secret"])
        self.assertIn("lastRotatedAt", rotated)
        self.assert_refused(self.server.get(f"{ENTITIES}?type=Sensor", api_key(key["secret"])),
                            "not valid")
        self.assertEqual(
            self.server.get(f"{ENTITIES}?type=Sensor", api_key(rotated["secret"])).status, 200)
        self.assertIn("lastRotatedAt", self.admin.get("/" + key["id"]).json())
        self.assert_problem(self.admin.rotate("urn:tsunagu:ApiKey:none"), 404)

    def test_a_rotation_with_a_grace_period_keeps_the_old_secret_for_it(self):
        key = self.admin.issue(name="switching", access="read")
        listing = f"{ENTITIES}?type=Sensor"
        r = self.server.request("POST", f"{KEYS}/{key['id']}/rotate?graceSeconds=2",
                                headers=self.admin.headers)
        self.assertEqual(r.status, 200, r)
        rotated = r.json()
        self.assertIn("previousSecretValidUntil", rotated)
        for secret in (key["secret"], rotated["secret"]):
            self.assertEqual(self.server.get(listing, api_key(secret)).status, 200)
        time.sleep(2.5)
        self.assert_refused(self.server.get(listing, api_key(key["secret"])), "not valid")
        self.assertEqual(self.server.get(listing, api_key(rotated["secret"])).status, 200)
        self.assertNotIn("previousSecretValidUntil", self.admin.get("/" + key["id"]).json())
        for bad in ("-1", "soon", "604801", "1.5"):
            r = self.server.request("POST", f"{KEYS}/{key['id']}/rotate?graceSeconds={bad}",
                                    headers=self.admin.headers)
            self.assert_problem(r, 400, "graceSeconds")
        # A refused rotation changed nothing.
        self.assertEqual(self.server.get(listing, api_key(rotated["secret"])).status, 200)

    def test_revocation_stops_the_key(self):
        key = self.admin.issue(name="revoked", access="read")
        self.assertEqual(self.server.get(f"{ENTITIES}?type=Sensor", api_key(key["secret"])).status, 200)
        self.assertEqual(self.admin.revoke(key["id"]).status, 204)
        self.assert_refused(self.server.get(f"{ENTITIES}?type=Sensor", api_key(key["secret"])))
        self.assert_problem(self.admin.get("/" + key["id"]), 404)
        self.assert_problem(self.admin.revoke(key["id"]), 404)
        self.assertNotIn(key["id"], [k["id"] for k in self.admin.get().json()])

    def test_an_expired_key_is_refused(self):
        key = self.admin.issue(name="short-lived", access="read", expiresAt=iso(1.5))
        self.assertEqual(self.server.get(f"{ENTITIES}?type=Sensor", api_key(key["secret"])).status, 200)
        time.sleep(2)
        self.assert_refused(self.server.get(f"{ENTITIES}?type=Sensor", api_key(key["secret"])),
                            "expired")

    def test_requests_without_a_valid_key_are_refused(self):
        for headers in ({}, api_key("tsk_unknown"), {"X-API-Key": "nonsense"},
                        {"Authorization": "Bearer a.b.c"}):
            self.assert_refused(self.server.get(f"{ENTITIES}?type=Sensor", headers))
        self.assertEqual(self.server.request("GET", "/health").status, 200)
        self.assertEqual(self.server.request("GET", "/metrics").status, 200)


class Durability(OneDataDir):
    """A key acknowledged with 201 survives kill -9, and its secret is nowhere in the data
    directory; a restart without --admin-key-file keeps the keys (and so the API) closed."""

    def setUp(self):
        super().setUp()
        self.key_dir = tempfile.TemporaryDirectory()
        self.admin_file = os.path.join(self.key_dir.name, "admin.key")

    def tearDown(self):
        super().tearDown()
        self.key_dir.cleanup()

    def stored_files_holding(self, needle):
        found = []
        for dirpath, _, files in os.walk(self.data_dir):
            for name in files:
                if name == "server.log":
                    continue
                with open(os.path.join(dirpath, name), "rb") as f:
                    if needle.encode() in f.read():
                        found.append(name)
        return found

    def test_kill_9_after_create_keeps_the_key_and_no_secret(self):
        server = self.start_server("--admin-key-file", self.admin_file)
        admin = AdminClient(server, read_secret(self.admin_file))
        key = admin.issue(name="survivor", tenant="city-k", access="write")
        server.kill()
        # The record is there, in plain text, with the hash of the secret; the secret is not.
        self.assertNotEqual(self.stored_files_holding(key["id"]), [])
        digest = base64.urlsafe_b64encode(
            hashlib.sha256(key["secret"].encode()).digest()).rstrip(b"=").decode()
        self.assertNotEqual(self.stored_files_holding(digest), [])
        self.assertEqual(self.stored_files_holding(key["secret"]), [])
        self.assertEqual(self.stored_files_holding(key["secret"][4:]), [])

        server = self.start_server("--admin-key-file", self.admin_file)
        headers = in_tenant(api_key(key["secret"]), "city-k")
        self.assertEqual(server.create(entity(20), headers).status, 201)
        listed = AdminClient(server, read_secret(self.admin_file)).get().json()
        self.assertEqual([k["name"] for k in listed], ["survivor"])
        server.kill()
        self.assertEqual(self.stored_files_holding(key["secret"]), [])

        server = self.start_server()  # no --admin-key-file
        self.assertEqual(server.get(f"{ENTITIES}?type=Sensor").status, 401)
        self.assertEqual(server.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:key-20", headers).status, 200)
        r = server.request("GET", KEYS, headers=api_key(read_secret(self.admin_file)))
        self.assertEqual(r.status, 403, r)
        self.assertIn("API key required", server.read_log())


class WithoutAdminKeyFile(unittest.TestCase):
    """The README's start command: no setup, nothing closed, the admin API off and saying why."""

    def test_the_api_stays_open_and_the_admin_api_says_it_is_off(self):
        with Server() as server:
            self.assertEqual(server.create(entity(30)).status, 201)
            self.assertEqual(server.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:key-30").status, 200)
            r = server.request("GET", KEYS)
            self.assertEqual(r.status, 403, r)
            self.assertIn("--admin-key-file", r.json()["detail"])
            r = server.request("POST", KEYS, {"name": "x", "access": "write"})
            self.assertEqual(r.status, 403, r)
            self.assertIn("open: no --auth-issuer", server.read_log())

    def test_a_short_admin_secret_stops_the_start(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "admin.key")
            with open(path, "w") as f:
                f.write("short\n")
            os.chmod(path, 0o600)
            server = Server(args=["--admin-key-file", path])
            with self.assertRaises(RuntimeError) as failed:
                server.start()
            self.assertIn("shorter than 20 characters", str(failed.exception))


class WithBearerTokens(unittest.TestCase):
    """Bearer tokens and API keys together: either opens the API; each 401 offers both."""

    def test_either_credential_opens_the_api(self):
        with tempfile.TemporaryDirectory() as d:
            signing = jws.SigningKey("ES256", "ec-1")
            jwks = os.path.join(d, "jwks.json")
            with open(jwks, "w") as f:
                json.dump({"keys": [signing.jwk]}, f)
            admin_file = os.path.join(d, "admin.key")
            with Server(args=["--auth-jwks-file", jwks, "--admin-key-file", admin_file]) as server:
                now = int(time.time())
                token = signing.sign({"sub": "dashboard", "iat": now, "exp": now + 300})
                key = AdminClient(server, read_secret(admin_file)).issue(name="k", access="read")
                path = f"{ENTITIES}?type=Sensor"
                self.assertEqual(server.get(path, {"Authorization": "Bearer " + token}).status, 200)
                self.assertEqual(server.get(path, api_key(key["secret"])).status, 200)
                r = server.get(path)
                self.assertEqual(r.status, 401)
                self.assertEqual(r.header("www-authenticate"),
                                 'Bearer realm="ngsi-ld", ApiKey realm="ngsi-ld"')
                self.assertIn("bearer token or an API key", r.json()["detail"])
                self.assertEqual(server.get(path, {"Authorization": "Bearer x.y.z"}).status, 401)
                self.assertIn("bearer token or API key required", server.read_log())


if __name__ == "__main__":
    unittest.main()
