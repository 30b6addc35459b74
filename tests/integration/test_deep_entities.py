"""Entities nested deeper than a request may be survive a restart. A stored document nests
deeper than the requests that built it: a concise value is written inside an attribute object,
a request to /attrs/{attrId} starts a level down, and an instance added later puts its siblings
in an array. The server accepted such entities, then its next start refused their documents as
nested deeper than 64 levels, the limit of a request (docs/storage.md, "The entity document").

Run: python3 -m unittest tests/integration/test_deep_entities.py"""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"


def depth(v):
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    return 0


def nested_arrays(levels):
    v = 0
    for _ in range(levels):
        v = [v]
    return v


class DeepEntities(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="tsunagu-deep-")
        self.addCleanup(shutil.rmtree, self.data, True)

    def restart_and_compare(self, server, ids):
        before = {i: server.get(f"{ENTITIES}/{i}?options=sysAttrs").json() for i in ids}
        server.stop()
        with Server(data_dir=self.data) as again:
            for i in ids:
                r = again.get(f"{ENTITIES}/{i}?options=sysAttrs")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json(), before[i])
        return before

    def test_a_concise_sub_attribute_as_deep_as_a_body_may_be(self):
        server = Server(data_dir=self.data).start()
        try:
            e = {"id": "urn:ngsi-ld:T:1", "type": "T", "a": {"type": "Property", "value": 1}}
            self.assertEqual(server.create(e).status, 201)
            # The body's object and 63 arrays: as deep as a request may be.
            fragment = {"value": 2, "s": nested_arrays(63)}
            r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:T:1/attrs/a", fragment)
            self.assertEqual(r.status, 204, r)
            r = server.request("POST", f"{ENTITIES}/urn:ngsi-ld:T:1/attrs",
                               {"a": {"type": "Property", "value": 3, "datasetId": "urn:ds:2"}})
            self.assertEqual(r.status, 204, r)
            before = self.restart_and_compare(server, ["urn:ngsi-ld:T:1"])
            self.assertEqual(depth(before["urn:ngsi-ld:T:1"]), 67)
        finally:
            server.kill()

    def test_an_instance_added_at_every_level(self):
        levels = 62  # sub-attributes under "a": the entity's request is then 64 deep
        node = {"value": 0}
        for i in range(levels, 0, -1):
            node = {"value": i, f"s{i}": node}
        server = Server(data_dir=self.data).start()
        try:
            e = {"id": "urn:ngsi-ld:T:2", "type": "T", "a": node}
            self.assertEqual(server.create(e).status, 201)
            r = server.request("POST", f"{ENTITIES}/urn:ngsi-ld:T:2/attrs",
                               {"a": {"value": -1, "datasetId": "urn:ds:x"}})
            self.assertEqual(r.status, 204, r)
            for k in range(1, levels + 1):
                body = {"value": -1, "datasetId": "urn:ds:x"}
                for i in range(k, 0, -1):
                    body = {f"s{i}": body}
                r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:T:2/attrs/a", body)
                self.assertEqual(r.status, 204, (k, r))
            before = self.restart_and_compare(server, ["urn:ngsi-ld:T:2"])
            self.assertGreater(depth(before["urn:ngsi-ld:T:2"]), 120)
        finally:
            server.kill()


if __name__ == "__main__":
    unittest.main()
