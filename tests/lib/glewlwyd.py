"""A throwaway OpenID Connect provider for integration tests: the real Glewlwyd (Debian package
glewlwyd) on a free loopback port, with its SQLite database, configuration and signing keys in a
temporary directory removed by close(). No network and no prior setup are needed.

What start() builds, in this order (each step named in the error if it fails, with the tail of
Glewlwyd's log):

  keys       an RSA 2048 key and a P-256 key, each with a self-signed certificate (`openssl`)
  database   a fresh SQLite file from the schema the package ships (the same one Debian's
             dbconfig uses); it holds the `admin` user (password `password`) and the g_admin scope
  config     glewlwyd.conf: the port, 127.0.0.1 only, the database, log to the console (kept in
             glewlwyd.log), no static files
  server     `glewlwyd -c glewlwyd.conf`, ready once /config answers
  admin      logs in as `admin` through /api/auth/ and keeps the session cookie; everything below
             is created through the admin REST API (/api/scope/, /api/mod/plugin/, /api/client/,
             /api/user/), as an administrator would
  scopes     one scope per name in `scopes` (no password needed, so usable by clients)
  plugins    two instances of the OpenID Connect plugin, each an issuer of its own:
               /api/oidc         signs with the RSA key (RS256)
               /api/oidc-es256   signs with the P-256 key (ES256)
             both with the client_credentials and password grants, access tokens valid for
             `token_lifetime` seconds, their public keys at <issuer>/jwks, and resource
             indicators (RFC 8707) allowed for `audience`: a client_credentials token asked
             for with resource=<audience> carries aud=<audience>, one asked for without it
             carries the granted scopes as aud (Glewlwyd's default); another resource is
             refused (400 invalid_target). Glewlwyd 2.7 ignores the resource in the password
             grant: those tokens always carry the scopes as aud.
  client     the confidential client `client_id`/`client_secret`, allowed every scope, the
             client_credentials and password grants, secret by HTTP Basic or POST body
  user       `username`/`password`, allowed every scope, with a `roles` property that the
             plugins copy into access tokens of the password grant as the `roles` claim

An access token (Glewlwyd's JWT profile: header typ at+jwt, alg, and the kid of the key in the
issuer's JWK Set) carries iss (the issuer), sub (the client id for client_credentials; for a user,
a random subject id Glewlwyd keeps for that user), aud, client_id, iat, nbf, exp, jti, type
"access_token", scope (the granted scopes, space-separated) and, for a user, roles (the user's
roles joined with commas, as Glewlwyd copies multi-valued properties). A refused client gets 403
with an empty body; a refused scope or resource gets 400 with an OAuth2 error.

Standard library plus python3-requests; the programs come from the Debian packages glewlwyd and
openssl (scripts/install-deps test). It runs as root (CI) or as any user.

    with Glewlwyd() as idp:
        token = idp.token(scope="tsunagu:read", audience=idp.audience)   # RS256
        idp.discovery_url, idp.jwks_url, idp.issuer
        idp.provider("ES256").issuer                                     # the ES256 issuer
"""

import gzip
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import requests

GLEWLWYD = "/usr/bin/glewlwyd"
MODULES = "/usr/lib/glewlwyd"
# The full schema with its default data; the second copy is the same file, compressed, and may be
# missing where documentation is not installed.
SCHEMAS = ("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3",
           "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz")
ADMIN_USER, ADMIN_PASSWORD = "admin", "password"  # set by the schema


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def read_schema():
    for path in SCHEMAS:
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:
                return f.read()
    raise FileNotFoundError("no Glewlwyd SQLite schema at " + " or ".join(SCHEMAS) +
                            " (is the glewlwyd package installed? scripts/install-deps test)")


class Provider:
    """One OpenID Connect plugin instance: an issuer with its own signing key."""

    def __init__(self, base, name, alg):
        self.name, self.alg = name, alg
        self.issuer = f"{base}/api/{name}"
        self.discovery_url = self.issuer + "/.well-known/openid-configuration"
        self.jwks_url = self.issuer + "/jwks"
        self.token_url = self.issuer + "/token"


class GlewlwydError(RuntimeError):
    pass


class Glewlwyd:
    """One Glewlwyd server and what start() configures in it (the module's docstring). Owned by
    one test class or test; close() stops the server and removes its directory."""

    def __init__(self, scopes=("tsunagu:read", "tsunagu:write", "tsunagu:admin"),
                 audience="https://tsunagu.test/ngsi-ld", token_lifetime=300,
                 client_id="tsunagu-test", client_secret="client-s3cret",
                 username="alice", password="alice-s3cret", roles=("reader", "editor")):
        self.scopes, self.audience, self.token_lifetime = list(scopes), audience, token_lifetime
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password, self.roles = username, password, list(roles)
        self.dir = tempfile.mkdtemp(prefix="tsunagu-glewlwyd-")
        self.log_path = os.path.join(self.dir, "glewlwyd.log")
        self.db_path = os.path.join(self.dir, "glewlwyd.db")
        self.conf = os.path.join(self.dir, "glewlwyd.conf")
        self.proc, self.log, self.admin = None, None, None
        self.port = None
        self.startup_seconds = None

    # --- life cycle ---

    def start(self, timeout=20):
        """Builds and starts everything; raises GlewlwydError naming the step that failed (the
        server is stopped then, its directory kept until close())."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout):
        t0 = time.monotonic()
        self._step("keys", self._make_keys)
        self._step("database", self._make_database)
        # A free port can be taken by someone else before Glewlwyd binds it: try another.
        for attempt in range(3):
            self.port = free_port()
            self._step("config", self._write_config)
            if self._step("server", self._start_server, timeout):
                break
            if attempt == 2:
                raise GlewlwydError("step 'server': the port was taken three times: " +
                                    self.read_log())
        self._step("admin", self._login)
        self._step("scopes", self._add_scopes)
        self._step("plugins", self._add_plugins)
        self._step("client", self.add_client, self.client_id, self.client_secret, self.scopes)
        self._step("user", self.add_user, self.username, self.password, self.scopes, self.roles)
        self._step("discovery", self._check_discovery)
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self):
        if self.admin:
            self.admin.close()
            self.admin = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.log:
            self.log.close()
            self.log = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    def read_log(self, chars=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-chars:]
        except OSError:
            return ""

    # --- what the tests use ---

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def provider(self, alg="RS256"):
        name = {"RS256": "oidc", "ES256": "oidc-es256"}[alg]
        return Provider(self.base, name, alg)

    @property
    def issuer(self):
        return self.provider().issuer

    @property
    def discovery_url(self):
        return self.provider().discovery_url

    @property
    def jwks_url(self):
        return self.provider().jwks_url

    def jwks(self, alg="RS256"):
        """The issuer's JWK Set (a dict) as its jwks_uri serves it: what a fallback file holds."""
        r = requests.get(self.provider(alg).jwks_url, timeout=5)
        r.raise_for_status()
        return r.json()

    def request_token(self, client_id=None, client_secret=None, scope=None, audience=None,
                      alg="RS256", grant_type="client_credentials", username=None,
                      password=None):
        """The token endpoint's answer (a requests.Response) to a real token request: the client
        authenticates with HTTP Basic; `scope` defaults to every scope; `audience` is sent as the
        RFC 8707 resource parameter; grant_type "password" sends `username`/`password` (the
        fixture's user by default)."""
        data = {"grant_type": grant_type, "scope": scope or " ".join(self.scopes)}
        if audience:
            data["resource"] = audience
        if grant_type == "password":
            data["username"] = username or self.username
            data["password"] = password or self.password
        auth = (client_id or self.client_id,
                self.client_secret if client_secret is None else client_secret)
        return requests.post(self.provider(alg).token_url, data=data, auth=auth, timeout=10)

    def token(self, client_id=None, client_secret=None, scope=None, audience=None, alg="RS256",
              grant_type="client_credentials", **kw):
        """An access token (the JWT string) from request_token(); raises GlewlwydError with the
        provider's answer and log when the request is refused."""
        r = self.request_token(client_id, client_secret, scope, audience, alg, grant_type, **kw)
        if r.status_code != 200 or "access_token" not in r.json():
            raise GlewlwydError(f"token request ({grant_type}, {alg}) refused: {r.status_code} "
                                f"{r.text}\n{self.read_log()}")
        return r.json()["access_token"]

    def add_client(self, client_id, client_secret, scopes,
                   grants=("client_credentials", "password")):
        """A confidential client allowed `scopes` and `grants`, authenticated by its secret."""
        self._admin("POST", "/api/client/", {
            "client_id": client_id, "name": client_id, "enabled": True, "confidential": True,
            "client_secret": client_secret, "scope": list(scopes),
            "authorization_type": list(grants),
            "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
            "resource": [self.audience]})

    def add_user(self, username, password, scopes, roles=()):
        """A user of the database backend, allowed `scopes`, with a `roles` property."""
        self._admin("POST", "/api/user/", {
            "username": username, "password": password, "name": username, "enabled": True,
            "scope": list(scopes), "roles": list(roles)})

    # --- the steps ---

    def _step(self, name, fn, *args):
        try:
            return fn(*args)
        except GlewlwydError as e:
            raise GlewlwydError(f"glewlwyd step '{name}': {e}") from None
        except (OSError, subprocess.CalledProcessError, requests.RequestException,
                sqlite3.Error, ValueError, KeyError) as e:
            detail = e.stderr.decode(errors="replace") if getattr(e, "stderr", None) else ""
            raise GlewlwydError(f"glewlwyd step '{name}' failed: {e} {detail}\n"
                                f"glewlwyd log:\n{self.read_log()}") from None

    def _make_keys(self):
        self.rsa_key, self.rsa_cert = (os.path.join(self.dir, n) for n in ("rsa.key", "rsa.crt"))
        self.ec_key, self.ec_cert = (os.path.join(self.dir, n) for n in ("ec.key", "ec.crt"))
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.rsa_key,
            "-out", self.rsa_cert, "-days", "2", "-subj", "/CN=Tsunagu test RS256")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.ec_key, "-out",
            self.ec_cert, "-days", "2", "-subj", "/CN=Tsunagu test ES256")

    def _make_database(self):
        db = sqlite3.connect(self.db_path)
        try:
            # One transaction, not synced: a throwaway file need not survive a crash.
            db.executescript("PRAGMA synchronous=OFF;\nBEGIN;\n" + read_schema() + "\nCOMMIT;")
        finally:
            db.close()

    def _write_config(self):
        with open(self.conf, "w") as f:
            f.write(f'port={self.port}\n'
                    f'bind_address="127.0.0.1"\n'
                    f'external_url="{self.base}"\n'
                    'api_prefix="api"\n'
                    'log_mode="console"\n'
                    'log_level="DEBUG"\n'
                    # Plain HTTP on loopback: the admin session cookie must not be Secure.
                    'cookie_secure=0\n'
                    'admin_scope="g_admin"\n'
                    'profile_scope="g_profile"\n'
                    f'user_module_path="{MODULES}/user"\n'
                    f'client_module_path="{MODULES}/client"\n'
                    f'user_auth_scheme_module_path="{MODULES}/scheme"\n'
                    f'plugin_module_path="{MODULES}/plugin"\n'
                    'hash_algorithm="SHA512"\n'
                    f'database = {{ type = "sqlite3"\n path = "{self.db_path}" }};\n')

    def _start_server(self, timeout):
        """True once Glewlwyd answers; False if its port was taken (the caller retries)."""
        if not os.access(GLEWLWYD, os.X_OK):
            raise GlewlwydError(f"{GLEWLWYD} is not there: install the glewlwyd package "
                                "(scripts/install-deps test)")
        if self.log:
            self.log.close()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([GLEWLWYD, "-c", self.conf], stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "Address already in use" in self.read_log():
                    return False
                raise GlewlwydError(f"glewlwyd exited with {self.proc.returncode}:\n"
                                    f"{self.read_log()}")
            try:
                if requests.get(self.base + "/config", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass  # not listening yet, or someone else is (then Glewlwyd exits, above)
            time.sleep(0.02)
        raise GlewlwydError(f"glewlwyd did not answer within {timeout} s:\n{self.read_log()}")

    def _admin(self, method, path, body=None):
        r = self.admin.request(method, self.base + path, json=body, timeout=10)
        if r.status_code != 200:
            raise GlewlwydError(f"{method} {path} answered {r.status_code} {r.text}\n"
                                f"glewlwyd log:\n{self.read_log()}")
        return r

    def _login(self):
        self.admin = requests.Session()
        self._admin("POST", "/api/auth/", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})

    def _add_scopes(self):
        for s in self.scopes:
            self._admin("POST", "/api/scope/", {"name": s, "display_name": s, "description": s,
                                                "password_required": False})
        # The database user backend keeps only the properties its data format lists: `roles`
        # becomes one, multi-valued, so that users can carry it and tokens can copy it.
        module = self._admin("GET", "/api/mod/user/database").json()
        module["parameters"]["data-format"]["roles"] = {
            "multiple": True, "read": True, "write": True,
            "profile-read": True, "profile-write": False}
        self._admin("PUT", "/api/mod/user/database", {
            k: module[k] for k in ("display_name", "parameters", "order_rank", "readonly")})
        self._admin("PUT", "/api/mod/user/database/reset")

    def _add_plugins(self):
        for alg, (key, cert, jwt_type) in (("RS256", (self.rsa_key, self.rsa_cert, "rsa")),
                                           ("ES256", (self.ec_key, self.ec_cert, "ecdsa"))):
            p = self.provider(alg)
            with open(key) as k, open(cert) as c:
                key_pem, cert_pem = k.read(), c.read()
            self._admin("POST", "/api/mod/plugin/", {
                "module": "oidc", "name": p.name, "display_name": f"Tsunagu test {alg}",
                "parameters": {
                    "iss": p.issuer, "jwt-type": jwt_type, "jwt-key-size": "256",
                    "key": key_pem, "cert": cert_pem, "jwks-show": True,
                    "access-token-duration": self.token_lifetime,
                    "refresh-token-duration": 3600, "code-duration": 600,
                    # client_credentials and password are OAuth2 grants outside OIDC proper.
                    "allow-non-oidc": True, "auth-type-client-enabled": True,
                    "auth-type-password-enabled": True, "auth-type-code-enabled": False,
                    "auth-type-token-enabled": False, "auth-type-refresh-enabled": False,
                    "subject-type": "public",
                    "resource-allowed": True,
                    "resource-scope": {s: [self.audience] for s in self.scopes},
                    "resource-client-property": "resource",
                    "resource-scope-and-client-property": False,
                    "additional-parameters": [{"user-parameter": "roles",
                                               "token-parameter": "roles"}],
                }})

    def _check_discovery(self):
        for alg in ("RS256", "ES256"):
            p = self.provider(alg)
            r = requests.get(p.discovery_url, timeout=5)
            if r.status_code != 200 or r.json().get("issuer") != p.issuer:
                raise GlewlwydError(f"{p.discovery_url} answered {r.status_code} {r.text[:500]}")
