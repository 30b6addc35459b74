"""Hostile input against the real server: malformed JSON, wrong media types, framing errors,
oversize bodies and headers, deep nesting, bad UTF-8, odd numbers, NUL bytes, huge and non-URI
ids, hostile names and query strings, raw protocol garbage, and a concurrent mix of valid and
invalid requests. After every test the server must still answer /health and still hold an
entity created at the start, unchanged.

Expected statuses come from ETSI GS CIM 009 (error types §5.5.2, create §5.6.1.4, retrieve
§5.7.1.4, media types §6.3.4/§6.3.5) and HTTP (RFC 9110, RFC 9112, RFC 6585, RFC 8259 for JSON);
errors are ProblemDetails (RFC 7807) except where only the connection can be dropped.

Run: python3 -m unittest tests/integration/test_hostile_input.py"""

import json
import math
import os
import random
import socket
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402
from integration_support import (  # noqa: E402
    ENTITIES, RawResponse, assert_problem, describe, parse_responses, raw_exchange)

MAX_BODY = 262144
JSON = {"Content-Type": "application/json"}
ANY_ERROR = None  # any NGSI-LD error type


def entity(eid, **attrs):
    e = {"id": eid, "type": "Thing"}
    for name, value in attrs.items():
        e[name] = {"type": "Property", "value": value}
    return e


class HostileInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--max-body-bytes", str(MAX_BODY)]).start()
        cls.sentinel = {
            "id": "urn:ngsi-ld:Thing:sentinel", "type": "Thing",
            "name": {"type": "Property", "value": "sentinel ü ✓"},
            "count": {"type": "Property", "value": 7, "observedAt": "2024-01-02T03:04:05Z"},
            "near": {"type": "Relationship", "object": "urn:ngsi-ld:Thing:other"},
            "location": {"type": "GeoProperty",
                         "value": {"type": "Point", "coordinates": [139.7, 35.6]}},
        }
        r = cls.server.request("POST", ENTITIES, cls.sentinel, JSON)
        assert r.status == 201, r
        cls.sentinel_body = cls.server.get(ENTITIES + "/" + cls.sentinel["id"]).json()
        assert cls.sentinel_body == cls.sentinel, cls.sentinel_body

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def tearDown(self):
        # After every group: alive, healthy, and the sentinel unchanged.
        s = self.server
        self.assertIsNone(s.proc.poll(), "the server process died:\n" + s.read_log())
        r = s.get("/health")
        self.assertEqual(r.status, 200, r)
        r = s.get(ENTITIES + "/" + self.sentinel["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), self.sentinel_body)

    def post(self, body, headers=JSON):
        return self.server.request("POST", ENTITIES, body, headers)

    def check(self, response, status, types, context, detail_has=()):
        return assert_problem(self, response, status, types, detail_has, context=context)

    # Malformed JSON: RFC 8259 grammar violations. ETSI GS CIM 009 §5.6.1.4 and the ETSI
    # conformance test TP/NGSI-LD/CI/Prov/E/001_02 (InvalidJson, EmptyJson): 400 InvalidRequest.

    MALFORMED = {
        "truncated": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing"',
        "trailing garbage": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing"} xyz',
        "two documents": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing"}{}',
        "single quotes": b"{'id': 'urn:ngsi-ld:Thing:m1', 'type': 'Thing'}",
        "NaN": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
               b'"p": {"type": "Property", "value": NaN}}',
        "Infinity": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
                    b'"p": {"type": "Property", "value": -Infinity}}',
        "block comment": b'{"id": "urn:ngsi-ld:Thing:m1", /* c */ "type": "Thing"}',
        "line comment": b'{"id": "urn:ngsi-ld:Thing:m1", // c\n "type": "Thing"}',
        "trailing comma": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing",}',
        "unquoted key": b'{id: "urn:ngsi-ld:Thing:m1", "type": "Thing"}',
        "lone brace": b"{",
        "whitespace only": b"   \n ",
        "10,000 unclosed [": b"[" * 10000,
        "raw NUL in a string": b'{"id": "urn:ngsi-ld:Thing:m\x001", "type": "Thing"}',
        # The parser takes a NUL for the end of the text: what follows must not be ignored.
        "NUL after the document": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing"}\x00junk',
        "NUL after a long document": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
                                     b'"p": {"type": "Property", "value": "'
                                     + b"x" * 100 + b'"}}\x00',
        "raw newline in a string": b'{"id": "urn:ngsi-ld:Thing:m\n1", "type": "Thing"}',
        "invalid UTF-8 in a value": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
                                    b'"p": {"type": "Property", "value": "\xff\xfe"}}',
        "invalid UTF-8 in a key": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
                                  b'"p\xc3\x28": {"type": "Property", "value": 1}}',
        "overlong UTF-8": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
                          b'"p": {"type": "Property", "value": "\xc0\xaf"}}',
        "UTF-8 surrogate": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing", '
                           b'"p": {"type": "Property", "value": "\xed\xa0\x80"}}',
        "bad escape": b'{"id": "urn:ngsi-ld:Thing:m1", "type": "Thing\\q"}',
    }

    def test_malformed_json(self):
        for name, body in self.MALFORMED.items():
            with self.subTest(case=name):
                for ct in ("application/json", "application/ld+json"):
                    r = self.post(body, {"Content-Type": ct})
                    self.check(r, 400, "InvalidRequest", describe("POST", ENTITIES, r, body))
                # The PATCH path parses JSON too.
                path = ENTITIES + "/" + self.sentinel["id"] + "/attrs"
                r = self.server.request("PATCH", path, body, JSON)
                self.check(r, 400, "InvalidRequest", describe("PATCH", path, r, body))
        self.assertEqual(self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:m1").status, 404)

    def test_empty_body(self):
        # TP/NGSI-LD/CI/Prov/E/001_02_02 (EmptyJson): 400 InvalidRequest.
        r = self.post(b"")
        self.check(r, 400, "InvalidRequest", describe("POST", ENTITIES, r, b""))

    def test_json_that_is_not_an_entity(self):
        # Valid JSON, wrong shape: the input data does not meet the operation (BadRequestData
        # §5.5.2) or the request is wrong (InvalidRequest); either way 400.
        for body in (b"[]", b"null", b"42", b'"urn:a"', b"{}", b'{"type": "Thing"}',
                     b'{"id": "urn:ngsi-ld:Thing:x"}', b'{"id": "urn:ngsi-ld:Thing:x", '
                     b'"type": ["Thing", 5]}', b'{"id": "urn:ngsi-ld:Thing:x", "type": "Thing", '
                     b'"p": {"type": "Relationship", "object": 5}}'):
            with self.subTest(body=body):
                r = self.post(body)
                self.check(r, 400, ("BadRequestData", "InvalidRequest"),
                           describe("POST", ENTITIES, r, body))

    def test_extreme_numbers(self):
        # 1e999 and a 400-digit integer are valid JSON (RFC 8259 §6); an implementation may
        # refuse numbers it cannot represent (400), or store them, but then must read back valid
        # JSON with a number. Never a 5xx, never "inf" on the wire.
        for name, literal in (("1e999", b"1e999"), ("-1e999", b"-1e999"),
                              ("400 digits", b"9" * 400), ("tiny", b"1e-999"),
                              ("long fraction", b"0." + b"3" * 400),
                              # Issue 14: these crashed the server or were stored as other
                              # numbers (RapidJSON's full-precision path).
                              ("0. 348 zeros 1", b"0." + b"0" * 348 + b"1"),
                              ("0e+100", b"0e+100"), ("zero, 23 decimals", b"0." + b"0" * 23),
                              ("17 digits past the range", b"99999999999999999e300"),
                              ("largest double", b"1.7976931348623157e308"),
                              ("smallest subnormal", b"4.9e-324")):
            with self.subTest(case=name):
                eid = "urn:ngsi-ld:Thing:num-" + name.replace(" ", "-")
                body = b'{"id": "' + eid.encode() + b'", "type": "Thing", ' \
                       b'"p": {"type": "Property", "value": ' + literal + b"}}"
                r = self.post(body)
                if r.status == 201:
                    g = self.server.get(ENTITIES + "/" + eid)
                    self.assertEqual(g.status, 200, g)
                    value = json.loads(g.body, parse_constant=lambda c: self.fail(
                        f"non-JSON constant {c} in {g.body[:200]!r}"))["p"]["value"]
                    self.assertIsInstance(value, (int, float))
                    # What was stored must be the number sent (a double cannot hold 1e999:
                    # such a number has to be refused, not silently changed).
                    self.assertTrue(math.isclose(value, float(literal.decode()), rel_tol=1e-12,
                                                 abs_tol=1e-300), f"{literal[:20]!r} -> {value}")
                else:
                    self.check(r, 400, ("BadRequestData", "InvalidRequest"),
                               describe("POST", ENTITIES, r, body))

    def test_deeply_nested_valid_json(self):
        # 10,000 levels of balanced arrays inside a Property value: valid JSON. Refusing it is an
        # implementation limit (400 naming the nesting); accepting it must round-trip.
        value = b"[" * 10000 + b"]" * 10000
        body = b'{"id": "urn:ngsi-ld:Thing:deep", "type": "Thing", ' \
               b'"p": {"type": "Property", "value": ' + value + b"}}"
        r = self.post(body)
        if r.status == 201:
            g = self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:deep")
            self.assertEqual(g.status, 200, g)
            self.assertEqual(g.body.count(b"["), 10000)
        else:
            self.check(r, 400, ("BadRequestData", "InvalidRequest"),
                       describe("POST", ENTITIES, r, body[:200]))
        for body in (b"{" + b'"a":{' * 10000 + b"}" * 10001,):
            r = self.post(body)
            self.check(r, 400, ("BadRequestData", "InvalidRequest"),
                       describe("POST", ENTITIES, r, body[:200]))

    def test_nul_and_control_characters_escaped(self):
        # Escaped NUL is valid JSON; in an id it makes the id not a URI (BadRequestData), in an
        # attribute name it is not a valid name (BadRequestData), in a value it is just a
        # character that must come back unchanged.
        r = self.post(b'{"id": "urn:ngsi-ld:Thing:a\\u0000b", "type": "Thing"}')
        self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, "id with \\u0000"))
        r = self.post(b'{"id": "urn:ngsi-ld:Thing:n1", "type": "Thing", '
                      b'"a\\u0000b": {"type": "Property", "value": 1}}')
        self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, "name with \\u0000"))
        value = "a\x00b\x01c\x1f\u2028\U0001F600"
        r = self.post(entity("urn:ngsi-ld:Thing:n2", p=value))
        self.assertEqual(r.status, 201, r)
        g = self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:n2")
        self.assertEqual(g.json()["p"]["value"], value)
        # An escaped lone surrogate is JSON-grammatical but not Unicode text: refuse it (400),
        # or keep it such that the answer is still valid JSON.
        r = self.post(b'{"id": "urn:ngsi-ld:Thing:n3", "type": "Thing", '
                      b'"p": {"type": "Property", "value": "\\ud800"}}')
        if r.status == 201:
            g = self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:n3")
            self.assertEqual(g.status, 200, g)
            json.loads(g.body)
        else:
            self.check(r, 400, ("BadRequestData", "InvalidRequest"),
                       describe("POST", ENTITIES, r, "lone surrogate"))

    # Media types: §6.3.4 (415 for a Content-Type the operation does not accept) and §6.3.5.

    def test_content_type(self):
        body = entity("urn:ngsi-ld:Thing:ct")
        for ct in (None, "text/plain", "application/xml", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=x", "application/jsonx", "json", ""):
            with self.subTest(content_type=ct):
                headers = {} if ct is None else {"Content-Type": ct}
                r = self.server.request("POST", ENTITIES, json.dumps(body), headers)
                self.check(r, 415, ANY_ERROR, describe("POST", ENTITIES, r, f"Content-Type {ct}"))
        self.assertEqual(self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:ct").status, 404)
        # application/ld+json without an @context: BadRequestData (§6.3.5).
        r = self.server.request("POST", ENTITIES, json.dumps(body),
                                {"Content-Type": "application/ld+json"})
        self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, "ld+json no @context"))
        # Parameters and case do not change the media type (RFC 9110 §8.3.1).
        r = self.server.request("POST", ENTITIES, json.dumps(body),
                                {"Content-Type": "Application/JSON; charset=utf-8"})
        self.assertEqual(r.status, 201, r)

    def test_unacceptable_accept(self):
        # §6.3.4: an Accept the operation cannot produce is 406 Not Acceptable.
        path = ENTITIES + "/" + self.sentinel["id"]
        r = self.server.get(path, {"Accept": "text/html"})
        self.check(r, 406, ANY_ERROR, describe("GET", path, r))

    # Framing, sizes.

    def test_body_without_content_length(self):
        # No Content-Length and no Transfer-Encoding: the body length is zero (RFC 9112 §6.3),
        # so the server cannot take an entity from it: 411 Length Required (RFC 9110 §15.5.12).
        req = (b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
               b"Content-Type: application/json\r\n\r\n"
               b'{"id": "urn:ngsi-ld:Thing:nolen", "type": "Thing"}')
        data, _ = raw_exchange(self.server.port, req)
        responses = parse_responses(data)
        self.assertTrue(responses, f"no HTTP response: {data[:300]!r}")
        status, headers, body = responses[0]
        self.check(RawResponse(status, headers, body), 411, ANY_ERROR, repr(data[:400]))
        self.assertEqual(self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:nolen").status, 404)

    def test_chunked_body_is_accepted(self):
        # Transfer-Encoding: chunked frames a body as well as Content-Length (RFC 9112 §7.1).
        payload = json.dumps(entity("urn:ngsi-ld:Thing:chunked", p=1)).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 7]), payload[i:i + 7])
                          for i in range(0, len(payload), 7))
        req = (b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + chunks + b"0\r\n\r\n")
        data, _ = raw_exchange(self.server.port, req)
        responses = parse_responses(data)
        self.assertTrue(responses and responses[0][0] == 201, repr(data[:400]))
        g = self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:chunked")
        self.assertEqual(g.json(), entity("urn:ngsi-ld:Thing:chunked", p=1))

    def test_bad_content_length(self):
        # An invalid or conflicting Content-Length is unrecoverable framing: 400 and close
        # (RFC 9112 §6.3 item 5). Closing without an answer is tolerated.
        for cl in (b"-1", b"abc", b"1, 2", b"18446744073709551616"):
            with self.subTest(content_length=cl):
                req = (b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
                       b"Content-Type: application/json\r\nContent-Length: " + cl + b"\r\n\r\n{}")
                self.assert_refused(req, (400, 413))
        req = (b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
               b"Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
               b"\r\n{} ")
        self.assert_refused(req, (400,))

    def test_oversize_body(self):
        # Above --max-body-bytes: 413 Payload Too Large (RFC 9110 §15.5.14) as ProblemDetails.
        big = entity("urn:ngsi-ld:Thing:big", p="x" * (MAX_BODY + 10))
        r = self.post(big)
        self.check(r, 413, ANY_ERROR, describe("POST", ENTITIES, r, "300 KB entity"))
        self.assertEqual(self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:big").status, 404)
        # Announced but never sent: the server must answer from the header alone.
        req = (b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
               b"Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{")
        data, _ = raw_exchange(self.server.port, req, half_close=False)
        responses = parse_responses(data)
        self.assertTrue(responses, f"no answer to a 1 TB Content-Length: {data[:200]!r}")
        self.check(RawResponse(*responses[0]), 413, ANY_ERROR, repr(data[:300]))
        # Just under the limit is fine.
        ok = entity("urn:ngsi-ld:Thing:almost", p="y" * (MAX_BODY - 200))
        r = self.post(ok)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.server.get(ENTITIES + "/urn:ngsi-ld:Thing:almost").json(), ok)

    def test_oversize_headers(self):
        # RFC 6585 §5: 431 Request Header Fields Too Large.
        path = ENTITIES + "/" + self.sentinel["id"]
        r = self.server.get(path, {"X-Big": "a" * 20000})
        self.check(r, 431, ANY_ERROR, describe("GET", path, r, "20 KB header"))
        many = {f"X-H{i}": "v" * 30 for i in range(1000)}
        r = self.server.get(path, many)
        self.check(r, 431, ANY_ERROR, describe("GET", path, r, "1000 headers"))

    def test_long_uri(self):
        # RFC 9110 §15.5.15: a request-target longer than the server will interpret is
        # 414 URI Too Long (431 is for header fields, RFC 6585 §5).
        for path in (ENTITIES + "/urn:ngsi-ld:Thing:" + "x" * 100000,
                     ENTITIES + "/" + self.sentinel["id"] + "?attrs=" + "a" * 100000):
            with self.subTest(path=path[:60]):
                r = self.server.get(path)
                self.check(r, 414, ANY_ERROR, describe("GET", path, r))

    # Ids and names.

    def test_extremely_long_id(self):
        # No id length limit in the spec: a 100 KB URN is an id like any other (201, and a
        # second create is 409 AlreadyExists), or an implementation limit refuses it as
        # BadRequestData naming the id. Either way the client gets an answer.
        eid = "urn:ngsi-ld:Thing:" + "x" * 100000
        try:
            r = self.post(entity(eid, p=1))
        except OSError as e:
            again = self.post(entity(eid, p=2))
            self.fail(f"POST of a 100 KB id: connection closed without a response ({e!r}); "
                      f"a second POST then answers {again.status} {again.body[:200]!r}")
        if r.status != 201:
            self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, "100 KB id"),
                       detail_has=("id",))
        else:
            r = self.post(entity(eid, p=2))
            self.check(r, 409, "AlreadyExists", describe("POST", ENTITIES, r, "100 KB id again"))

    def test_ids_that_are_not_uris(self):
        # §5.6.1.4 / §4.5.1: an Entity id is a URI; otherwise BadRequestData.
        for eid in ("not a uri", "abc", "", " urn:ngsi-ld:Thing:1", "urn:ngsi-ld:Thing:a b",
                    "<urn:x>", "http://exa mple.org/", ":nope", 42, None, ["urn:x:1"],
                    {"@id": "urn:x:1"}):
            with self.subTest(id=eid):
                body = {"id": eid, "type": "Thing"}
                r = self.post(body)
                self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, body))

    def test_hostile_attribute_names(self):
        # Attribute names and types are JSON-LD terms expanded to IRIs (§4.6.2, §5.5.7). Space,
        # '"', '<', '>' and control characters cannot appear in an IRI (RFC 3987 §2.2), and the
        # empty string is no term: BadRequestData.
        for i, name in enumerate(("a b", 'a"b', "a<b", "<script>alert(1)</script>", "a>b",
                                  "a\nb", "", "a\tb")):
            with self.subTest(name=name):
                body = {"id": f"urn:ngsi-ld:Thing:names{i}", "type": "Thing",
                        name: {"type": "Property", "value": 1}}
                r = self.post(body)
                self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, body))
                self.assertEqual(self.server.get(ENTITIES + "/" + body["id"]).status, 404)
        for i, t in enumerate(("a b", "<T>", 'T"', "")):
            with self.subTest(type=t):
                body = {"id": f"urn:ngsi-ld:Thing:types{i}", "type": t}
                r = self.post(body)
                self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, body))
        # '{', '}', '|', '\\', '^', '`' are outside RFC 3987 too, but JSON-LD processors
        # commonly pass them through: refuse (400) or keep the name exactly.
        for i, name in enumerate(("a{b}", "a|b", "a\\b", "a^b", "a`b")):
            with self.subTest(name=name):
                body = {"id": f"urn:ngsi-ld:Thing:odd{i}", "type": "Thing",
                        name: {"type": "Property", "value": i}}
                r = self.post(body)
                if r.status == 201:
                    g = self.server.get(ENTITIES + "/" + body["id"])
                    self.assertEqual(g.json(), body, g)
                else:
                    self.check(r, 400, "BadRequestData", describe("POST", ENTITIES, r, body))

    def test_hostile_query_strings(self):
        base = ENTITIES + "/" + self.sentinel["id"]
        # Broken percent-escapes (RFC 3986 §2.1): the request cannot be decoded, 400.
        for q in ("?attrs=%zz", "?attrs=%", "?attrs=%4", "?%zz=1", "?options=%G0"):
            with self.subTest(query=q):
                r = self.server.get(base + q)
                self.check(r, 400, ANY_ERROR, describe("GET", base + q, r))
        # options with a value the operation does not define: InvalidRequest (OpenAPI 1.8.1,
        # ProblemDetails.detail: unsupported "options" values should get InvalidRequest).
        for q in ("?options=garbage", "?options=keyValues,garbage", "?options=%00",
                  "?options=" + "x" * 1000):
            with self.subTest(query=q[:40]):
                r = self.server.get(base + q)
                self.check(r, 400, "InvalidRequest", describe("GET", base + q, r))
        # Not defined by the spec: the server may ignore them (200, the entity) or refuse them
        # (400 ProblemDetails); nothing else.
        for q in ("?foo=bar", "?options=keyValues&options=keyValues", "?options=",
                  "?attrs=name&attrs=count", "?=", "?&&&", "?attrs=<script>", "?a=" + "%41" * 2000):
            with self.subTest(query=q[:40]):
                r = self.server.get(base + q)
                if r.status == 200:
                    got = r.json()
                    self.assertEqual(got["id"], self.sentinel["id"], r)
                else:
                    self.check(r, 400, ANY_ERROR, describe("GET", base + q, r))

    def test_path_traversal_looking_ids(self):
        # Not URIs once decoded: BadRequestData (§5.7.1.4); or no such route: 404.
        for path in (ENTITIES + "/..%2F..%2Fetc", ENTITIES + "/..%2F..%2Fetc%2Fpasswd",
                     ENTITIES + "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", ENTITIES + "/../../etc/passwd",
                     ENTITIES + "/..", "/ngsi-ld/v1/../../../etc/passwd"):
            with self.subTest(path=path):
                r = self.server.get(path)
                self.check(r, (400, 404), ("BadRequestData", "ResourceNotFound", "InvalidRequest"),
                           describe("GET", path, r))
        # A URN may contain '/' and '.': it is an id like any other, and stays one entity.
        eid = "urn:ngsi-ld:Thing:../../../etc/passwd"
        r = self.post(entity(eid, p=1))
        self.assertEqual(r.status, 201, r)
        path = ENTITIES + "/" + urllib.parse.quote(eid, safe=":")
        g = self.server.get(path)
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.json(), entity(eid, p=1))
        d = self.server.request("DELETE", path)
        self.assertEqual(d.status, 204, d)
        self.assertEqual(self.server.get(path).status, 404)

    # Raw protocol garbage: closing the connection, or a 400, is acceptable.

    def assert_refused(self, request, statuses=(400,), **kw):
        data, closed = raw_exchange(self.server.port, request, **kw)
        responses = parse_responses(data)
        if not responses:
            self.assertTrue(closed, f"neither an answer nor a close: {data[:200]!r}")
            return
        status, headers, body = responses[0]
        self.assertIn(status, statuses, repr(data[:300]))
        if body:
            self.check(RawResponse(status, headers, body), status, ANY_ERROR, repr(data[:300]))

    def test_http_garbage(self):
        rng = random.Random(1234)
        for i in range(20):
            with self.subTest(random_bytes=i):
                self.assert_refused(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))))
        for name, req in (
                ("binary zeros", b"\x00" * 5000),
                ("TLS hello", bytes.fromhex("16030100a5010000a103035f")),
                ("bad version", b"GET /health HTTP/9.9\r\nHost: t\r\n\r\n"),  # 505 fits too
                ("no version", b"GET /health\r\n\r\n"),
                ("header without colon", b"GET /health HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n"),
                ("space before colon", b"GET /health HTTP/1.1\r\nHost : t\r\n\r\n"),
                ("bad chunk size", b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
                                   b"Content-Type: application/json\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
                ("CL and TE", b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
                              b"Content-Type: application/json\r\nContent-Length: 4\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                # Issue 14: two Host headers (RFC 9112 §3.2), two tenant headers (a gateway's
                # appended tenant must not be bypassed), a query that is not UTF-8.
                ("two Host headers", b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                ("two tenants", b"GET /ngsi-ld/v1/entities?type=Thing HTTP/1.1\r\nHost: t\r\n"
                                b"NGSILD-Tenant: a\r\nNGSILD-Tenant: b\r\n\r\n"),
                ("query not UTF-8", b"GET /ngsi-ld/v1/entities?type=%FF HTTP/1.1\r\n"
                                    b"Host: t\r\n\r\n")):
            with self.subTest(case=name):
                self.assert_refused(req)
        # A transfer coding other than chunked alone cannot be decoded (RFC 9112 §6.1): 501.
        self.assert_refused(b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
                            b"Content-Type: application/json\r\n"
                            b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", (501,))

    def test_missing_host_header(self):
        # RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host.
        self.assert_refused(b"GET /health HTTP/1.1\r\n\r\n")

    def test_one_megabyte_request_line(self):
        # The request line alone exceeds every limit: close, 400, 414 or 431.
        self.assert_refused(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: t\r\n\r\n",
                            (400, 414, 431))

    def test_slowloris(self):
        # Partial requests held open must not stop others being served; then they are
        # abandoned mid-header.
        port = self.server.port
        held = []
        try:
            for i in range(50):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\nContent-Le")
                held.append(s)
            for i in range(20):
                r = self.server.get("/health")
                self.assertEqual(r.status, 200, r)
            r = self.post(entity(f"urn:ngsi-ld:Thing:slow", p=1))
            self.assertEqual(r.status, 201, r)
            # Headers complete, body promised and never finished.
            for i in range(10):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: t\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\"")
                held.append(s)
            self.assertEqual(self.server.get("/health").status, 200)
        finally:
            for s in held:
                s.close()

    # Concurrency.

    def test_concurrent_mixed_requests(self):
        threads, per_thread = 8, 200
        failures = []
        expected = {}  # id -> entity the server must hold afterwards
        lock = threading.Lock()

        def worker(w):
            rng = random.Random(w)
            conn = self.server.connection()
            mine = {}
            try:
                for i in range(per_thread):
                    kind = rng.choice(["create", "create", "patch", "get", "bad-json",
                                       "bad-ct", "bad-id", "bad-param", "missing", "big"])
                    eid = f"urn:ngsi-ld:Thing:c{w}-{i}"
                    try:
                        if kind == "create" or (kind in ("patch", "get") and not mine):
                            body = entity(eid, n=i, who=f"w{w}")
                            r = self.server.request("POST", ENTITIES, body, JSON, conn=conn)
                            ok = r.status == 201
                            if ok:
                                mine[eid] = body
                        elif kind == "patch":
                            target = rng.choice(sorted(mine))
                            path = f"{ENTITIES}/{target}/attrs/n"
                            r = self.server.request("PATCH", path, {"value": i * 1000}, JSON,
                                                    conn=conn)
                            ok = r.status == 204
                            if ok:
                                mine[target]["n"]["value"] = i * 1000
                        elif kind == "get":
                            target = rng.choice(sorted(mine))
                            r = self.server.request("GET", f"{ENTITIES}/{target}", conn=conn)
                            ok = r.status == 200 and r.json() == mine[target]
                        else:
                            body, headers, path, method, status = {
                                "bad-json": (b'{"id": "' + eid.encode() + b'", "type": ', JSON,
                                             ENTITIES, "POST", 400),
                                "bad-ct": (json.dumps(entity(eid)), {"Content-Type": "text/xml"},
                                           ENTITIES, "POST", 415),
                                "bad-id": (json.dumps({"id": "no uri", "type": "T"}), JSON,
                                           ENTITIES, "POST", 400),
                                "bad-param": (None, {}, f"{ENTITIES}/{eid}?options=zz", "GET",
                                              400),
                                "missing": (None, {}, f"{ENTITIES}/{eid}x", "GET", 404),
                                "big": (json.dumps(entity(eid, p="z" * MAX_BODY)), JSON,
                                        ENTITIES, "POST", 413),
                            }[kind]
                            if kind == "big":  # the server may close after a 413
                                r = self.server.request(method, path, body, headers)
                            else:
                                r = self.server.request(method, path, body, headers, conn=conn)
                            ok = r.status == status and json.loads(r.body)["type"].startswith(
                                "https://uri.etsi.org/ngsi-ld/errors/")
                        if not ok:
                            with lock:
                                failures.append(f"w{w} #{i} {kind}: {r!r}"[:400])
                    except (OSError, ValueError) as e:
                        with lock:
                            failures.append(f"w{w} #{i} {kind}: {e!r}")
                        conn.close()
                        conn = self.server.connection()
            finally:
                conn.close()
                with lock:
                    expected.update(mine)

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(failures, [])
        self.assertIsNone(self.server.proc.poll())
        for eid, body in expected.items():
            r = self.server.get(f"{ENTITIES}/{eid}")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), body)


if __name__ == "__main__":
    unittest.main()
