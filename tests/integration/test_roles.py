"""Roles of a tenant (issue 19): the administrator defines roles in a tenant's settings, each a
list of rules that open entities by type, id pattern and scope for reading or for writing, and
gives them to API keys and, through the tenant claim, to bearer tokens. A caller with a role
sees only the entities its rules cover (retrieval, queries with their counts, batch queries,
discovery), as if the others did not exist, and changes only those a write rule covers, before
and after the change. Routes that cannot apply rules refuse it.

Run: python3 tests/integration/run.py test_roles"""

import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jws  # noqa: E402
from harness import Server  # noqa: E402
from test_subscriptions import Receiver  # noqa: E402

TENANT = "takamatsu"
ENTITIES = "/ngsi-ld/v1/entities"
BATCH = "/ngsi-ld/v1/entityOperations"
AUDIENCE = "tsunagu-roles-test"
ALL_TYPES = "Bus,BusStop,Park,Sensor"

ROLES = [
    {"name": "bus-operator", "description": "the bus company's gateway",
     "rules": [{"access": "write", "types": ["Bus"], "idPattern": "urn:ngsi-ld:Bus:.*"},
               {"access": "read", "types": ["BusStop"]}]},
    {"name": "parks-keeper",
     "rules": [{"access": "write", "scopeQ": "/Takamatsu/Parks/#"}]},
    {"name": "parks-reader",
     "rules": [{"access": "read", "scopeQ": "/Takamatsu/Parks/#"}]},
]


def entity(kind, n, scope=None, **attrs):
    e = {"id": f"urn:ngsi-ld:{kind}:{n}", "type": kind,
         "level": {"type": "Property", "value": n}}
    if scope:
        e["scope"] = scope
    for name, value in attrs.items():
        e[name] = {"type": "Property", "value": value}
    return e


def ids(r):
    return sorted(e["id"] for e in r.json())


class Roles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        admin_file = os.path.join(cls.dir.name, "admin.key")
        cls.signing = jws.SigningKey("ES256", "ec-roles")
        jwks = os.path.join(cls.dir.name, "jwks.json")
        with open(jwks, "w") as f:
            json.dump({"keys": [cls.signing.jwk]}, f)
        cls.server = Server(args=["--admin-key-file", admin_file, "--auth-jwks-file", jwks,
                                  "--auth-audience", AUDIENCE,
                                  "--auth-tenant-claim", "tenants"]).start()
        with open(admin_file) as f:
            cls.admin = {"Authorization": "ApiKey " + f.read().strip()}
        r = cls.server.request("POST", "/admin/v1/tenants", {"name": TENANT, "roles": ROLES},
                               cls.admin)
        assert r.status == 201, r
        cls.full = cls.key("write")
        cls.bus = cls.key("write", "bus-operator")
        cls.parks = cls.key("write", "parks-keeper")
        cls.parks_reader = cls.key("read", "parks-reader")
        for e in (entity("Bus", 1), entity("Bus", 2), entity("BusStop", 1),
                  entity("Park", 1, "/Takamatsu/Parks/North"),
                  entity("Sensor", 1, "/Takamatsu/Water")):
            r = cls.server.request("POST", ENTITIES, e, cls.full)
            assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    @classmethod
    def key(cls, access, role=None):
        body = {"name": f"{access}-{role}", "tenant": TENANT, "access": access}
        if role:
            body["role"] = role
        r = cls.server.request("POST", "/admin/v1/apiKeys", body, cls.admin)
        assert r.status == 201, r
        return {"Authorization": "ApiKey " + r.json()["secret"], "NGSILD-Tenant": TENANT}

    def call(self, method, path, headers, body=None):
        return self.server.request(method, path, body, headers)

    def assert_problem(self, r, status, says=None):
        self.assertEqual(r.status, status, r)
        if says is not None:
            self.assertIn(says, r.json()["detail"])

    def test_a_query_returns_and_counts_only_what_the_role_may_read(self):
        r = self.call("GET", f"{ENTITIES}?type={ALL_TYPES}&count=true&limit=100", self.bus)
        self.assertEqual(r.status, 200, r)
        visible = [i for i in ids(r) if ":Bus:" in i or ":BusStop:" in i]
        self.assertEqual(ids(r), visible)
        self.assertIn("urn:ngsi-ld:BusStop:1", ids(r))
        self.assertEqual(int(r.header("NGSILD-Results-Count")), len(ids(r)))
        # Paging over what the role sees: one at a time, the same entities.
        seen = []
        for offset in range(len(ids(r)) + 1):
            page = self.call("GET", f"{ENTITIES}?type={ALL_TYPES}&limit=1&offset={offset}",
                             self.bus)
            seen += ids(page)
        self.assertEqual(sorted(seen), ids(r))
        # By scope: the parks' reader sees the park, not the water sensor.
        r = self.call("GET", f"{ENTITIES}?type={ALL_TYPES}&count=true", self.parks_reader)
        self.assertEqual(ids(r), ["urn:ngsi-ld:Park:1"])
        self.assertEqual(r.header("NGSILD-Results-Count"), "1")
        # The batch query too, and a q that would match an entity the role cannot see.
        r = self.call("POST", f"{BATCH}/query?count=true", self.parks_reader,
                      {"type": "Query", "entities": [{"type": "Sensor"}, {"type": "Park"}]})
        self.assertEqual(ids(r), ["urn:ngsi-ld:Park:1"])
        r = self.call("GET", f"{ENTITIES}?type=Sensor&q=level==1&count=true", self.bus)
        self.assertEqual((r.json(), r.header("NGSILD-Results-Count")), ([], "0"))

    def test_an_entity_the_role_may_not_read_is_absent(self):
        unseen = self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Park:1", self.bus)
        absent = self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Park:404", self.bus)
        self.assertEqual(unseen.status, 404, unseen)
        self.assertEqual(unseen.json()["detail"].replace("Park:1", "Park:404"),
                         absent.json()["detail"])
        self.assertEqual(self.call("GET", f"{ENTITIES}/urn:ngsi-ld:BusStop:1", self.bus).status,
                         200)
        # Writes to it are absent too, and leave it as it was.
        park = f"{ENTITIES}/urn:ngsi-ld:Park:1?format=keyValues"
        before = self.call("GET", park, self.full).json()
        for method, path, body in (
                ("DELETE", "/urn:ngsi-ld:Park:1", None),
                ("PATCH", "/urn:ngsi-ld:Park:1/attrs", {"level": 99}),
                ("POST", "/urn:ngsi-ld:Park:1/attrs", {"extra": 1}),
                ("PUT", "/urn:ngsi-ld:Park:1", {"type": "Park", "level": 99}),
                ("DELETE", "/urn:ngsi-ld:Park:1/attrs/level", None)):
            with self.subTest(method=method, path=path):
                self.assert_problem(self.call(method, ENTITIES + path, self.bus, body), 404,
                                    "does not exist")
        self.assertEqual(self.call("GET", park, self.full).json(), before)

    def test_writes_stay_within_the_write_rules(self):
        # Readable but not writable: 403, and unchanged.
        self.assert_problem(self.call("PATCH", f"{ENTITIES}/urn:ngsi-ld:BusStop:1/attrs",
                                      self.bus, {"level": 7}),
                            403, "may not change entity 'urn:ngsi-ld:BusStop:1'")
        # Created inside the rules, or outside them (type, then id pattern).
        self.assertEqual(self.call("POST", ENTITIES, self.bus, entity("Bus", 10)).status, 201)
        self.assert_problem(self.call("POST", ENTITIES, self.bus, entity("Park", 10)), 403,
                            "bus-operator")
        tram = dict(entity("Bus", 11), id="urn:ngsi-ld:Tram:11")
        self.assert_problem(self.call("POST", ENTITIES, self.bus, tram), 403, "bus-operator")
        self.assertEqual(self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Tram:11", self.full).status,
                         404)
        r = self.call("PATCH", f"{ENTITIES}/urn:ngsi-ld:Bus:10/attrs", self.bus, {"level": 12})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.call("DELETE", f"{ENTITIES}/urn:ngsi-ld:Bus:10", self.bus).status,
                         204)
        # A change that would take the entity out of the role's rules: refused, unchanged.
        self.assertEqual(self.call("POST", ENTITIES, self.parks,
                                   entity("Park", 20, "/Takamatsu/Parks/South")).status, 201)
        r = self.call("PATCH", f"{ENTITIES}/urn:ngsi-ld:Park:20", self.parks,
                      {"scope": "/Takamatsu/Water"})
        self.assert_problem(r, 403, "parks-keeper")
        r = self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Park:20", self.full)
        self.assertEqual(r.json()["scope"], "/Takamatsu/Parks/South")
        # A read role writes nothing.
        self.assert_problem(self.call("POST", ENTITIES, self.parks_reader,
                                      entity("Park", 21, "/Takamatsu/Parks/North")), 403,
                            "may only read")

    def test_a_batch_answers_each_entity_by_the_rules(self):
        items = [entity("Bus", 30), entity("Park", 30), entity("BusStop", 1),
                 entity("Sensor", 1, "/Takamatsu/Water")]
        r = self.call("POST", f"{BATCH}/upsert", self.bus, items)
        self.assertEqual(r.status, 207, r)
        self.assertEqual(r.json()["success"], ["urn:ngsi-ld:Bus:30"])
        errors = {e["entityId"]: e["error"]["status"] for e in r.json()["errors"]}
        self.assertEqual(errors, {"urn:ngsi-ld:Park:30": 403, "urn:ngsi-ld:BusStop:1": 403,
                                  "urn:ngsi-ld:Sensor:1": 403})
        r = self.call("POST", f"{BATCH}/delete", self.bus,
                      ["urn:ngsi-ld:Bus:30", "urn:ngsi-ld:Sensor:1"])
        self.assertEqual(r.status, 207, r)
        self.assertEqual(r.json()["errors"][0]["error"]["status"], 404)
        self.assertEqual(self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Sensor:1", self.full).status,
                         200)
        r = self.call("POST", f"{BATCH}/create", self.bus, [entity("Park", 1)])
        self.assertEqual(r.json()["errors"][0]["error"]["status"], 409)

    def test_purge_deletes_only_what_the_role_may_write(self):
        self.assertEqual(self.call("POST", ENTITIES, self.full, entity("Bus", 40)).status, 201)
        # Entities it can read but not write: nothing purged.
        self.assert_problem(self.call("DELETE", f"{ENTITIES}?type=BusStop", self.bus), 403)
        self.assertEqual(self.call("GET", f"{ENTITIES}/urn:ngsi-ld:BusStop:1", self.full).status,
                         200)
        # Entities it cannot see are not there to purge.
        self.assertEqual(self.call("DELETE", f"{ENTITIES}?type=Sensor", self.bus).status, 204)
        self.assertEqual(self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Sensor:1", self.full).status,
                         200)
        r = self.call("DELETE", f"{ENTITIES}?type=Bus&q=level==40", self.bus)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.call("GET", f"{ENTITIES}/urn:ngsi-ld:Bus:40", self.full).status,
                         404)

    def test_discovery_shows_only_the_types_and_attributes_of_what_the_role_reads(self):
        r = self.call("GET", "/ngsi-ld/v1/types", self.parks_reader)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["typeList"], ["Park"])
        r = self.call("GET", "/ngsi-ld/v1/types/Sensor", self.parks_reader)
        self.assertEqual(r.status, 404, r)
        r = self.call("GET", "/ngsi-ld/v1/types/Sensor", self.full)
        self.assertEqual(r.status, 200, r)
        self.call("PATCH", f"{ENTITIES}/urn:ngsi-ld:Sensor:1/attrs", self.full,
                  {"turbidity": {"type": "Property", "value": 3}})
        r = self.call("GET", "/ngsi-ld/v1/attributes", self.parks_reader)
        self.assertNotIn("turbidity", r.json()["attributeList"])
        self.assertEqual(self.call("GET", "/ngsi-ld/v1/attributes/turbidity",
                                   self.parks_reader).status, 404)

    def test_a_subscription_made_with_a_role_hears_only_of_what_it_may_read(self):
        subs = "/ngsi-ld/v1/subscriptions"
        receiver = Receiver()
        self.addCleanup(receiver.close)
        subscription = {"type": "Subscription", "entities": [{"type": "Park"}, {"type": "Sensor"}],
                        "notification": {"endpoint": {"uri": receiver.url},
                                         "format": "keyValues"}}
        # A read-only role subscribes with a key that may write (a read key subscribes to
        # nothing, role or not).
        reader = self.key("write", "parks-reader")
        self.assert_problem(self.call("POST", subs, self.parks_reader, subscription), 403,
                            "may only read")
        r = self.call("POST", subs, reader, subscription)
        self.assertEqual(r.status, 201, r)
        mine = r.header("Location").rsplit("/", 1)[1]
        r = self.call("POST", subs, self.full, dict(subscription, entities=[{"type": "Bus"}]))
        self.assertEqual(r.status, 201, r)
        theirs = r.header("Location").rsplit("/", 1)[1]
        # Only the subscriptions made with the caller's role exist for it.
        self.assertEqual([s["id"] for s in self.call("GET", subs, reader).json()],
                         [mine])
        self.assertEqual(self.call("GET", f"{subs}/{theirs}", reader).status, 404)
        self.assertEqual(self.call("DELETE", f"{subs}/{theirs}", reader).status, 404)
        self.assertEqual(self.call("PATCH", f"{subs}/{mine}", self.bus,
                                   {"throttling": 0}).status, 404)
        listed = [s["id"] for s in self.call("GET", f"{subs}?limit=100", self.full).json()]
        self.assertTrue({mine, theirs} <= set(listed))
        # The water sensor changes first, then the park: only the park is notified.
        for e in ("urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Park:1"):
            r = self.call("PATCH", f"{ENTITIES}/{e}/attrs", self.full, {"level": 5})
            self.assertEqual(r.status, 204, r)
        got = receiver.wait_for(1)
        time.sleep(0.5)
        got = receiver.wait_for(2, timeout=0.1)
        self.assertEqual([e["id"] for _, n in got for e in n["data"]], ["urn:ngsi-ld:Park:1"])
        self.assertEqual(self.call("DELETE", f"{subs}/{mine}", reader).status, 204)
        self.assertEqual(self.call("DELETE", f"{subs}/{theirs}", self.full).status, 204)

    def test_the_history_of_what_the_role_may_not_read_is_absent(self):
        temporal = "/ngsi-ld/v1/temporal/entities"
        since = "timerel=after&timeAt=2000-01-01T00:00:00Z"
        r = self.call("GET", f"{temporal}?type={ALL_TYPES}&count=true&{since}",
                      self.parks_reader)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(ids(r), ["urn:ngsi-ld:Park:1"])
        self.assertEqual(r.header("NGSILD-Results-Count"), "1")
        r = self.call("POST", "/ngsi-ld/v1/temporal/entityOperations/query", self.parks_reader,
                      {"type": "Query", "entities": [{"type": "Sensor"}, {"type": "Park"}],
                       "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}})
        self.assertEqual(ids(r), ["urn:ngsi-ld:Park:1"])
        unseen = self.call("GET", f"{temporal}/urn:ngsi-ld:Sensor:1", self.parks_reader)
        absent = self.call("GET", f"{temporal}/urn:ngsi-ld:Sensor:404", self.parks_reader)
        self.assertEqual(unseen.status, 404, unseen)
        self.assertEqual(unseen.json()["detail"].replace("Sensor:1", "Sensor:404"),
                         absent.json()["detail"])
        self.assertEqual(self.call("GET", f"{temporal}/urn:ngsi-ld:Sensor:1", self.full).status,
                         200)
        self.assertEqual(self.call("GET", f"{temporal}/urn:ngsi-ld:Park:1",
                                   self.parks_reader).status, 200)

    def test_the_history_is_written_within_the_write_rules(self):
        temporal = "/ngsi-ld/v1/temporal/entities"

        def history(kind, n, scope=None):
            e = {"id": f"urn:ngsi-ld:{kind}:{n}", "type": kind,
                 "level": [{"type": "Property", "value": v,
                            "observedAt": f"2026-01-0{v}T00:00:00Z"} for v in (1, 2)]}
            if scope:
                e["scope"] = scope
            return e
        # Created within the rules, or outside them.
        self.assertEqual(self.call("POST", temporal, self.bus, history("Bus", 70)).status, 201)
        self.assert_problem(self.call("POST", temporal, self.bus, history("Park", 70)), 403,
                            "bus-operator")
        # Upserted into an entity it may only read, or may not see: refused, unchanged.
        r = self.call("POST", temporal, self.full, history("Park", 71, "/Takamatsu/Water"))
        self.assertEqual(r.status, 201, r)
        before = self.call("GET", f"{temporal}/urn:ngsi-ld:Park:71", self.full).json()
        for key, says in ((self.bus, "may not change"), (self.parks_reader, "may only read")):
            with self.subTest(says=says):
                self.assert_problem(self.call("POST", temporal, key,
                                              history("Park", 71, "/Takamatsu/Water")),
                                    403, says)
        # The history of what it cannot see is absent to every other write.
        instance = self.call("GET", f"{temporal}/urn:ngsi-ld:Park:71", self.full).json()
        instance_id = instance["level"][0]["instanceId"]
        for method, path, body in (
                ("DELETE", "/urn:ngsi-ld:Park:71", None),
                ("POST", "/urn:ngsi-ld:Park:71/attrs",
                 {"level": [{"type": "Property", "value": 9,
                             "observedAt": "2026-01-09T00:00:00Z"}]}),
                ("DELETE", "/urn:ngsi-ld:Park:71/attrs/level", None),
                ("PATCH", f"/urn:ngsi-ld:Park:71/attrs/level/{instance_id}",
                 {"type": "Property", "value": 9}),
                ("DELETE", f"/urn:ngsi-ld:Park:71/attrs/level/{instance_id}", None)):
            with self.subTest(method=method, path=path):
                self.assert_problem(self.call(method, temporal + path, self.bus, body), 404)
        self.assertEqual(self.call("GET", f"{temporal}/urn:ngsi-ld:Park:71", self.full).json(),
                         before)
        # Its own: every write passes.
        r = self.call("POST", f"{temporal}/urn:ngsi-ld:Bus:70/attrs", self.bus,
                      {"level": [{"type": "Property", "value": 3,
                                  "observedAt": "2026-01-03T00:00:00Z"}]})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.call("DELETE", f"{temporal}/urn:ngsi-ld:Bus:70", self.bus).status,
                         204)

    def test_routes_that_cannot_apply_rules_refuse_a_role(self):
        for method, path, body in (
                ("POST", "/ngsi-ld/v1/csourceSubscriptions", {"type": "Subscription"}),
                ("GET", "/ngsi-ld/v1/csourceRegistrations?type=Bus", None),
                ("POST", "/ngsi-ld/v1/csourceRegistrations",
                 {"type": "ContextSourceRegistration", "endpoint": "http://127.0.0.1:9",
                  "information": [{"entities": [{"type": "Bus"}]}]})):
            with self.subTest(path=path):
                self.assert_problem(self.call(method, path, self.bus, body), 403,
                                    "a role opens entities")

    def test_a_role_the_tenant_no_longer_defines_opens_nothing(self):
        r = self.server.request("PATCH", f"/admin/v1/tenants/{TENANT}",
                                {"roles": ROLES + [{"name": "interim",
                                                    "rules": [{"access": "read"}]}]},
                                self.admin)
        self.assertEqual(r.status, 200, r)
        interim = self.key("read", "interim")
        r = self.call("GET", f"{ENTITIES}?type={ALL_TYPES}&count=true", interim)
        self.assertEqual(r.header("NGSILD-Results-Count"),
                         self.call("GET", f"{ENTITIES}?type={ALL_TYPES}&count=true",
                                   self.full).header("NGSILD-Results-Count"))
        r = self.server.request("PATCH", f"/admin/v1/tenants/{TENANT}", {"roles": ROLES},
                                self.admin)
        self.assertEqual(r.status, 200, r)
        self.assert_problem(self.call("GET", f"{ENTITIES}?type=Bus", interim), 403,
                            "the tenant does not define")

    def test_the_audit_log_names_the_role(self):
        self.assertEqual(self.call("POST", ENTITIES, self.bus, entity("Bus", 80)).status, 201)
        self.assertEqual(self.call("POST", ENTITIES, self.bus, entity("Park", 80)).status, 403)
        r = self.server.request("GET", "/admin/v1/auditLog?operation=createEntity&limit=1000",
                                None, self.admin)
        self.assertEqual(r.status, 200, r)
        by_path = {(rec["status"], rec.get("role")) for rec in r.json()
                   if rec["tenant"] == TENANT}
        self.assertIn((201, "bus-operator"), by_path)
        self.assertIn((403, "bus-operator"), by_path)
        self.assertIn((201, None), by_path)  # the keys without a role

    def test_roles_and_keys_are_checked_when_given(self):
        tenants = "/admin/v1/tenants"
        for roles, says in (
                ([{"name": "editor", "rules": [{"access": "read"}]}], "roles[0].name"),
                ([{"name": "x", "rules": [{"access": "read", "idPattern": "("}]}],
                 "roles[0].rules[0].idPattern"),
                ([{"name": "x", "rules": [{"access": "read", "scopeQ": "Parks"}]}],
                 "roles[0].rules[0].scopeQ"),
                ([{"name": "x", "rules": [{"access": "all"}]}], "roles[0].rules[0].access"),
                ([{"name": "x", "rules": [{"access": "read", "type": "Bus"}]}], "unknown member"),
                ([{"name": "x", "rules": []}], "roles[0].rules"),
                ([{"name": "x", "rules": [{"access": "read"}]}] * 2, "defined twice")):
            with self.subTest(says=says):
                r = self.server.request("PATCH", f"{tenants}/{TENANT}", {"roles": roles},
                                        self.admin)
                self.assert_problem(r, 400, says)
        r = self.server.request("GET", f"{tenants}/{TENANT}", None, self.admin)
        self.assertEqual([role["name"] for role in r.json()["roles"]],
                         [role["name"] for role in ROLES])
        self.assertEqual(r.json()["roles"][0]["rules"][0]["types"],
                         ["https://uri.etsi.org/ngsi-ld/default-context/Bus"])
        for body, says in (({"role": "nobody"}, "defines no role 'nobody'"),
                           ({"role": "bus-operator", "access": "admin"}, "role:"),
                           ({"role": "reader"}, "role:")):
            with self.subTest(body=body):
                key = {"name": "k", "tenant": TENANT, "access": "write"}
                key.update(body)
                r = self.server.request("POST", "/admin/v1/apiKeys", key, self.admin)
                self.assert_problem(r, 400, says)

    def test_a_bearer_token_holds_the_role_its_tenant_claim_names(self):
        def token(grants):
            now = int(time.time())
            claims = {"iss": "https://idp.test", "sub": "driver-7", "aud": AUDIENCE,
                      "iat": now, "exp": now + 300, "tenants": grants}
            return {"Authorization": "Bearer " + self.signing.sign(claims),
                    "NGSILD-Tenant": TENANT}
        r = self.call("GET", f"{ENTITIES}?type={ALL_TYPES}", token([f"{TENANT}:parks-reader"]))
        self.assertEqual(ids(r), ["urn:ngsi-ld:Park:1"])
        # A level beside the role: the level wins, and the token sees everything.
        r = self.call("GET", f"{ENTITIES}?type={ALL_TYPES}&count=true",
                      token([f"{TENANT}:parks-reader", f"{TENANT}:reader"]))
        self.assertGreater(int(r.header("NGSILD-Results-Count")), 1)
        self.assert_problem(self.call("POST", ENTITIES, token([f"{TENANT}:reader"]),
                                      entity("Bus", 50)), 403, "may only read")
        self.assert_problem(self.call("GET", f"{ENTITIES}?type=Bus", token([f"{TENANT}:ghost"])),
                            403, "the tenant does not define")
        r = self.call("POST", ENTITIES, token([f"{TENANT}:bus-operator"]), entity("Bus", 51))
        self.assertEqual(r.status, 201, r)

    def test_a_bearer_token_that_grants_admin_opens_the_admin_api(self):
        def token(grants, tenant=None):
            now = int(time.time())
            claims = {"iss": "https://idp.test", "sub": "clerk-3", "aud": AUDIENCE,
                      "iat": now, "exp": now + 300, "tenants": grants}
            headers = {"Authorization": "Bearer " + self.signing.sign(claims)}
            if tenant:
                headers["NGSILD-Tenant"] = tenant
            return headers
        tenants, keys = "/admin/v1/tenants", "/admin/v1/apiKeys"
        # The server's administrator.
        r = self.server.request("GET", tenants, None, token(["*:admin"]))
        self.assertEqual(r.status, 200, r)
        self.assertIn(TENANT, [t["name"] for t in r.json()])
        # A tenant's administrator: its keys and settings only.
        town = token([f"{TENANT}:administrator", "other:read"])
        r = self.server.request("GET", keys, None, town)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json())
        self.assertEqual({k.get("tenant") for k in r.json()}, {TENANT})
        r = self.server.request("POST", keys, {"name": "bus gateway", "access": "write",
                                               "role": "bus-operator"}, town)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["tenant"], r.json()["role"]), (TENANT, "bus-operator"))
        self.assert_problem(self.server.request("PATCH", f"{tenants}/{TENANT}",
                                                {"quotas": {"entities": 10}}, town),
                            403, "server administrator's")
        self.assert_problem(self.server.request("DELETE", f"{tenants}/{TENANT}", None, town),
                            403, "server administrator's")
        # Administrator of two tenants: the request names one.
        two = [f"{TENANT}:admin", "kanonji:admin"]
        self.assert_problem(self.server.request("GET", keys, None, token(two)), 403,
                            "NGSILD-Tenant")
        r = self.server.request("GET", keys, None, token(two, "kanonji"))
        self.assertEqual((r.status, r.json()), (200, []))
        # No admin grant, or no valid token.
        self.assert_problem(self.server.request("GET", keys, None, token([f"{TENANT}:write"])),
                            403, "administrator of no tenant")
        r = self.server.request("GET", keys, None, {"Authorization": "Bearer x.y.z"})
        self.assertEqual(r.status, 401, r)
        self.assertIn("Bearer", r.header("WWW-Authenticate"))


if __name__ == "__main__":
    unittest.main()
