"""HTTPS on the server itself (issue 19, transport security): with --tls-cert and --tls-key the
port speaks TLS only (1.2 and 1.3); SIGHUP reads the files again, so a renewed certificate is
taken without a restart, while a bad one is refused and the one in use stays; a key that does
not match its certificate stops the start with a message that says so. Certificates are made by
the openssl command in the test.

Run: python3 tests/integration/run.py test_tls"""

import http.client
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

ENTITY = {"id": "urn:ngsi-ld:Sensor:tls-1", "type": "Sensor",
          "level": {"type": "Property", "value": 1}}


def make_certificate(directory, name):
    """A self-signed P-256 certificate for 127.0.0.1 and localhost: (cert path, key path)."""
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def der_of(cert_path):
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def trusting(*cert_paths):
    context = ssl.create_default_context()
    for path in cert_paths:
        context.load_verify_locations(path)
    return context


class Tls(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.first = make_certificate(self.dir.name, "first")
        self.renewed = make_certificate(self.dir.name, "renewed")
        # The files the server reads, replaced in place by a renewal.
        self.cert, self.key = (os.path.join(self.dir.name, "server.crt"),
                               os.path.join(self.dir.name, "server.key"))
        self.install(self.first)
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        self.dir.cleanup()

    def install(self, pair):
        for source, target in zip(pair, (self.cert, self.key)):
            with open(source, "rb") as f:
                data = f.read()
            with open(target + ".new", "wb") as f:
                f.write(data)
            os.replace(target + ".new", target)

    def start(self):
        self.server = Server(args=["--tls-cert", self.cert, "--tls-key", self.key],
                             tls=trusting(self.first[0], self.renewed[0])).start()
        return self.server

    def peer_certificate(self):
        c = self.server.connection()
        c.connect()
        try:
            return c.sock.getpeercert(binary_form=True)
        finally:
            c.close()

    def reload(self, expect):
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            if expect in self.server.read_log():
                return
            time.sleep(0.05)
        self.fail(f"no {expect} in the log: {self.server.read_log()}")

    def test_the_api_is_served_over_https_only(self):
        server = self.start()
        self.assertEqual(server.create(ENTITY).status, 201)
        r = server.get("/ngsi-ld/v1/entities/" + ENTITY["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["level"]["value"], 1)
        self.assertEqual(self.peer_certificate(), der_of(self.first[0]))
        self.assertIn('"scheme":"https"', server.read_log())
        # Plain HTTP on that port gets no answer: the handshake fails and the connection closes.
        plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        with self.assertRaises((http.client.HTTPException, OSError)):
            plain.request("GET", "/health")
            plain.getresponse().read()
        plain.close()
        # A client that does not trust the certificate refuses it.
        stranger = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10,
                                               context=ssl.create_default_context())
        with self.assertRaises(ssl.SSLError):
            stranger.request("GET", "/health")
        stranger.close()
        metrics = server.get("/metrics").body.decode()
        failed = [line for line in metrics.splitlines()
                  if line.startswith("tsunagu_http_tls_handshakes_failed_total")]
        self.assertTrue(failed and float(failed[0].split()[-1]) >= 1, failed)

    def test_sighup_takes_a_renewed_certificate_and_keeps_open_connections(self):
        server = self.start()
        kept = server.connection()
        self.assertEqual(server.request("GET", "/health", conn=kept).status, 200)
        self.install(self.renewed)
        self.reload("tls_reloaded")
        self.assertEqual(self.peer_certificate(), der_of(self.renewed[0]))
        # A connection opened before goes on with what it had.
        self.assertEqual(server.request("GET", "/health", conn=kept).status, 200)
        kept.close()

    def test_a_bad_renewal_is_refused_and_the_certificate_in_use_stays(self):
        server = self.start()
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        self.reload("tls_reload_failed")
        self.assertEqual(self.peer_certificate(), der_of(self.first[0]))
        self.assertEqual(server.get("/health").status, 200)
        # A key of another certificate is refused as well.
        self.install((self.renewed[0], self.first[1]))
        before = server.read_log().count("tls_reload_failed")
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while server.read_log().count("tls_reload_failed") == before and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("key values mismatch", server.read_log())
        self.assertEqual(self.peer_certificate(), der_of(self.first[0]))

    def test_a_start_with_unusable_files_stops_with_the_reason(self):
        cases = (
            (["--tls-cert", self.first[0], "--tls-key", self.renewed[1]],
             "key values mismatch"),
            (["--tls-cert", self.first[0]], "--tls-cert and --tls-key go together"),
            (["--tls-cert", os.path.join(self.dir.name, "missing.crt"), "--tls-key", self.key],
             "cannot read"),
        )
        for args, says in cases:
            server = Server(args=args, tls=trusting(self.first[0]))
            with self.assertRaises(RuntimeError) as caught:
                server.start(timeout=10)
            self.assertIn(says, str(caught.exception))
            server.stop()


if __name__ == "__main__":
    unittest.main()
