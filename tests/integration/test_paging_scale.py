"""Paging at scale (issue "Queries, geo-queries, batch operations and discovery", item 7): with
1,000,000 entities in one tenant, paging through a type, through everything, and through a q
filter returns every matching entity exactly once, in creation order, while nothing changes; the
NGSILD-Results-Count header agrees; deep offsets return the right entities. Times of deep-offset
requests are printed (figures belong in bench/, not in assertions)."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import Server  # noqa: E402

TOTAL = int(os.environ.get("TSUNAGU_SCALE_ENTITIES", "1000000"))
BATCH = 1000
PAGE = 1000


def entity(i):
    # Two types, alternating in blocks so a type's entities interleave with the other's.
    kind = "Lamp" if (i // 7) % 2 == 0 else "Bin"
    return {"id": f"urn:ngsi-ld:{kind}:{i:07d}", "type": kind,
            "n": {"type": "Property", "value": i}}


class PagingScale(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=["--sync", "normal", "--max-limit", str(PAGE)])
        cls.server.start()
        conn = cls.server.connection(timeout=120)
        start = time.time()
        for b in range(0, TOTAL, BATCH):
            body = json.dumps([entity(i) for i in range(b, min(TOTAL, b + BATCH))])
            r = cls.server.request("POST", "/ngsi-ld/v1/entityOperations/upsert", body,
                                   {"Content-Type": "application/json"}, conn=conn)
            assert r.status in (201, 204), r
        conn.close()
        cls.load_seconds = time.time() - start
        print(f"\nloaded {TOTAL} entities in {cls.load_seconds:.1f} s "
              f"({TOTAL / cls.load_seconds:.0f} entities/s, --sync normal)", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def page_through(self, query, expected_ids):
        conn = self.server.connection(timeout=120)
        seen = []
        offset = 0
        count = None
        while True:
            r = self.server.request("GET", f"/ngsi-ld/v1/entities?{query}&pick=id&count=true"
                                    f"&limit={PAGE}&offset={offset}", conn=conn)
            self.assertEqual(r.status, 200, r)
            page = [e["id"] for e in r.json()]
            if count is None:
                count = int(r.header("NGSILD-Results-Count"))
            else:
                self.assertEqual(int(r.header("NGSILD-Results-Count")), count)
            seen.extend(page)
            offset += PAGE
            if offset >= count:
                self.assertNotIn('rel="next"', r.headers.get("link", ""))
                break
            self.assertEqual(len(page), PAGE)
            self.assertIn('rel="next"', r.headers.get("link", ""))
        conn.close()
        self.assertEqual(count, len(expected_ids))
        self.assertEqual(len(seen), len(set(seen)), "an entity was repeated across pages")
        self.assertEqual(seen, expected_ids, "pages skipped entities or left creation order")

    def test_page_through_one_type(self):
        expected = [entity(i)["id"] for i in range(TOTAL) if entity(i)["type"] == "Lamp"]
        self.page_through("type=Lamp", expected)

    def test_page_through_everything(self):
        expected = [entity(i)["id"] for i in range(TOTAL)]
        self.page_through("local=true", expected)

    def test_page_through_a_filter(self):
        lo, hi = TOTAL // 3, TOTAL // 3 + 25 * PAGE + 17
        expected = [entity(i)["id"] for i in range(lo, hi + 1) if entity(i)["type"] == "Bin"]
        self.page_through(f"type=Bin&q=n%3E={lo};n%3C={hi}", expected)

    def test_deep_offsets(self):
        for query, ids in (
            ("local=true", None),
            ("type=Lamp", [entity(i)["id"] for i in range(TOTAL) if entity(i)["type"] == "Lamp"]),
        ):
            all_ids = ids or [entity(i)["id"] for i in range(TOTAL)]
            for offset in (0, len(all_ids) // 2, len(all_ids) - 5):
                start = time.time()
                r = self.server.get(f"/ngsi-ld/v1/entities?{query}&pick=id&limit=10"
                                    f"&offset={offset}")
                elapsed = (time.time() - start) * 1000
                self.assertEqual(r.status, 200, r)
                self.assertEqual([e["id"] for e in r.json()], all_ids[offset:offset + 10])
                print(f"{query} offset={offset}: {elapsed:.2f} ms", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
