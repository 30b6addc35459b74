"""Subscriptions end to end (issue 16): the API against a real server, and notifications to a
real HTTP receiver on loopback. Definitions survive kill -9; a change is notified exactly once
and in order per entity while the receiver is up; a failing receiver is retried; a receiver
that never answers holds up neither writes nor other subscriptions.

Run: python3 -m unittest tests/integration/test_subscriptions.py"""

import http.server
import json
import os
import shutil
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

SUBS = "/ngsi-ld/v1/subscriptions"
ENTITIES = "/ngsi-ld/v1/entities"


class Receiver:
    """An HTTP receiver that keeps every notification; answers 500 to the first `fail_first`.
    While `gate` is clear, a notification is kept as it arrives but not answered."""

    def __init__(self, fail_first=0):
        self.got = []
        self.lock = threading.Lock()
        self.fail_left = fail_first
        self.attempts = 0
        self.gate = threading.Event()
        self.gate.set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.attempts += 1
                    fail = outer.fail_left > 0
                    if fail:
                        outer.fail_left -= 1
                    else:
                        outer.got.append((dict(self.headers), json.loads(body)))
                outer.gate.wait(60)
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/notify"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, n, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.02)
        with self.lock:
            return list(self.got)

    def wait_while_arriving(self, n, stall):
        """Like wait_for, for as long as notifications keep arriving: gives up after `stall`
        seconds without a new one."""
        seen, since = -1, time.time()
        while time.time() - since < stall:
            with self.lock:
                if len(self.got) >= n:
                    break
                if len(self.got) != seen:
                    seen, since = len(self.got), time.time()
            time.sleep(0.02)
        with self.lock:
            return list(self.got)

    def close(self):
        self.gate.set()
        self.httpd.shutdown()


def subscription(sid, uri, **members):
    s = {"id": sid, "type": "Subscription", "entities": [{"type": "Vehicle"}],
         "notification": {"endpoint": {"uri": uri, "accept": "application/json"}}}
    s.update(members)
    return s


def vehicle(n, speed):
    return {"id": f"urn:ngsi-ld:Vehicle:{n}", "type": "Vehicle",
            "speed": {"type": "Property", "value": speed},
            "colour": {"type": "Property", "value": "red"}}


def patch_speed(server, n, speed, conn=None):
    return server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Vehicle:{n}/attrs",
                          {"speed": {"type": "Property", "value": speed}}, conn=conn)


class SubscriptionApi(unittest.TestCase):
    def test_create_read_list_update_delete(self):
        with Server() as server:
            s = subscription("urn:ngsi-ld:Subscription:a", "http://127.0.0.1:9/x",
                             watchedAttributes=["speed"], q="speed>50")
            r = server.request("POST", SUBS, s)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.header("location"), SUBS + "/urn:ngsi-ld:Subscription:a")
            self.assertEqual(server.request("POST", SUBS, s).status, 409)
            r = server.request("POST", SUBS, subscription(None, "http://127.0.0.1:9/y") | {
                "id": "urn:ngsi-ld:Subscription:b"})
            self.assertEqual(r.status, 201, r)
            got = server.get(SUBS + "/urn:ngsi-ld:Subscription:a").json()
            self.assertEqual(got["q"], "speed>50")
            self.assertEqual(got["watchedAttributes"], ["speed"])
            self.assertEqual(got["status"], "active")
            r = server.get(SUBS + "?limit=1&count=true")
            self.assertEqual(r.header("ngsild-results-count"), "2")
            self.assertEqual([x["id"] for x in r.json()], ["urn:ngsi-ld:Subscription:a"])
            r = server.get(SUBS + "?offset=1")
            self.assertEqual([x["id"] for x in r.json()], ["urn:ngsi-ld:Subscription:b"])
            r = server.request("PATCH", SUBS + "/urn:ngsi-ld:Subscription:a",
                               {"q": "speed>70", "isActive": False})
            self.assertEqual(r.status, 204, r)
            got = server.get(SUBS + "/urn:ngsi-ld:Subscription:a").json()
            self.assertEqual((got["q"], got["status"]), ("speed>70", "paused"))
            self.assertEqual(server.request("DELETE", SUBS + "/urn:ngsi-ld:Subscription:a").status,
                             204)
            self.assertEqual(server.get(SUBS + "/urn:ngsi-ld:Subscription:a").status, 404)
            self.assertEqual(server.request("DELETE", SUBS + "/urn:ngsi-ld:Subscription:a").status,
                             404)
            # Another tenant sees none of them.
            r = server.get(SUBS, headers={"NGSILD-Tenant": "kobe"})
            self.assertEqual((r.status, r.json()), (200, []))

    def test_refusals_name_what_is_wrong(self):
        with Server() as server:
            for body, status, word in [
                ({"type": "Subscription"}, 400, ""),
                (subscription("not a uri", "http://127.0.0.1:9/x"), 400, "id"),
                (subscription("urn:ngsi-ld:Subscription:c", "no-scheme"), 400, "uri"),
                (subscription("urn:ngsi-ld:Subscription:c", "http://127.0.0.1:9/x",
                              q="speed>>"), 400, "q"),
                (subscription("urn:ngsi-ld:Subscription:c", "http://127.0.0.1:9/x",
                              timeInterval=10, watchedAttributes=["speed"]), 400,
                 "timeInterval"),
                (subscription("urn:ngsi-ld:Subscription:c", "mqtt://127.0.0.1:1883"), 400,
                 "topic"),
                (subscription("urn:ngsi-ld:Subscription:c", "mqtt://127.0.0.1:1883/a/+"), 400,
                 "wildcard"),
                (subscription("urn:ngsi-ld:Subscription:c", "http://127.0.0.1:9/x") | {
                    "notification": {"showChanges": True, "format": "keyValues", "endpoint": {
                        "uri": "http://127.0.0.1:9/x"}}}, 400, "showChanges"),
                (subscription("urn:ngsi-ld:Subscription:c", "http://127.0.0.1:9/x") | {
                    "notification": {"join": "flat", "joinLevel": 9, "endpoint": {
                        "uri": "http://127.0.0.1:9/x"}}}, 400, "joinLevel"),
            ]:
                r = server.request("POST", SUBS, body)
                self.assertEqual(r.status, status, (body, r))
                self.assertIn(word, r.json()["detail"], r)
            self.assertEqual(server.request("POST", SUBS, b"{bad",
                                            {"Content-Type": "application/json"}).status, 400)
            self.assertEqual(server.get(SUBS).json(), [], "a refused subscription was kept")

    def test_definitions_survive_kill_9(self):
        receiver = Receiver()
        try:
            with Server(keep_data=True) as server:
                data = server.data_dir
                r = server.request("POST", SUBS, subscription(
                    "urn:ngsi-ld:Subscription:k", receiver.url, watchedAttributes=["speed"]))
                self.assertEqual(r.status, 201, r)
                server.kill()
            with Server(data_dir=data) as server:
                self.assertEqual(server.get(SUBS + "/urn:ngsi-ld:Subscription:k").status, 200)
                self.assertEqual(server.create(vehicle(1, 10)).status, 201)
                got = receiver.wait_for(1)
                self.assertEqual(len(got), 1)
                self.assertEqual(got[0][1]["subscriptionId"], "urn:ngsi-ld:Subscription:k")
        finally:
            receiver.close()


class Notifications(unittest.TestCase):
    def test_each_change_once_in_order_per_entity(self):
        receiver = Receiver()
        try:
            with Server() as server:
                r = server.request("POST", SUBS, subscription(
                    "urn:ngsi-ld:Subscription:n", receiver.url, watchedAttributes=["speed"]))
                self.assertEqual(r.status, 201, r)
                entities, rounds = 10, 50
                for n in range(entities):
                    self.assertEqual(server.create(vehicle(n, 0)).status, 201)
                conn = server.connection()
                for i in range(1, rounds + 1):
                    for n in range(entities):
                        self.assertEqual(patch_speed(server, n, i, conn).status, 204)
                conn.close()
                # An attribute nobody watches changes: no notification.
                r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Vehicle:0/attrs",
                                   {"colour": {"type": "Property", "value": "blue"}})
                self.assertEqual(r.status, 204)
                expected = entities * (rounds + 1)
                got = receiver.wait_for(expected)
                time.sleep(0.5)
                got = receiver.wait_for(expected + 1, timeout=0.1)
                self.assertEqual(len(got), expected)
                per_entity = {}
                ids = set()
                for headers, body in got:
                    self.assertEqual(body["type"], "Notification")
                    ids.add(body["id"])
                    e = body["data"][0]
                    per_entity.setdefault(e["id"], []).append(e["speed"]["value"])
                self.assertEqual(len(ids), expected, "notification ids repeat")
                for n in range(entities):
                    self.assertEqual(per_entity[f"urn:ngsi-ld:Vehicle:{n}"],
                                     list(range(rounds + 1)))
                status = server.get(SUBS + "/urn:ngsi-ld:Subscription:n").json()
                self.assertEqual(status["notification"]["timesSent"], expected)
                self.assertEqual(status["notification"]["status"], "ok")
                metrics = server.get("/metrics").body.decode()
                self.assertIn(f'tsunagu_notifications_total{{result="delivered"}} {expected}\n',
                              metrics)
                self.assertIn("tsunagu_notifications_pending 0\n", metrics)
                self.assertIn("tsunagu_subscriptions 1\n", metrics)
                self.assertIn("tsunagu_notification_delivery_seconds_count", metrics)
        finally:
            receiver.close()

    def test_q_tenant_header_and_receiver_info(self):
        receiver = Receiver()
        try:
            with Server() as server:
                tenant = {"NGSILD-Tenant": "osaka"}
                s = subscription("urn:ngsi-ld:Subscription:q", receiver.url, q="speed>50")
                s["notification"]["endpoint"]["receiverInfo"] = [{"key": "X-Token",
                                                                  "value": "t0k"}]
                s["notification"]["attributes"] = ["speed"]
                r = server.request("POST", SUBS, s, headers=tenant)
                self.assertEqual(r.status, 201, r)
                for n, speed in [(1, 10), (2, 60)]:
                    r = server.create(vehicle(n, speed), headers=tenant)
                    self.assertEqual(r.status, 201, r)
                got = receiver.wait_for(1)
                time.sleep(0.3)
                got = receiver.wait_for(2, timeout=0.1)
                self.assertEqual(len(got), 1, "only the fast vehicle matches q")
                headers, body = got[0]
                self.assertEqual(headers.get("NGSILD-Tenant"), "osaka")
                self.assertEqual(headers.get("X-Token"), "t0k")
                entity = body["data"][0]
                self.assertEqual(entity["id"], "urn:ngsi-ld:Vehicle:2")
                self.assertNotIn("colour", entity, "notification.attributes is a projection")
        finally:
            receiver.close()

    def test_geo_and_watched_attribute_subscriptions_see_what_concerns_them(self):
        """Subscriptions indexed spatially (a type and a geoQ) and by watched attribute (no
        entities) are notified exactly as an unindexed check would be."""
        receiver = Receiver()
        try:
            with Server() as server:
                places = {"tokyo": [139.767, 35.681], "osaka": [135.5, 34.69],
                          "sapporo": [141.35, 43.06]}
                for name, point in places.items():
                    s = subscription(f"urn:ngsi-ld:Subscription:{name}", receiver.url,
                                     watchedAttributes=["location"])
                    s["geoQ"] = {"geometry": "Point", "coordinates": point,
                                 "georel": "near;maxDistance==5000"}
                    self.assertEqual(server.request("POST", SUBS, s).status, 201)
                # Not near Sapporo: its matches lie anywhere, so it is tried for every change.
                s = subscription("urn:ngsi-ld:Subscription:far", receiver.url,
                                 watchedAttributes=["location"])
                s["geoQ"] = {"geometry": "Point", "coordinates": places["sapporo"],
                             "georel": "near;minDistance==100000"}
                self.assertEqual(server.request("POST", SUBS, s).status, 201)
                s = {"id": "urn:ngsi-ld:Subscription:colour", "type": "Subscription",
                     "watchedAttributes": ["colour"],
                     "notification": {"endpoint": {"uri": receiver.url}}}
                self.assertEqual(server.request("POST", SUBS, s).status, 201, s)

                def move(lon, lat):
                    r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Vehicle:1/attrs", {
                        "location": {"type": "GeoProperty",
                                     "value": {"type": "Point", "coordinates": [lon, lat]}}})
                    self.assertEqual(r.status, 204, r)

                v = vehicle(1, 10)
                v["location"] = {"type": "GeoProperty",
                                 "value": {"type": "Point", "coordinates": [139.77, 35.68]}}
                self.assertEqual(server.create(v).status, 201)  # near Tokyo; colour created
                move(135.501, 34.691)  # to Osaka
                move(10, 50)  # far from all three
                r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Vehicle:1/attrs",
                                   {"colour": {"type": "Property", "value": "blue"}})
                self.assertEqual(r.status, 204, r)
                got = receiver.wait_for(7)
                time.sleep(0.5)
                got = receiver.wait_for(8, timeout=0.1)
                fired = sorted(b["subscriptionId"].rsplit(":", 1)[1] for _, b in got)
                # far: more than 100 km from Sapporo at all three places.
                self.assertEqual(fired,
                                 ["colour", "colour", "far", "far", "far", "osaka", "tokyo"])
        finally:
            receiver.close()

    def test_periodic_notifications_carry_what_matches_now(self):
        receiver = Receiver()
        try:
            with Server() as server:
                for n, speed in [(1, 10), (2, 60), (3, 70)]:
                    self.assertEqual(server.create(vehicle(n, speed)).status, 201)
                r = server.request("POST", SUBS, subscription(
                    "urn:ngsi-ld:Subscription:p", receiver.url, timeInterval=1, q="speed>50"))
                self.assertEqual(r.status, 201, r)
                got = receiver.wait_for(2, timeout=5)
                self.assertGreaterEqual(len(got), 2)
                for _, body in got[:2]:
                    self.assertEqual(sorted(e["id"] for e in body["data"]),
                                     ["urn:ngsi-ld:Vehicle:2", "urn:ngsi-ld:Vehicle:3"])
                self.assertEqual(server.request("PATCH", SUBS + "/urn:ngsi-ld:Subscription:p",
                                                {"isActive": False}).status, 204)
                time.sleep(0.2)
                paused = len(receiver.wait_for(0, timeout=0))
                time.sleep(2.2)
                self.assertEqual(len(receiver.wait_for(0, timeout=0)), paused,
                                 "a paused subscription was notified")
        finally:
            receiver.close()

    def test_a_failing_receiver_is_retried(self):
        receiver = Receiver(fail_first=2)
        try:
            with Server() as server:
                r = server.request("POST", SUBS, subscription(
                    "urn:ngsi-ld:Subscription:r", receiver.url, watchedAttributes=["speed"]))
                self.assertEqual(r.status, 201, r)
                self.assertEqual(server.create(vehicle(1, 1)).status, 201)
                self.assertEqual(patch_speed(server, 1, 2).status, 204)
                got = receiver.wait_for(2)
                self.assertEqual([b["data"][0]["speed"]["value"] for _, b in got], [1, 2])
                self.assertEqual(receiver.attempts, 4)
                n = server.get(SUBS + "/urn:ngsi-ld:Subscription:r").json()["notification"]
                self.assertEqual((n["timesSent"], n["timesFailed"], n["status"]), (4, 2, "ok"))
        finally:
            receiver.close()

    def test_a_silent_receiver_holds_up_nobody(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        receiver = Receiver()
        try:
            with Server() as server:
                slow = subscription("urn:ngsi-ld:Subscription:silent",
                                    f"http://127.0.0.1:{silent.getsockname()[1]}/never",
                                    watchedAttributes=["speed"])
                self.assertEqual(server.request("POST", SUBS, slow).status, 201)
                good = subscription("urn:ngsi-ld:Subscription:good", receiver.url,
                                    watchedAttributes=["speed"])
                self.assertEqual(server.request("POST", SUBS, good).status, 201)
                self.assertEqual(server.create(vehicle(1, 0)).status, 201)
                conn = server.connection()
                t0 = time.time()
                for i in range(1, 201):
                    self.assertEqual(patch_speed(server, 1, i, conn).status, 204)
                conn.close()
                writes = time.time() - t0
                got = receiver.wait_for(201, timeout=10)
                self.assertEqual(len(got), 201)
                self.assertLess(time.time() - t0, 10)
                print(f"200 writes took {writes:.2f} s beside a receiver that never answers")
                # A stop does not wait for the silent receiver's timeouts, and ends cleanly.
                t0 = time.time()
                self.assertEqual(server.stop(), 0, server.read_log())
                self.assertLess(time.time() - t0, 5)
        finally:
            receiver.close()
            silent.close()


class SustainedLoad(unittest.TestCase):
    def test_every_notification_once_and_in_order_under_load(self):
        """Updates from several connections at once, per-entity subscriptions and one type
        subscription with q: each subscription gets each matching change exactly once, and an
        entity's changes in the order they were acknowledged."""
        receiver = Receiver()
        entities, writers, rounds = 200, 4, 50
        try:
            with Server() as server:
                for n in range(entities):
                    self.assertEqual(server.create(vehicle(n, 0)).status, 201)
                    r = server.request("POST", SUBS, subscription(
                        f"urn:ngsi-ld:Subscription:e{n}", receiver.url,
                        entities=[{"id": f"urn:ngsi-ld:Vehicle:{n}", "type": "Vehicle"}],
                        watchedAttributes=["speed"]))
                    self.assertEqual(r.status, 201, r)
                # Half of the updates match q.
                r = server.request("POST", SUBS, subscription(
                    "urn:ngsi-ld:Subscription:odd", receiver.url, q="speed>50",
                    watchedAttributes=["speed"]))
                self.assertEqual(r.status, 201, r)
                failures = []

                def write(w):
                    # Writer w owns the entities n % writers == w, so each entity's updates
                    # are acknowledged in the order they were sent.
                    conn = server.connection()
                    for i in range(1, rounds + 1):
                        for n in range(w, entities, writers):
                            if patch_speed(server, n, i * 4, conn).status != 204:
                                failures.append((n, i))
                    conn.close()
                threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                self.assertEqual(failures, [])
                speeds = [i * 4 for i in range(1, rounds + 1)]
                typed = [v for v in speeds if v > 50]
                expected = entities * len(speeds) + entities * len(typed)
                receiver.wait_for(expected, timeout=60)
                time.sleep(0.5)
                got = receiver.wait_for(expected + 1, timeout=0.1)
                per = {}
                for _, body in got:
                    e = body["data"][0]
                    per.setdefault((body["subscriptionId"], e["id"]), []).append(
                        e["speed"]["value"])
                for n in range(entities):
                    eid = f"urn:ngsi-ld:Vehicle:{n}"
                    self.assertEqual(per.get((f"urn:ngsi-ld:Subscription:e{n}", eid)), speeds)
                    self.assertEqual(per.get(("urn:ngsi-ld:Subscription:odd", eid)), typed)
                self.assertEqual(len(got), expected)
        finally:
            receiver.close()


class DurableNotifications(unittest.TestCase):
    """A change acknowledged before kill -9 is notified after the restart (at least once; a
    repeat carries the same notification id), with --durable-notifications on (the default)."""

    ENTITIES = 20

    def run_crash(self, receiver, args=(), settle=20, answered=0, held=300):
        """Per-entity subscriptions and one type subscription with q, a receiver that takes
        notifications but answers none (so they stay queued), updates under load, kill -9, and a
        restart with the receiver answering. The receiver answers while the first `answered`
        updates are acknowledged (their outbox records settle), then holds at least `held` more.
        Returns the acknowledged updates."""
        acknowledged = []
        with Server(keep_data=True, args=args) as server:
            data = server.data_dir
            for n in range(self.ENTITIES):
                self.assertEqual(server.create(vehicle(n, 0)).status, 201)
                r = server.request("POST", SUBS, subscription(
                    f"urn:ngsi-ld:Subscription:e{n}", receiver.url,
                    entities=[{"id": f"urn:ngsi-ld:Vehicle:{n}", "type": "Vehicle"}],
                    watchedAttributes=["speed"]))
                self.assertEqual(r.status, 201, r)
            r = server.request("POST", SUBS, subscription(
                "urn:ngsi-ld:Subscription:t", receiver.url, q="speed>0",
                watchedAttributes=["speed"]))
            self.assertEqual(r.status, 201, r)
            if not answered:
                receiver.gate.clear()
            stop = threading.Event()

            def load():
                conn = server.connection()
                i = 0
                while not stop.is_set():
                    i += 1
                    n = i % self.ENTITIES
                    try:
                        if patch_speed(server, n, i, conn).status == 204:
                            acknowledged.append((n, i))
                    except OSError:
                        return
            loader = threading.Thread(target=load)
            loader.start()
            self.wait_while_progressing(acknowledged, answered)
            receiver.gate.clear()
            self.wait_while_progressing(acknowledged, len(acknowledged) + held)
            server.kill()  # under load
            stop.set()
            loader.join()
        self.assertGreaterEqual(len(acknowledged), answered + held)
        receiver.gate.set()
        with Server(data_dir=data, args=args) as server:
            # Each acknowledged update: its entity's subscription and the type subscription.
            receiver.wait_while_arriving(2 * len(acknowledged), stall=settle)
            time.sleep(0.5)
        shutil.rmtree(data, ignore_errors=True)
        return acknowledged

    @staticmethod
    def wait_while_progressing(acknowledged, count, stall=20):
        """Waits until `count` updates are acknowledged, for as long as they keep coming: a
        loaded machine (CI runs test modules side by side) is slower, not wrong. Gives up when
        none was acknowledged for `stall` seconds; the caller's count check then fails."""
        seen, since = len(acknowledged), time.time()
        while len(acknowledged) < count and time.time() - since < stall:
            time.sleep(0.01)
            if len(acknowledged) != seen:
                seen, since = len(acknowledged), time.time()

    def received(self, receiver):
        """(subscription, entity number, speed) -> the notification ids that carried it."""
        seen = {}
        for _, body in receiver.wait_for(0, timeout=0):
            for e in body["data"]:
                n = int(e["id"].rsplit(":", 1)[1])
                key = (body["subscriptionId"], n, e["speed"]["value"])
                seen.setdefault(key, set()).add(body["id"])
        return seen

    def assert_each_notified_once(self, receiver, acknowledged):
        """Every acknowledged update reached both its subscriptions; repeats kept their id."""
        seen = self.received(receiver)
        missing = [(n, i) for n, i in acknowledged
                   if (f"urn:ngsi-ld:Subscription:e{n}", n, i) not in seen or
                   ("urn:ngsi-ld:Subscription:t", n, i) not in seen]
        self.assertEqual(missing, [], f"{len(missing)} of {len(acknowledged)} acknowledged "
                                      "updates were never notified")
        repeated = [k for k, ids in seen.items() if len(ids) != 1]
        self.assertEqual(repeated, [], "a repeated notification changed its id")

    def test_acknowledged_changes_are_notified_after_kill_9(self):
        receiver = Receiver()
        try:
            acknowledged = self.run_crash(receiver)
            self.assert_each_notified_once(receiver, acknowledged)
            got = len(receiver.wait_for(0, timeout=0))
            print(f"{len(acknowledged)} acknowledged updates before kill -9, "
                  f"{got} notifications received for {2 * len(acknowledged)} expected")
        finally:
            receiver.close()

    def test_folds_keep_what_is_not_notified_yet(self):
        """The same with the change log folded every MiB while notifications settle and others
        wait: a fold leaves out the outbox records already settled (docs/storage.md, "Transient
        records") and keeps the others."""
        receiver = Receiver()
        try:
            acknowledged = self.run_crash(receiver, args=("--checkpoint-mb", "1"), answered=4000,
                                          held=3000)
            self.assert_each_notified_once(receiver, acknowledged)
        finally:
            receiver.close()

    def test_without_the_outbox_a_crash_loses_them(self):
        """The setting is what makes the difference: with it off, what was queued at the crash
        is gone."""
        receiver = Receiver()
        try:
            acknowledged = self.run_crash(receiver, args=("--durable-notifications", "off"),
                                          settle=3)
            seen = self.received(receiver)
            missing = [(n, i) for n, i in acknowledged
                       if (f"urn:ngsi-ld:Subscription:e{n}", n, i) not in seen]
            self.assertGreater(len(missing), 0)
        finally:
            receiver.close()

    def test_what_a_clean_stop_leaves_queued_is_sent_at_the_next_start(self):
        receiver = Receiver()
        try:
            with Server(keep_data=True) as server:
                data = server.data_dir
                r = server.request("POST", SUBS, subscription(
                    "urn:ngsi-ld:Subscription:s", receiver.url, watchedAttributes=["speed"]))
                self.assertEqual(r.status, 201, r)
                receiver.gate.clear()
                self.assertEqual(server.create(vehicle(1, 0)).status, 201)
                for i in range(1, 21):
                    self.assertEqual(patch_speed(server, 1, i).status, 204)
                receiver.wait_for(1)
                self.assertEqual(server.stop(), 0, server.read_log())
            receiver.gate.set()
            with Server(data_dir=data) as server:
                got = receiver.wait_for(22, timeout=20)
                speeds = sorted({b["data"][0]["speed"]["value"] for _, b in got})
                self.assertEqual(speeds, list(range(21)))
                # Once delivered, the outbox is emptied: a later start sends nothing again.
                time.sleep(1.5)
                self.assertEqual(server.create(vehicle(2, 0)).status, 201)
                time.sleep(0.5)
                self.assertEqual(server.stop(), 0, server.read_log())
            before = len(receiver.wait_for(0, timeout=0))
            with Server(data_dir=data):
                time.sleep(1.5)
            self.assertEqual(len(receiver.wait_for(0, timeout=0)), before)
            shutil.rmtree(data, ignore_errors=True)
        finally:
            receiver.close()


NULL = "urn:ngsi-ld:null"


def by_subscription(got):
    """The notified data of each subscription, in the order received."""
    out = {}
    for _, body in got:
        out.setdefault(body["subscriptionId"], []).append(body["data"])
    return out


class ShowChanges(unittest.TestCase):
    """showChanges (§5.2.14): each changed attribute instance carries its previous payload,
    per kind and per datasetId; deletions show NGSI-LD Null beside what was there."""

    CAR = {"id": "urn:ngsi-ld:Vehicle:sc", "type": "Vehicle",
           "speed": {"type": "Property", "value": 10},
           "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Ann"},
           "name": {"type": "LanguageProperty", "languageMap": {"en": "Swift", "ja": "速い"}},
           "temp": [{"type": "Property", "value": 20},
                    {"type": "Property", "value": 21, "datasetId": "urn:ngsi-ld:ds:gps"}],
           "colour": {"type": "Property", "value": "red"}}

    def test_updates_and_deletions_carry_previous_values(self):
        receiver = Receiver()
        car = "urn:ngsi-ld:Vehicle:sc"
        attrs = f"{ENTITIES}/{car}/attrs"
        try:
            with Server() as server:
                triggers = ["attributeUpdated", "attributeDeleted", "entityDeleted"]
                for sid, fmt in [("normalized", "normalized"), ("concise", "concise")]:
                    s = subscription(f"urn:ngsi-ld:Subscription:{sid}", receiver.url,
                                     notificationTrigger=triggers)
                    s["notification"] |= {"showChanges": True, "format": fmt}
                    r = server.request("POST", SUBS, s)
                    self.assertEqual(r.status, 201, r)
                self.assertEqual(server.create(self.CAR).status, 201)
                steps = [
                    ("PATCH", attrs, {"speed": {"type": "Property", "value": 30}}),
                    ("PATCH", attrs, {"owner": {"type": "Relationship",
                                                "object": "urn:ngsi-ld:Person:Bob"}}),
                    ("PATCH", attrs, {"name": {"type": "LanguageProperty",
                                               "languageMap": {"en": "Quick"}}}),
                    ("PATCH", attrs, {"temp": {"type": "Property", "value": 25,
                                               "datasetId": "urn:ngsi-ld:ds:gps"}}),
                    ("DELETE", f"{attrs}/speed", None),
                    ("DELETE", f"{attrs}/name", None),
                    ("DELETE", f"{attrs}/temp?datasetId=urn:ngsi-ld:ds:gps", None),
                    ("DELETE", f"{ENTITIES}/{car}", None),
                ]
                for method, path, body in steps:
                    r = server.request(method, path, body)
                    self.assertEqual(r.status, 204, (method, path, r))
                got = by_subscription(receiver.wait_for(2 * len(steps)))
                normalized = [d[0] for d in got["urn:ngsi-ld:Subscription:normalized"]]
                concise = [d[0] for d in got["urn:ngsi-ld:Subscription:concise"]]
                self.assertEqual((len(normalized), len(concise)), (len(steps), len(steps)))
        finally:
            receiver.close()

        upd_speed, upd_owner, upd_name, upd_temp, del_speed, del_name, del_temp, gone = \
            normalized
        self.assertEqual(upd_speed["speed"], {"type": "Property", "value": 30,
                                              "previousValue": 10})
        self.assertEqual(upd_speed["colour"], {"type": "Property", "value": "red"},
                         "an attribute that did not change has no previous value")
        self.assertEqual(upd_owner["owner"], {"type": "Relationship",
                                              "object": "urn:ngsi-ld:Person:Bob",
                                              "previousObject": "urn:ngsi-ld:Person:Ann"})
        self.assertEqual(upd_name["name"], {
            "type": "LanguageProperty", "languageMap": {"en": "Quick"},
            "previousLanguageMap": {"en": "Swift", "ja": "速い"}})
        # Each datasetId instance against its own: only the gps one changed.
        self.assertEqual(upd_temp["temp"], [
            {"type": "Property", "value": 20},
            {"type": "Property", "value": 25, "datasetId": "urn:ngsi-ld:ds:gps",
             "previousValue": 21}])
        self.assertEqual(del_speed["speed"], {"type": "Property", "value": NULL,
                                              "previousValue": 30})
        self.assertEqual(del_name["name"], {
            "type": "LanguageProperty", "languageMap": {"@none": NULL},
            "previousLanguageMap": {"en": "Quick"}})
        self.assertEqual(del_temp["temp"], [
            {"type": "Property", "value": 20},
            {"type": "Property", "value": NULL, "datasetId": "urn:ngsi-ld:ds:gps",
             "previousValue": 25}])
        # A deleted entity: its id, type, deletedAt and every attribute it had, deleted.
        self.assertIn("deletedAt", gone)
        self.assertEqual(gone["owner"], {"type": "Relationship", "object": NULL,
                                         "previousObject": "urn:ngsi-ld:Person:Bob"})
        self.assertEqual(gone["colour"], {"type": "Property", "value": NULL,
                                          "previousValue": "red"})
        self.assertEqual(gone["temp"], {"type": "Property", "value": NULL,
                                        "previousValue": 20})
        self.assertEqual(sorted(gone), ["colour", "deletedAt", "id", "owner", "temp", "type"])

        # Concise: no "type", and a changed attribute is never written bare.
        self.assertEqual(concise[0]["speed"], {"value": 30, "previousValue": 10})
        self.assertEqual(concise[0]["colour"], "red")
        self.assertEqual(concise[1]["owner"], {"object": "urn:ngsi-ld:Person:Bob",
                                               "previousObject": "urn:ngsi-ld:Person:Ann"})
        self.assertEqual(concise[5]["name"], {"languageMap": {"@none": NULL},
                                              "previousLanguageMap": {"en": "Quick"}})


class JoinInNotifications(unittest.TestCase):
    """join and joinLevel (§5.2.14, §4.5.23): the entities a notified entity links to, flat
    (beside it in data) or inline (inside its Relationship), as far as joinLevel reaches."""

    ENTITIES = [
        {"id": "urn:ngsi-ld:Country:fr", "type": "Country",
         "name": {"type": "Property", "value": "France"}},
        {"id": "urn:ngsi-ld:City:paris", "type": "City",
         "name": {"type": "Property", "value": "Paris"},
         "inCountry": {"type": "Relationship", "object": "urn:ngsi-ld:Country:fr"}},
        {"id": "urn:ngsi-ld:Building:eiffel", "type": "Building",
         "name": {"type": "Property", "value": "Eiffel Tower"},
         "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:paris"}},
    ]

    def test_flat_and_inline_at_one_and_two_levels(self):
        receiver = Receiver()
        try:
            with Server() as server:
                for join in ("flat", "inline"):
                    for level in (1, 2):
                        s = subscription(f"urn:ngsi-ld:Subscription:{join}{level}",
                                         receiver.url, entities=[{"type": "Building"}],
                                         watchedAttributes=["name"])
                        s["notification"] |= {"join": join, "joinLevel": level}
                        r = server.request("POST", SUBS, s)
                        self.assertEqual(r.status, 201, r)
                s = subscription("urn:ngsi-ld:Subscription:default", receiver.url,
                                 entities=[{"type": "Building"}], watchedAttributes=["name"])
                s["notification"] |= {"join": "inline"}
                self.assertEqual(server.request("POST", SUBS, s).status, 201)
                for e in self.ENTITIES:
                    self.assertEqual(server.create(e).status, 201)
                r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Building:eiffel/attrs",
                                   {"name": {"type": "Property", "value": "Tour Eiffel"}})
                self.assertEqual(r.status, 204, r)
                got = by_subscription(receiver.wait_for(10))
        finally:
            receiver.close()
        # Each subscription: the creation, then the update; the update's data is checked.
        self.assertEqual(sorted(len(v) for v in got.values()), [2] * 5, got)
        data = {sid.rsplit(":", 1)[1]: notes[1] for sid, notes in got.items()}
        city = self.ENTITIES[1]
        country = self.ENTITIES[0]
        building = {"id": "urn:ngsi-ld:Building:eiffel", "type": "Building",
                    "name": {"type": "Property", "value": "Tour Eiffel"},
                    "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:paris"}}
        self.assertEqual(data["flat1"], [building, city])
        self.assertEqual(data["flat2"], [building, city, country])
        inline1 = json.loads(json.dumps(building))
        inline1["locatedAt"]["entity"] = city
        self.assertEqual(data["inline1"], [inline1])
        self.assertEqual(data["default"], [inline1], "joinLevel defaults to 1")
        inline2 = json.loads(json.dumps(inline1))
        inline2["locatedAt"]["entity"] = json.loads(json.dumps(city))
        inline2["locatedAt"]["entity"]["inCountry"]["entity"] = country
        self.assertEqual(data["inline2"], [inline2])


if __name__ == "__main__":
    unittest.main()
