"""JSON Web Tokens for the tests, checked independently of the server: split and decode a compact
JWS, find its key in a JWK Set and verify an RS256 or ES256 signature (RFC 7515, RFC 7518 §3.3 and
§3.4). Uses python3-cryptography (scripts/install-deps test).

    header, claims = jws.decode(token)                 # no signature check
    jws.verify(token, requests.get(jwks_url).json())   # True or False
"""

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(text):
    return int.from_bytes(b64url_decode(text), "big")


def decode(token):
    """(header, claims) of a compact JWS, both JSON objects; raises ValueError if the token is
    not three base64url parts of which the first two are JSON."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"a compact JWS has 3 parts, this one has {len(parts)}")
    return json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))


def find_key(jwks, kid):
    """The JWK of the set whose kid is `kid`, or None."""
    return next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)


def public_key(jwk):
    """A cryptography public key from an RSA or EC (P-256) JWK."""
    if jwk["kty"] == "RSA":
        return rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
    if jwk["kty"] == "EC" and jwk.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(_uint(jwk["x"]), _uint(jwk["y"]),
                                             ec.SECP256R1()).public_key()
    raise ValueError(f"unsupported JWK: kty {jwk.get('kty')}, crv {jwk.get('crv')}")


def verify(token, jwks):
    """True if the token's signature verifies with the key its header's kid names in `jwks`, by
    the algorithm its header names (RS256 or ES256) and that key allows; False otherwise."""
    try:
        header, _ = decode(token)
    except ValueError:
        return False
    jwk = find_key(jwks, header.get("kid"))
    alg = header.get("alg")
    if jwk is None or alg not in ("RS256", "ES256") or jwk.get("alg", alg) != alg:
        return False
    signing_input, _, signature = token.rpartition(".")
    signature = b64url_decode(signature)
    key = public_key(jwk)
    try:
        if alg == "RS256" and jwk["kty"] == "RSA":
            key.verify(signature, signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256" and jwk["kty"] == "EC" and len(signature) == 64:
            # JWS carries r || s (RFC 7518 §3.4); cryptography wants DER.
            der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                             int.from_bytes(signature[32:], "big"))
            key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


class SigningKey:
    """A key pair made here to issue test tokens the way an identity provider does: `jwk` is its
    public half (with kid and alg), `sign(claims)` a compact JWS of the claims."""

    def __init__(self, alg="RS256", kid="test-key"):
        self.alg, self.kid = alg, kid
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            n = self.private.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "alg": alg, "use": "sig", "kid": kid,
                        "n": b64url_encode(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                        "e": b64url_encode(n.e.to_bytes(3, "big"))}
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            p = self.private.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256", "alg": alg, "use": "sig", "kid": kid,
                        "x": b64url_encode(p.x.to_bytes(32, "big")),
                        "y": b64url_encode(p.y.to_bytes(32, "big"))}
        else:
            raise ValueError(f"unsupported alg {alg}")

    def sign(self, claims, header=None):
        h = {"alg": self.alg, "typ": "JWT", "kid": self.kid}
        h.update(header or {})
        signing_input = (b64url_encode(json.dumps(h).encode()) + "." +
                         b64url_encode(json.dumps(claims).encode()))
        if self.alg == "RS256":
            sig = self.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = utils.decode_dss_signature(
                self.private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + b64url_encode(sig)
