"""Context Source Registration subscriptions end to end (§5.11.2-§5.11.7): ContextSourceNotifications
to a real HTTP receiver on loopback as registrations are created, updated and deleted, the
subscription's statistics, and definitions that survive kill -9.

Run: python3 -m unittest tests/integration/test_csource_subscriptions.py"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server  # noqa: E402
from test_subscriptions import Receiver  # noqa: E402

CSUBS = "/ngsi-ld/v1/csourceSubscriptions"
CSRS = "/ngsi-ld/v1/csourceRegistrations"


def csub(sid, uri, **members):
    s = {"id": sid, "type": "Subscription", "entities": [{"type": "Building"}],
         "notification": {"endpoint": {"uri": uri, "accept": "application/json"}}}
    s.update(members)
    return s


def registration(rid, *types):
    return {"id": rid, "type": "ContextSourceRegistration", "endpoint": "http://127.0.0.1:9/cs",
            "information": [{"entities": [{"type": t}]} for t in types]}


def summary(notification):
    """(triggerReason, [(registration id, [entity types of each RegistrationInfo])])"""
    return (notification["triggerReason"],
            [(r["id"], [i["entities"][0]["type"] for i in r["information"]])
             for r in notification["data"]])


class CsourceNotifications(unittest.TestCase):
    def test_initial_change_reasons_and_statistics(self):
        receiver = Receiver()
        try:
            with Server() as server:
                r = server.request("POST", CSRS, registration("urn:x:r1", "Building", "Bus"))
                self.assertEqual(r.status, 201, r)
                r = server.request("POST", CSUBS, csub("urn:x:s", receiver.url))
                self.assertEqual(r.status, 201, r)
                got = receiver.wait_for(1)
                self.assertEqual(len(got), 1)
                headers, first = got[0]
                self.assertEqual(first["type"], "ContextSourceNotification")
                self.assertEqual(first["subscriptionId"], "urn:x:s")
                self.assertIn("rel=\"http://www.w3.org/ns/json-ld#context\"", headers["Link"])
                # Only the RegistrationInfo that matches is shown.
                self.assertEqual(summary(first), ("newlyMatching", [("urn:x:r1", ["Building"])]))

                r = server.request("PATCH", CSRS + "/urn:x:r1", {"endpoint": "http://127.0.0.1:9/b"})
                self.assertEqual(r.status, 204, r)
                r = server.request("POST", CSRS, registration("urn:x:r2", "Vehicle"))  # not told
                self.assertEqual(r.status, 201, r)
                r = server.request("PATCH", CSRS + "/urn:x:r1",
                                   {"information": [{"entities": [{"type": "Vehicle"}]}]})
                self.assertEqual(r.status, 204, r)
                r = server.request("PATCH", CSRS + "/urn:x:r2",
                                   {"information": [{"entities": [{"type": "Building"}]}]})
                self.assertEqual(r.status, 204, r)
                self.assertEqual(server.request("DELETE", CSRS + "/urn:x:r2").status, 204)
                got = receiver.wait_for(5)
                self.assertEqual([summary(n) for _, n in got[1:]], [
                    ("updated", [("urn:x:r1", ["Building"])]),
                    ("noLongerMatching", [("urn:x:r1", ["Vehicle"])]),
                    ("newlyMatching", [("urn:x:r2", ["Building"])]),
                    ("noLongerMatching", [("urn:x:r2", ["Building"])]),
                ])
                # Counted once the receiver's answer is back.
                deadline = time.time() + 10
                while True:
                    n = server.get(CSUBS + "/urn:x:s").json()["notification"]
                    if n.get("lastSuccess", "") >= n["lastNotification"] or time.time() > deadline:
                        break
                    time.sleep(0.05)
                self.assertEqual((n["timesSent"], n["status"]), (5, "ok"), n)
        finally:
            receiver.close()

    def test_definitions_survive_kill_9(self):
        receiver = Receiver()
        try:
            with Server(keep_data=True) as server:
                data = server.data_dir
                r = server.request("POST", CSUBS, csub("urn:x:k", receiver.url,
                                                       watchedAttributes=["name"]))
                self.assertEqual(r.status, 201, r)
                server.kill()
            with Server(data_dir=data) as server:
                got = server.get(CSUBS + "/urn:x:k").json()
                self.assertEqual(got["watchedAttributes"], ["name"])
                r = server.request("POST", CSRS, {
                    "id": "urn:x:r", "type": "ContextSourceRegistration",
                    "endpoint": "http://127.0.0.1:9/cs",
                    "information": [{"entities": [{"type": "Building"}],
                                     "propertyNames": ["name"]}]})
                self.assertEqual(r.status, 201, r)
                got = receiver.wait_for(1)
                self.assertEqual(len(got), 1)
                self.assertEqual(got[0][1]["subscriptionId"], "urn:x:k")
        finally:
            receiver.close()


if __name__ == "__main__":
    unittest.main()
