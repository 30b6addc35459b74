"""The OpenID Connect provider the access-control tests rely on (issue 19), checked on its own: a
real Glewlwyd (tests/lib/glewlwyd.py) publishes its discovery document and JWK Set, and issues
signed JWT access tokens (RS256 and ES256) by the client_credentials and password grants with the
claims the server will check (iss, aud, exp, scope); wrong credentials get no token. Signatures are
verified here with python3-cryptography (tests/lib/jws.py), independently of the server's own
verifier.

Run: python3 -m unittest tests/integration/test_oidc_provider.py"""

import os
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import jws  # noqa: E402
from glewlwyd import Glewlwyd  # noqa: E402


class OidcProviderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = Glewlwyd().__enter__()
        print(f"\n  [startup] glewlwyd configured and ready in {cls.idp.startup_seconds:.2f} s",
              file=sys.stderr)
        # Discovery as a relying party does it: from the issuer alone.
        cls.discovery = requests.get(cls.idp.issuer + "/.well-known/openid-configuration",
                                     timeout=5).json()
        cls.jwks = requests.get(cls.discovery["jwks_uri"], timeout=5).json()

    @classmethod
    def tearDownClass(cls):
        cls.idp.close()

    def test_discovery_document_names_the_issuer_and_jwks_uri(self):
        d = self.discovery
        self.assertEqual(d["issuer"], self.idp.issuer)
        self.assertEqual(d["jwks_uri"], self.idp.jwks_url)
        self.assertEqual(self.idp.discovery_url,
                         self.idp.issuer + "/.well-known/openid-configuration")
        self.assertEqual(d["token_endpoint"], self.idp.provider().token_url)
        self.assertIn("RS256", d["access_token_signing_alg_values_supported"])
        # Glewlwyd 2.7 lists only authorization_code and implicit in grant_types_supported,
        # though it grants client_credentials and password when the plugin enables them.

    def test_jwks_holds_the_rs256_public_key_only(self):
        rsa_keys = [k for k in self.jwks["keys"] if k["kty"] == "RSA"]
        self.assertEqual(len(rsa_keys), 1, self.jwks)
        key = rsa_keys[0]
        self.assertTrue(key.get("kid"))
        self.assertEqual(key["e"], "AQAB")
        self.assertEqual(int.from_bytes(jws.b64url_decode(key["n"]), "big").bit_length(), 2048)
        for private in ("d", "p", "q", "dp", "dq", "qi"):
            self.assertNotIn(private, key)

    def test_client_credentials_token_is_an_rs256_jwt_with_the_asked_claims(self):
        before = int(time.time())
        token = self.idp.token(scope="tsunagu:read tsunagu:write", audience=self.idp.audience)
        self.assertEqual(len(token.split(".")), 3)
        header, claims = jws.decode(token)
        self.assertEqual(header["alg"], "RS256")
        self.assertIsNotNone(jws.find_key(self.jwks, header.get("kid")), header)
        self.assertTrue(jws.verify(token, self.jwks))
        self.assertEqual(claims["iss"], self.idp.issuer)
        self.assertEqual(claims["aud"], self.idp.audience)
        self.assertEqual(claims["sub"], self.idp.client_id)
        self.assertEqual(claims["client_id"], self.idp.client_id)
        self.assertEqual(set(claims["scope"].split()), {"tsunagu:read", "tsunagu:write"})
        self.assertGreater(claims["exp"], time.time())
        self.assertLessEqual(abs(claims["exp"] - before - self.idp.token_lifetime), 5)
        self.assertLessEqual(claims["nbf"], time.time() + 1)

    def test_a_changed_claim_or_signature_no_longer_verifies(self):
        token = self.idp.token(scope="tsunagu:read", audience=self.idp.audience)
        head, payload, signature = token.split(".")
        _, claims = jws.decode(token)
        claims["scope"] = "tsunagu:admin"
        forged = ".".join((head, jws.b64url_encode(jws.json.dumps(claims).encode()), signature))
        self.assertFalse(jws.verify(forged, self.jwks))
        flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
        self.assertFalse(jws.verify(".".join((head, payload, flipped)), self.jwks))
        # Signed by the other issuer's key: not in this issuer's set.
        self.assertFalse(jws.verify(self.idp.token(alg="ES256"), self.jwks))

    def test_without_a_resource_the_audience_is_the_granted_scopes(self):
        _, claims = jws.decode(self.idp.token(scope="tsunagu:read"))
        self.assertEqual(claims["aud"], "tsunagu:read")

    def test_es256_issuer_signs_with_its_p256_key(self):
        es = self.idp.provider("ES256")
        d = requests.get(es.discovery_url, timeout=5).json()
        self.assertEqual(d["issuer"], es.issuer)
        self.assertNotEqual(es.issuer, self.idp.issuer)
        jwks = requests.get(d["jwks_uri"], timeout=5).json()
        self.assertEqual([(k["kty"], k["crv"]) for k in jwks["keys"]], [("EC", "P-256")])
        self.assertEqual(jwks, self.idp.jwks("ES256"))
        token = self.idp.token(scope="tsunagu:read", audience=self.idp.audience, alg="ES256")
        header, claims = jws.decode(token)
        self.assertEqual(header["alg"], "ES256")
        self.assertTrue(jws.verify(token, jwks))
        self.assertEqual(claims["iss"], es.issuer)
        self.assertEqual(claims["aud"], self.idp.audience)

    def test_wrong_or_unknown_client_credentials_get_no_token(self):
        for client_id, secret in ((None, "not-the-secret"), (None, ""),
                                  ("no-such-client", self.idp.client_secret)):
            r = self.idp.request_token(client_id=client_id, client_secret=secret)
            self.assertIn(r.status_code, (400, 401, 403), (client_id, secret, r.text))
            self.assertNotIn("access_token", r.text)
        self.assertEqual(self.idp.request_token().status_code, 200)

    def test_a_client_gets_only_its_own_scopes_and_known_audiences(self):
        self.idp.add_client("reader-only", "reader-s3cret", ["tsunagu:read"])
        _, claims = jws.decode(self.idp.token("reader-only", "reader-s3cret",
                                              scope="tsunagu:read"))
        self.assertEqual(claims["scope"], "tsunagu:read")
        self.assertEqual(claims["sub"], "reader-only")
        r = self.idp.request_token("reader-only", "reader-s3cret", scope="tsunagu:admin")
        self.assertEqual(r.status_code, 400, r.text)
        self.assertNotIn("access_token", r.text)
        # Asked for more than it may have, it gets what it may have.
        _, claims = jws.decode(self.idp.token("reader-only", "reader-s3cret",
                                              scope="tsunagu:read tsunagu:admin"))
        self.assertEqual(claims["scope"], "tsunagu:read")
        r = self.idp.request_token(audience="https://elsewhere.test/")
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "invalid_target")

    def test_password_grant_token_carries_the_users_roles(self):
        token = self.idp.token(grant_type="password", scope="tsunagu:read")
        self.assertTrue(jws.verify(token, self.jwks))
        _, claims = jws.decode(token)
        self.assertEqual(claims["iss"], self.idp.issuer)
        self.assertEqual(claims["scope"], "tsunagu:read")
        self.assertEqual(claims["roles"].split(","), self.idp.roles)
        self.assertNotEqual(claims["sub"], self.idp.client_id)
        r = self.idp.request_token(grant_type="password", password="not-the-password")
        self.assertNotEqual(r.status_code, 200)
        self.assertNotIn("access_token", r.text)


if __name__ == "__main__":
    unittest.main()
