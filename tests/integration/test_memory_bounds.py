"""What reads may keep (hardening issue, item 4), measured on the real server: reads naming ever
new types and attributes must not grow it (names a read expands are not interned), and large
remote @contexts named by GETs must cost no more than --context-cache-mb (the @context caches
are bounded by bytes). Each test prints the resident memory it saw, so that running it against
another binary (TSUNAGU_BINARY=...) gives the figures to compare.

Run: python3 -m unittest tests/integration/test_memory_bounds.py"""

import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import ContextServer, Server, link_header  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
MIB = 1 << 20


def rss(pid):
    """Resident memory of process `pid`, in bytes (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def report(what, before, after):
    print(f"\n{what}: VmRSS {before / MIB:.1f} -> {after / MIB:.1f} MiB "
          f"(+{(after - before) / MIB:.1f})", file=sys.stderr)


def get(conn, path, headers=None):
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    return r.status, body


def large_context(path, terms=50000):
    """/big/N.jsonld: an @context of `terms` terms tN_0, tN_1, ... (about 70 bytes each),
    different for every N."""
    n = path.rsplit("/", 1)[-1].split(".")[0]
    defs = ", ".join(f'"t{n}_{i}": "https://example.org/big/{n}/attribute{i}"'
                     for i in range(terms))
    return ('{"@context": {' + defs + "}}").encode()


def metric(server, name, labels):
    text = server.get("/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(name + "{" + labels + "}"):
            return float(line.split()[-1])
    return None


class MemoryBounds(unittest.TestCase):
    def test_reads_naming_new_types_and_attributes_do_not_grow_the_server(self):
        with Server() as s:
            for i in range(20):
                r = s.create({"id": f"urn:ngsi-ld:Bin:{i}", "type": "WasteContainer",
                              "fillingLevel": {"type": "Property", "value": i / 20}})
                self.assertEqual(r.status, 201, r)
            conn = s.connection()
            # Warm up with the same requests over known names: threads, caches, allocator.
            for i in range(2000):
                status, body = get(conn, f"{ENTITIES}?type=WasteContainer&attrs=fillingLevel"
                                         f"&q=fillingLevel>{i % 10 / 10}&orderBy=fillingLevel")
                self.assertEqual(status, 200, body)
                status, body = get(conn, f"{ENTITIES}?type=WasteContainer&pick=id,fillingLevel")
                self.assertEqual(status, 200, body)
            before = rss(s.proc.pid)
            for i in range(10000):
                # Every read path that expands a name: types, attrs, q names and values, orderBy,
                # pick.
                q = urllib.parse.quote(f"fresh{i}q>1;fillingLevel==\"value{i}\"")
                status, body = get(conn, f"{ENTITIES}?type=FreshType{i}&attrs=fresh{i}a&q={q}"
                                         f"&orderBy=fresh{i}o")
                self.assertEqual((status, body), (200, b"[]"))
                status, body = get(conn, f"{ENTITIES}?type=WasteContainer&pick=id,fresh{i}p"
                                         f"&q=fresh{i}r==1")
                self.assertEqual((status, body), (200, b"[]"))
            after = rss(s.proc.pid)
            report("20,000 GETs naming fresh types and attributes", before, after)
            # Before the fix every name became an atom for good: +10 MiB for this loop.
            self.assertLess(after - before, 4 * MIB)
            # The names are still unknown, and a write that introduces one is found by reads.
            status, body = get(conn, f"{ENTITIES}?type=FreshType7")
            self.assertEqual((status, body), (200, b"[]"))
            r = s.create({"id": "urn:ngsi-ld:Fresh:7", "type": "FreshType7",
                          "fresh7a": {"type": "Property", "value": 1}})
            self.assertEqual(r.status, 201, r)
            status, body = get(conn, f"{ENTITIES}?type=FreshType7&attrs=fresh7a")
            self.assertEqual(status, 200)
            self.assertEqual([e["id"] for e in json.loads(body)], ["urn:ngsi-ld:Fresh:7"])
            conn.close()

    def test_large_queries_do_not_grow_the_server(self):
        with Server() as s:
            r = s.create({"id": "urn:ngsi-ld:Bin:1", "type": "WasteContainer",
                          "fillingLevel": {"type": "Property", "value": 0.5}})
            self.assertEqual(r.status, 201, r)
            conn = s.connection(timeout=120)

            def query(k):
                # 100,000 fresh attribute names in one q (1.9 MB).
                q = "|".join(f"big{k}attribute{i}==1" for i in range(100000))
                body = json.dumps({"type": "Query", "q": q})
                conn.request("POST", "/ngsi-ld/v1/entityOperations/query", body,
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                return r.status, r.read()

            self.assertEqual(query(0), (200, b"[]"))  # the parse's own peak, once
            before = rss(s.proc.pid)
            for k in range(1, 17):
                self.assertEqual(query(k), (200, b"[]"))
            after = rss(s.proc.pid)
            report("16 queries of 100,000 fresh names each", before, after)
            # Before the fix: +250 MiB, every name an atom for good.
            self.assertLess(after - before, 16 * MIB)
            conn.close()

    def test_large_remote_contexts_cost_no_more_than_the_context_cache(self):
        cache_mb = 64  # the default --context-cache-mb
        with ContextServer(documents=large_context) as contexts, Server() as s:
            r = s.create({"id": "urn:ngsi-ld:Bin:1", "type": "WasteContainer",
                          "fillingLevel": {"type": "Property", "value": 0.5}})
            self.assertEqual(r.status, 201, r)
            conn = s.connection(timeout=120)
            status, _ = get(conn, f"{ENTITIES}?type=WasteContainer")
            self.assertEqual(status, 200)
            before = rss(s.proc.pid)
            peak = before
            for n in range(60):  # about 3.5 MB each
                status, body = get(conn, f"{ENTITIES}?type=t{n}_1&attrs=t{n}_2",
                                   {"Link": link_header(contexts.url(f"big/{n}.jsonld"))})
                self.assertEqual((status, body), (200, b"[]"), body[:300])
                peak = max(peak, rss(s.proc.pid))
            after = rss(s.proc.pid)
            report(f"60 remote contexts of 3.5 MB via Link (default --context-cache-mb {cache_mb})",
                   before, after)
            print(f"peak VmRSS {peak / MIB:.1f} MiB", file=sys.stderr)
            # The caches' budget, plus room for building one context at a time (before the fix:
            # +960 MiB, every document and context kept, every term an atom).
            self.assertLess(peak - before, (cache_mb + 64) * MIB)
            half = cache_mb * MIB / 2
            self.assertLessEqual(metric(s, "tsunagu_context_cache_bytes", 'cache="documents"'),
                                 half)
            self.assertLessEqual(metric(s, "tsunagu_context_cache_bytes", 'cache="contexts"'),
                                 half)
            # The last one is still answered from memory.
            loads = len(contexts.hits)
            status, _ = get(conn, f"{ENTITIES}?type=t59_1",
                            {"Link": link_header(contexts.url("big/59.jsonld"))})
            self.assertEqual(status, 200)
            self.assertEqual(len(contexts.hits), loads)
            conn.close()


if __name__ == "__main__":
    unittest.main()
