"""Bearer tokens on the NGSI-LD API (issue 19, authentication): with --auth-jwks-file or
--auth-issuer every NGSI-LD route answers 401 with a ProblemDetails and WWW-Authenticate unless
the request carries a valid token, and behaves as before with one. Tokens come from keys made in
the test (forged, tampered, expired, for another audience) and from a real OpenID Connect
provider (Glewlwyd, tests/lib/glewlwyd.py), whose keys the server finds through its discovery
document.

Run: python3 tests/integration/run.py test_auth"""

import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import jws  # noqa: E402
from glewlwyd import Glewlwyd  # noqa: E402
from harness import Server  # noqa: E402

AUDIENCE = "https://tsunagu.test/ngsi-ld"
ENTITY = {"id": "urn:ngsi-ld:Building:auth-1", "type": "Building",
          "name": {"type": "Property", "value": "Town hall"}}
SUBSCRIPTION = {"id": "urn:ngsi-ld:Subscription:auth-1", "type": "Subscription",
                "entities": [{"type": "Building"}],
                "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}

# Every NGSI-LD route (src/http/api/routes.cpp), with a request that is valid apart from
# credentials.
ROUTES = [
    ("POST", "/ngsi-ld/v1/entities", ENTITY),
    ("GET", "/ngsi-ld/v1/entities?type=Building", None),
    ("DELETE", "/ngsi-ld/v1/entities?type=Nothing", None),
    ("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1", None),
    ("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1/attrs",
     {"name": {"type": "Property", "value": "City hall"}}),
    ("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1/attrs/name", {"value": "Hall"}),
    ("PUT", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1/attrs/name",
     {"type": "Property", "value": "Hall 2"}),
    ("POST", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1/attrs",
     {"height": {"type": "Property", "value": 30}}),
    ("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1",
     {"height": {"type": "Property", "value": 31}}),
    ("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1/attrs/height", None),
    ("PUT", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1",
     {"type": "Building", "name": {"type": "Property", "value": "Replaced"}}),
    ("POST", "/ngsi-ld/v1/entityOperations/create",
     [dict(ENTITY, id="urn:ngsi-ld:Building:auth-2")]),
    ("POST", "/ngsi-ld/v1/entityOperations/upsert",
     [dict(ENTITY, id="urn:ngsi-ld:Building:auth-3")]),
    ("POST", "/ngsi-ld/v1/entityOperations/update",
     [dict(ENTITY, id="urn:ngsi-ld:Building:auth-3")]),
    ("POST", "/ngsi-ld/v1/entityOperations/merge",
     [dict(ENTITY, id="urn:ngsi-ld:Building:auth-3")]),
    ("POST", "/ngsi-ld/v1/entityOperations/query", {"type": "Query", "entities": [{"type": "Building"}]}),
    ("POST", "/ngsi-ld/v1/entityOperations/delete", ["urn:ngsi-ld:Building:auth-3"]),
    ("GET", "/ngsi-ld/v1/types", None),
    ("GET", "/ngsi-ld/v1/types/Building", None),
    ("GET", "/ngsi-ld/v1/attributes", None),
    ("GET", "/ngsi-ld/v1/attributes/name", None),
    ("POST", "/ngsi-ld/v1/subscriptions", SUBSCRIPTION),
    ("GET", "/ngsi-ld/v1/subscriptions", None),
    ("GET", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:auth-1", None),
    ("PATCH", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:auth-1", {"isActive": False}),
    ("DELETE", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:auth-1", None),
    ("POST", "/ngsi-ld/v1/jsonldContexts",
     {"@context": {"height": "https://example.org/height"}}),
    ("GET", "/ngsi-ld/v1/jsonldContexts", None),
    ("GET", "/ngsi-ld/v1/jsonldContexts/nothing", None),
    ("DELETE", "/ngsi-ld/v1/jsonldContexts/nothing", None),
    ("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1", None),
    ("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-2", None),
]


def claims(**over):
    now = int(time.time())
    c = {"iss": "https://idp.test", "sub": "gateway-7", "aud": AUDIENCE, "iat": now,
         "exp": now + 300}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def bearer(token):
    return {"Authorization": "Bearer " + token}


class StaticKeys(unittest.TestCase):
    """The issuer's keys from a JWK Set file (a network with no route to the issuer)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.rsa = jws.SigningKey("RS256", "rsa-1")
        cls.ec = jws.SigningKey("ES256", "ec-1")
        cls.jwks_file = os.path.join(cls.dir.name, "jwks.json")
        cls.write_keys([cls.rsa, cls.ec])
        cls.server = Server(args=["--auth-jwks-file", cls.jwks_file, "--auth-audience", AUDIENCE,
                                  "--auth-jwks-refresh-s", "1"]).start()

    @classmethod
    def write_keys(cls, keys):
        tmp = cls.jwks_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"keys": [k.jwk for k in keys]}, f)
        os.replace(tmp, cls.jwks_file)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def assert_refused(self, r, says):
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header("www-authenticate"), 'Bearer realm="ngsi-ld"')
        body = r.json()
        self.assertEqual(body["status"], 401)
        self.assertEqual(body["title"], "Unauthorized")
        self.assertIn(says, body["detail"])

    def test_every_route_needs_a_valid_token(self):
        good = bearer(self.rsa.sign(claims()))
        expired = bearer(self.rsa.sign(claims(exp=int(time.time()) - 120)))
        stranger = bearer(jws.SigningKey("RS256", "rsa-1").sign(claims()))
        for method, path, body in ROUTES:
            with self.subTest(route=f"{method} {path}"):
                self.assert_refused(self.server.request(method, path, body), "no bearer token")
                self.assert_refused(self.server.request(method, path, body, headers=expired),
                                    "expired")
                self.assert_refused(self.server.request(method, path, body, headers=stranger),
                                    "signature does not verify")
                r = self.server.request(method, path, body, headers=good)
                self.assertNotIn(r.status, (401, 403), r)
                self.assertLess(r.status, 500, r)
        # The writes with the token took effect: the last route deleted what the first created.
        self.assertEqual(self.server.request("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-1",
                                             headers=good).status, 404)

    def test_written_with_a_token_read_with_a_token(self):
        good = bearer(self.ec.sign(claims(sub="sensor-gateway")))
        e = dict(ENTITY, id="urn:ngsi-ld:Building:auth-rw")
        r = self.server.request("POST", "/ngsi-ld/v1/entities", e, headers=good)
        self.assertEqual(r.status, 201, r)
        r = self.server.request("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-rw",
                                headers=good)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["name"]["value"], "Town hall")
        # Refused requests changed nothing and said nothing about the data.
        r = self.server.request("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-rw")
        self.assertEqual(r.status, 401)
        self.assertNotIn("auth-rw", r.body.decode())
        self.assertEqual(self.server.request(
            "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:auth-rw", headers=good).status, 200)

    def test_forged_and_tampered_tokens(self):
        path = "/ngsi-ld/v1/entities?type=Building"
        unsigned = (jws.b64url_encode(b'{"alg":"none","typ":"JWT"}') + "." +
                    jws.b64url_encode(json.dumps(claims()).encode()) + ".")
        self.assert_refused(self.server.request("GET", path, headers=bearer(unsigned)),
                            "algorithm 'none'")
        good = self.rsa.sign(claims())
        head, _, sig = good.split(".")
        changed = head + "." + jws.b64url_encode(json.dumps(claims(sub="admin")).encode()) + "." + sig
        self.assert_refused(self.server.request("GET", path, headers=bearer(changed)),
                            "signature does not verify")
        for bad_claims, says in ((claims(aud="https://elsewhere"), "another audience"),
                                 (claims(nbf=int(time.time()) + 600), "not valid yet"),
                                 (claims(exp=None), "no expiry")):
            self.assert_refused(self.server.request("GET", path,
                                                    headers=bearer(self.rsa.sign(bad_claims))),
                                says)
        for header in ({"Authorization": "Basic YWxpY2U6c2VjcmV0"},
                       {"Authorization": "Bearer"}, {"Authorization": "Bearer a.b"}):
            self.assertEqual(self.server.request("GET", path, headers=header).status, 401)

    def test_operations_routes_stay_open(self):
        self.assertEqual(self.server.request("GET", "/health").status, 200)
        self.assertEqual(self.server.request("GET", "/metrics").status, 200)

    def test_start_log_says_what_is_open(self):
        log = self.server.read_log()
        self.assertIn("bearer token required", log)
        self.assertIn("/health, /metrics", log)

    def test_rotated_keys_are_read_again(self):
        path = "/ngsi-ld/v1/entities?type=Building"
        new = jws.SigningKey("RS256", "rsa-2")
        try:
            self.write_keys([new])
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.server.request("GET", path, headers=bearer(new.sign(claims()))).status == 200:
                    break
                time.sleep(0.2)
            self.assertEqual(self.server.request(
                "GET", path, headers=bearer(new.sign(claims()))).status, 200)
            self.assert_refused(self.server.request("GET", path,
                                                    headers=bearer(self.rsa.sign(claims()))),
                                "signature does not verify")
        finally:
            self.write_keys([self.rsa, self.ec])
            deadline = time.time() + 15
            while time.time() < deadline and self.server.request(
                    "GET", path, headers=bearer(self.rsa.sign(claims()))).status != 200:
                time.sleep(0.2)


class OpenIdConnectProvider(unittest.TestCase):
    """The keys from a real issuer's discovery document, tokens from its token endpoint."""

    @classmethod
    def setUpClass(cls):
        cls.idp = Glewlwyd(audience=AUDIENCE).__enter__()
        cls.server = Server(args=["--auth-issuer", cls.idp.issuer,
                                  "--auth-audience", AUDIENCE]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.idp.close()

    def test_tokens_of_the_issuer_pass(self):
        token = self.idp.token(scope="tsunagu:write", audience=AUDIENCE)
        e = dict(ENTITY, id="urn:ngsi-ld:Building:oidc-1")
        r = self.server.request("POST", "/ngsi-ld/v1/entities", e, headers=bearer(token))
        self.assertEqual(r.status, 201, r)
        r = self.server.request("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Building:oidc-1",
                                headers=bearer(token))
        self.assertEqual(r.status, 200, r)
        self.assertIn("auth_keys_loaded", self.server.read_log())

    def test_tokens_it_did_not_issue_for_us_are_refused(self):
        path = "/ngsi-ld/v1/entities?type=Building"
        # Another issuer (the provider's ES256 instance): its keys are not the issuer's.
        other = self.idp.token(scope="tsunagu:read", audience=AUDIENCE, alg="ES256")
        r = self.server.request("GET", path, headers=bearer(other))
        self.assertEqual(r.status, 401, r)
        # The issuer's token without our audience (its aud is then the granted scopes).
        no_aud = self.idp.token(scope="tsunagu:read")
        r = self.server.request("GET", path, headers=bearer(no_aud))
        self.assertEqual(r.status, 401, r)
        self.assertIn("another audience", r.json()["detail"])


class IssuerDown(unittest.TestCase):
    def test_nothing_passes_until_the_keys_are_read(self):
        with Server(args=["--auth-issuer", "http://127.0.0.1:9/nobody",
                          "--auth-jwks-refresh-s", "1"]) as server:
            key = jws.SigningKey()
            r = server.request("GET", "/ngsi-ld/v1/entities?type=Building",
                               headers=bearer(key.sign(claims(iss="http://127.0.0.1:9/nobody"))))
            self.assertEqual(r.status, 401, r)
            self.assertIn("keys are not available", r.json()["detail"])
            self.assertIn("auth_keys_unavailable", server.read_log())


class TenantClaim(unittest.TestCase):
    """--auth-tenant-claim: a token opens the tenants its claim grants, at the level granted."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.key = jws.SigningKey("ES256", "ec-grants")
        jwks = os.path.join(cls.dir.name, "jwks.json")
        with open(jwks, "w") as f:
            json.dump({"keys": [cls.key.jwk]}, f)
        cls.server = Server(args=["--auth-jwks-file", jwks, "--auth-audience", AUDIENCE,
                                  "--auth-tenant-claim", "tenants"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def call(self, method, path, grants, tenant, body=None):
        headers = bearer(self.key.sign(claims(tenants=grants)))
        if tenant:
            headers["NGSILD-Tenant"] = tenant
        return self.server.request(method, path, body, headers)

    def assert_forbidden(self, r, says):
        self.assertEqual(r.status, 403, r)
        self.assertIn(says, r.json()["detail"])

    def test_a_token_opens_the_tenants_it_grants_at_their_level(self):
        e = dict(ENTITY, id="urn:ngsi-ld:Building:grants-1")
        entities = "/ngsi-ld/v1/entities"
        self.assertEqual(self.call("POST", entities, ["town-a"], "town-a", e).status, 201)
        self.assertEqual(self.call("GET", entities + "/" + e["id"], ["town-a"], "town-a").status,
                         200)
        for grants, tenant in ((["town-a"], "town-b"), (["town-a"], None), ([], "town-a"),
                               (None, "town-a"), (["town-a:x:y"], "town-a"),
                               (["town-b:owner"], "town-a")):
            with self.subTest(grants=grants, tenant=tenant):
                self.assert_forbidden(self.call("GET", entities + "?type=Building", grants,
                                                tenant), "does not give access")
        # A role the tenant does not define (test_roles.py gives tokens the ones it does).
        self.assert_forbidden(self.call("GET", entities + "?type=Building", ["town-a:owner"],
                                        "town-a"), "the tenant does not define")
        # Read only: reads pass, writes do not.
        read = ["town-b:write", "town-a:read"]
        self.assertEqual(self.call("GET", entities + "?type=Building", read, "town-a").status, 200)
        self.assert_forbidden(self.call("DELETE", entities + "/" + e["id"], read, "town-a"),
                              "may only read")
        # Every tenant, read only; and the @contexts every tenant shares need a grant of all.
        self.assertEqual(self.call("GET", entities + "?type=Building", ["*:read"], "town-z").status,
                         404)  # NonexistentTenant: let through, and the tenant is not there
        self.assert_forbidden(self.call("POST", entities, ["*:read"], "town-a", e),
                              "may only read")
        context = {"@context": {"height": "https://example.org/height"}}
        self.assert_forbidden(self.call("POST", "/ngsi-ld/v1/jsonldContexts", ["town-a"],
                                        "town-a", context), "every tenant shares")
        r = self.call("POST", "/ngsi-ld/v1/jsonldContexts", ["*"], None, context)
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    unittest.main()
