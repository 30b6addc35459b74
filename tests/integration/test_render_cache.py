"""Renderings of deleted entities (issue 14, item 11): the render cache kept an entity's text
until it was evicted, so data deleted through the API stayed in the server's memory. A write
that replaces or deletes an entity now drops the renderings of its old state at once (the
writer's change feed). Watched through /metrics (tsunagu_render_cache_bytes) with an entity
large enough to stand out.

Run: python3 -m unittest tests/integration/test_render_cache.py"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
BIG = 200_000
ID = "urn:ngsi-ld:Report:1"


def cache_bytes(server):
    r = server.get("/metrics")
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith("tsunagu_render_cache_bytes"):
            return float(line.split()[-1])
    raise AssertionError("tsunagu_render_cache_bytes is not in /metrics")


class RenderCacheForgets(unittest.TestCase):
    def test_replaced_and_deleted_entities_leave_the_cache(self):
        with Server() as server:
            r = server.create({"id": ID, "type": "Report",
                               "text": {"type": "Property", "value": "a" * BIG}})
            self.assertEqual(r.status, 201, r)
            self.assertLess(cache_bytes(server), BIG)
            for _ in range(2):
                self.assertEqual(server.get(ENTITIES + "/" + ID).status, 200)
            self.assertGreater(cache_bytes(server), BIG)
            r = server.request("PATCH", ENTITIES + "/" + ID + "/attrs",
                               {"text": {"type": "Property", "value": "b" * BIG}})
            self.assertEqual(r.status, 204, r)
            self.assertLess(cache_bytes(server), BIG, "the replaced state is still kept")
            r = server.get(ENTITIES + "/" + ID + "?options=keyValues")
            self.assertIn(b"bbbb", r.body)
            self.assertGreater(cache_bytes(server), BIG)
            self.assertEqual(server.request("DELETE", ENTITIES + "/" + ID).status, 204)
            self.assertLess(cache_bytes(server), BIG, "the deleted entity is still kept")


if __name__ == "__main__":
    unittest.main()
