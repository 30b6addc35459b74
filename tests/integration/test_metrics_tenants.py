"""Tenant names on /metrics (issue 14): by default the entity gauge is per tenant, by name; with
--metrics-tenants total one figure stands for all and no tenant name appears.

Run: python3 -m unittest tests/integration/test_metrics_tenants.py"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"


def fill(server):
    for tenant, n in (("townA", 2), ("townB", 3)):
        for i in range(n):
            r = server.request("POST", ENTITIES, {"id": f"urn:ngsi-ld:T:{i}", "type": "T"},
                               {"NGSILD-Tenant": tenant})
            assert r.status == 201, r
    return server.get("/metrics").body.decode()


class MetricsTenants(unittest.TestCase):
    def test_names_by_default(self):
        with Server() as s:
            text = fill(s)
            self.assertIn('tsunagu_entities{tenant="townA"} 2', text)
            self.assertIn('tsunagu_entities{tenant="townB"} 3', text)

    def test_total_hides_the_names(self):
        with Server(args=["--metrics-tenants", "total"]) as s:
            text = fill(s)
            self.assertIn('tsunagu_entities{tenant="*"} 5', text)
            self.assertNotIn("townA", text)
            self.assertNotIn("townB", text)


if __name__ == "__main__":
    unittest.main()
