"""What one entity may cost (issue 14): --max-entity-attributes bounds the attribute instances an
entity holds, whichever write would pass it (create, append, merge, batch), and a refused write
changes nothing; --max-geometry-positions bounds one geometry, in an entity and in a geo-query
(a MultiPolygon of 2,000 rings of 100 points took a query 17-54 s).

Run: python3 -m unittest tests/integration/test_entity_limits.py"""

import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
LIMIT = 5


def attrs(names):
    return {n: {"type": "Property", "value": i} for i, n in enumerate(names)}


class EntityLimits(unittest.TestCase):
    def test_attribute_limit(self):
        with Server(args=["--max-entity-attributes", str(LIMIT)]) as s:
            ok = {"id": "urn:ngsi-ld:T:1", "type": "T", **attrs(["a", "b", "c", "d", "e"])}
            self.assertEqual(s.request("POST", ENTITIES, ok).status, 201)
            big = {"id": "urn:ngsi-ld:T:2", "type": "T", **attrs(["a", "b", "c", "d", "e", "f"])}
            r = s.request("POST", ENTITIES, big)
            self.assertEqual(r.status, 400, r)
            self.assertIn("the limit is 5", r.json()["detail"])
            self.assertEqual(s.get(ENTITIES + "/urn:ngsi-ld:T:2").status, 404)
            for method, path in (("POST", "/attrs"), ("PATCH", "")):
                r = s.request(method, ENTITIES + "/urn:ngsi-ld:T:1" + path, attrs(["f"]))
                self.assertEqual(r.status, 400, (method, r))
            r = s.request("POST", "/ngsi-ld/v1/entityOperations/upsert?options=update",
                          [{"id": "urn:ngsi-ld:T:1", "type": "T", **attrs(["f", "g"])}],
                          {"Content-Type": "application/json"})
            self.assertEqual(r.status, 207, r)  # options=update appends: over the limit
            body = s.get(ENTITIES + "/urn:ngsi-ld:T:1").json()
            self.assertEqual(sorted(k for k in body if k not in ("id", "type")),
                             ["a", "b", "c", "d", "e"])
            # Replacing an attribute keeps the count: allowed.
            r = s.request("POST", ENTITIES + "/urn:ngsi-ld:T:1/attrs", attrs(["a"]))
            self.assertEqual(r.status, 204, r)


def ring(x, y, n=100):
    pts = [[round(x + 0.01 * math.cos(2 * math.pi * k / n), 7),
            round(y + 0.01 * math.sin(2 * math.pi * k / n), 7)] for k in range(n)]
    return [pts + [pts[0]]]


class GeometryLimits(unittest.TestCase):
    def test_geometry_position_limit(self):
        with Server(args=["--max-geometry-positions", "1000"]) as s:
            fits = [ring(139 + 0.03 * i, 35) for i in range(9)]  # 909 positions
            over = [ring(139 + 0.03 * i, 35) for i in range(10)]  # 1,010
            for rings, status in ((fits, 201), (over, 400)):
                e = {"id": f"urn:ngsi-ld:Area:{len(rings)}", "type": "Area",
                     "location": {"type": "GeoProperty",
                                  "value": {"type": "MultiPolygon", "coordinates": rings}}}
                r = s.request("POST", ENTITIES, e)
                self.assertEqual(r.status, status, r)
            self.assertIn("more than 1000 positions", r.json()["detail"])
            self.assertEqual(s.get(ENTITIES + "/urn:ngsi-ld:Area:10").status, 404)
            for rings, status in ((fits, 200), (over, 400)):
                q = {"type": "Query", "geoQ": {"geometry": "MultiPolygon", "coordinates": rings,
                                               "georel": "intersects"}}
                r = s.request("POST", "/ngsi-ld/v1/entityOperations/query", q)
                self.assertEqual(r.status, status, r)
            self.assertEqual([e["id"] for e in json.loads(s.request(
                "POST", "/ngsi-ld/v1/entityOperations/query",
                {"type": "Query", "geoQ": {"geometry": "MultiPolygon", "coordinates": fits,
                                           "georel": "intersects"}}).body)],
                ["urn:ngsi-ld:Area:9"])


if __name__ == "__main__":
    unittest.main()
