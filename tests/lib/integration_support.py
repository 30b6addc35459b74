"""Shared assertions and helpers of the integration suite (tests/integration/): ProblemDetails
checks, remote @context URL rewriting to the local ContextServer, raw-socket HTTP exchanges and
semantic comparison of NGSI-LD entities. Standard library only; builds on harness.py."""

import datetime
import json
import os
import re
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import FIXTURES, ContextServer  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
CORE_CONTEXT_PREFIX = "https://uri.etsi.org/ngsi-ld/"
CONTEXTS = os.path.join(FIXTURES, "contexts")
REFERENCE = os.path.join(FIXTURES, "reference")


def describe(method, path, response, body=None):
    """One line naming the request and the response, for failure messages and the report."""
    sent = ""
    if body is not None:
        text = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(text, bytes):
            text = text[:160].decode("utf-8", "replace")
        sent = f" body={text[:160]!r}"
    got = response.body[:400].decode("utf-8", "replace") if response is not None else None
    status = response.status if response is not None else None
    return f"{method} {path[:160]}{sent} -> {status} {got!r}"


def assert_problem(tc, response, status, types=None, detail_has=(), context=""):
    """Asserts `response` is an NGSI-LD error: HTTP `status` and a ProblemDetails body
    (RFC 7807 with ETSI GS CIM 009 §5.5.2 / OpenAPI ProblemDetails: type, title, status, detail).

    `types` is a name or a collection of accepted error type names (e.g. "InvalidRequest");
    `detail_has` lists strings that must all occur in the detail (case-insensitive)."""
    msg = context or repr(response)
    statuses = status if isinstance(status, (tuple, list, set)) else (status,)
    tc.assertIn(response.status, statuses, msg)
    try:
        body = json.loads(response.body)
    except ValueError:
        tc.fail(f"error body is not JSON: {msg}")
    tc.assertIsInstance(body, dict, msg)
    tc.assertIsInstance(body.get("type"), str, msg)
    tc.assertTrue(body["type"].startswith(ERRORS), msg)
    tc.assertIsInstance(body.get("title"), str, msg)
    tc.assertTrue(body["title"], msg)
    tc.assertEqual(body.get("status"), response.status, msg)
    tc.assertIsInstance(body.get("detail"), str, msg)
    tc.assertTrue(body["detail"].strip(), msg)
    if types is not None:
        names = {types} if isinstance(types, str) else set(types)
        tc.assertIn(body["type"][len(ERRORS):], names, msg)
    for fragment in detail_has:
        tc.assertIn(fragment.lower(), body["detail"].lower(), msg)
    return body


def local_context_path(url):
    """The path under tests/fixtures/contexts/ that stands in for the remote @context `url`:
    `http(s)://<host>/<path>` -> `<host>/<path>`; an empty path (e.g. https://schema.org) ->
    `<host>/index.jsonld`."""
    m = re.match(r"https?://([^/]+)/?(.*)$", url)
    if not m:
        raise ValueError(f"not an http(s) URL: {url}")
    path = m.group(2) or "index.jsonld"
    return f"{m.group(1)}/{path}"


def is_core_context(url):
    return isinstance(url, str) and url.startswith(CORE_CONTEXT_PREFIX)


def rewrite_context(context, context_server):
    """Rewrites every remote @context URL to the local ContextServer; the NGSI-LD core context
    URLs stay as they are (the server resolves them itself, with no network)."""
    if isinstance(context, list):
        return [rewrite_context(c, context_server) for c in context]
    if isinstance(context, str) and not is_core_context(context):
        return context_server.url(local_context_path(context))
    return context


class ContextTree:
    """A ContextServer over a temporary copy of tests/fixtures/contexts/, so a test can add
    generated documents (whose content depends on the server's port) without touching the
    repository. Use as a context manager."""

    def __init__(self, delay=0):
        self.root = tempfile.mkdtemp(prefix="tsunagu-contexts-")
        shutil.copytree(CONTEXTS, self.root, dirs_exist_ok=True)
        self.server = ContextServer(root=self.root, delay=delay)

    def url(self, path):
        return self.server.url(path)

    def write(self, path, document):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            json.dump(document, f)
        return self.url(path)

    def hits(self, path=None):
        if path is None:
            return list(self.server.hits)
        return [h for h in self.server.hits if h.lstrip("/") == path.lstrip("/")]

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)
        shutil.rmtree(self.root, ignore_errors=True)


# Raw sockets, for what http.client refuses to send.

def raw_exchange(port, data, read_timeout=5.0, half_close=True):
    """Sends `data` on a fresh connection and reads until the server closes it or `read_timeout`
    passes without a byte. Returns (bytes received, closed_by_server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    received = b""
    closed = False
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close before reading everything: that is an answer too
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        s.close()
    return received, closed


def parse_responses(data):
    """Splits raw HTTP/1.1 bytes into [(status, headers dict, body bytes)] (Content-Length
    framed responses only; a trailing fragment is ignored)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            break
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        n = int(headers.get("content-length", "0"))
        out.append((int(m.group(1)), headers, rest[:n]))
        data = rest[n:]
    return out


class RawResponse:
    """A Response-like view of one raw response, for assert_problem."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return f"<raw {self.status} {self.headers} {self.body[:300]!r}>"


# Semantic comparison of entities.

TEMPORAL_MEMBERS = ("observedAt", "createdAt", "modifiedAt", "deletedAt")


def instant(text):
    """A DateTime string as a canonical UTC instant (so "…+05:30" and the same time in "Z"
    compare equal); unparsable text is returned unchanged."""
    if not isinstance(text, str):
        return text
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if t.tzinfo is None:
        return text
    return t.astimezone(datetime.timezone.utc).isoformat()


def canonical_attribute(value):
    """An attribute (or sub-attribute) in a form where semantically equal NGSI-LD
    representations compare equal: temporal members as instants, sub-attributes canonical,
    multi-attribute instances as an order-free list."""
    if isinstance(value, list):
        items = [canonical_attribute(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if not isinstance(value, dict) or "type" not in value:
        return value
    out = {}
    for k, v in value.items():
        if k in TEMPORAL_MEMBERS:
            out[k] = instant(v)
        elif isinstance(v, (dict, list)) and k not in ("value", "object", "languageMap",
                                                       "valueList", "objectList", "json",
                                                       "vocab"):
            out[k] = canonical_attribute(v)
        else:
            out[k] = v
    return out


def canonical_entity(entity):
    """An entity without its @context, attributes canonical (see canonical_attribute)."""
    out = {}
    for k, v in entity.items():
        if k == "@context":
            continue
        if k in ("id", "type", "scope"):
            out[k] = v
        elif k in TEMPORAL_MEMBERS:
            out[k] = instant(v)
        else:
            out[k] = canonical_attribute(v)
    return out


def diff_entities(expected, actual):
    """Human-readable differences between two canonical entities (empty when equal)."""
    lines = []
    for k in sorted(set(expected) | set(actual)):
        e, a = expected.get(k, "<absent>"), actual.get(k, "<absent>")
        if e != a:
            lines.append(f"  {k}: expected {json.dumps(e)[:300]} got {json.dumps(a)[:300]}")
    return "\n".join(lines)
