"""Shared pieces of Tsunagu's black-box tests: start the real server binary on a free loopback
port with a fresh data directory, talk HTTP to it, and serve JSON-LD @context fixtures from a
local HTTP server (the tests never need the internet).

Standard library only, so the suite runs on a fresh Debian machine with python3."""

import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("TSUNAGU_BINARY", os.path.join(ROOT, "build", "tsunagu"))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body  # bytes

    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:300]!r}>"


class Server:
    """A tsunagu process on a free port with its own data directory.

    Use as a context manager; `data_dir` may be given to restart on existing data."""

    def __init__(self, data_dir=None, args=(), env=None, keep_data=False, tls=None):
        """`tls`: an ssl.SSLContext to talk HTTPS with a server started with --tls-cert."""
        self.tls = tls
        self.port = free_port()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="tsunagu-test-")
        self.args = list(args)
        self.env = env
        self.keep_data = keep_data
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    def start(self, timeout=20):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("TSUNAGU_") and k != "TSUNAGU_BINARY":
                del env[k]
        if self.env:
            env.update(self.env)
        # The port was free when chosen; a test running beside this one may take it before the
        # server binds it. Then the server says so and exits, and another port is tried.
        for attempt in range(3):
            self.log = open(self.log_path, "ab")
            logged_before = os.path.getsize(self.log_path)
            self.proc = subprocess.Popen(
                # The tests serve their @contexts from loopback, which the server refuses to
                # fetch from by default (--context-private-networks).
                [BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--data-dir",
                 self.data_dir, "--context-private-networks", "allow"] + self.args,
                stdout=self.log, stderr=self.log, env=env)
            if self._wait_until_serving(timeout):
                return self
            self.log.close()
            with open(self.log_path, "rb") as f:
                f.seek(logged_before)
                this_start = f.read().decode(errors="replace")
            if "listen_failed" not in this_start or attempt == 2:
                raise RuntimeError(f"tsunagu exited with {self.proc.returncode}: {this_start}")
            self.port = free_port()
        raise AssertionError("unreachable")

    def _wait_until_serving(self, timeout):
        """True once this process answers /health; False when it exited first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = self.request("GET", "/health")
                if r.status == 200 and self._is_this_server(r):
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("tsunagu did not answer /health in time: " + self.read_log())

    def _is_this_server(self, health):
        """Whether /health came from this server rather than from another test's that took the
        port meanwhile: its store names this data directory (when the store has a path)."""
        try:
            store = health.json().get("store", "")
        except ValueError:
            return False
        return "/" not in store or os.path.realpath(self.data_dir) in store or \
            self.data_dir in store

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def kill(self):
        """kill -9: no chance to flush anything."""
        return self.stop(signal.SIGKILL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.owns_dir and not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def connection(self, timeout=30):
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=30):
        """Sends one request; `body` may be bytes, str, or a JSON-able object."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if own:
                c.close()

    # Small conveniences for NGSI-LD.
    def create(self, entity, headers=None):
        h = {"Content-Type": "application/ld+json" if "@context" in entity else "application/json"}
        h.update(headers or {})
        return self.request("POST", "/ngsi-ld/v1/entities", entity, h)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)


class OneDataDir(unittest.TestCase):
    """A test case whose servers run one after another on one data directory (restarts, kill -9):
    start_server() starts the next with SERVER_ARGS and any more given; whatever still runs is
    killed at the end, and the directory removed."""

    SERVER_ARGS = ()

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="tsunagu-" + type(self).__name__.lower() + "-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop(signal.SIGKILL)
        if self._failed():
            # What a failure after restarts needs to be understood: the servers' log and the
            # data directory they left, kept for whoever reads the failure.
            log = self.servers[-1].read_log() if self.servers else ""
            sys.stderr.write(f"\n[{self.id()}] data directory kept: {self.data_dir}\n"
                             f"servers' log, last part:\n{log}\n")
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _failed(self):
        # Python 3.11+ reports a failure to the result as it happens, before tearDown.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in result.failures + result.errors)

    def start_server(self, *args, timeout=60):
        s = Server(data_dir=self.data_dir, args=tuple(self.SERVER_ARGS) + args)
        self.servers.append(s)
        s.start(timeout=timeout)
        return s


class ContextServer:
    """Serves files under `root` over HTTP on a free loopback port, for remote @context tests.

    `delay` seconds of silence before answering simulates a slow or hanging server;
    `redirect_to`, a URL, makes every answer a 302 there; `documents`, a function from the
    request path to the document's bytes (None: 404), serves generated documents instead of
    files."""

    def __init__(self, root=os.path.join(FIXTURES, "contexts"), delay=0, redirect_to=None,
                 documents=None):
        self.root = root
        self.delay = delay
        self.redirect_to = redirect_to
        self.documents = documents
        self.port = free_port()
        self.hits = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                if outer.delay:
                    time.sleep(outer.delay)
                if outer.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", outer.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = outer.read(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def read(self, request_path):
        if self.documents:
            return self.documents(request_path)
        path = os.path.normpath(os.path.join(self.root, request_path.lstrip("/")))
        if not path.startswith(os.path.abspath(self.root)) or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def link_header(url):
    return f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
