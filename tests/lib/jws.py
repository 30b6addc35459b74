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
