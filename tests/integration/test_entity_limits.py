"""What one entity may cost (issue 14): --max-entity-attributes bounds the attribute instances an
entity holds, whichever write would pass it (create, append, merge, batch), and a refused write
changes nothing.

Run: python3 -m unittest tests/integration/test_entity_limits.py"""

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


if __name__ == "__main__":
    unittest.main()
