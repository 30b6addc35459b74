"""MQTT notifications end to end (ETSI GS CIM 009 §7.2, the MQTT binding): a real server
publishes to a real Mosquitto (tests/lib/mosquitto.py: an anonymous listener, one with a
password file, one with TLS), read back with mosquitto_sub. The payload is
{"metadata": {headers}, "body": notification}; QoS 0/1/2 and MQTT 3.1.1/5.0 as notifierInfo
asks; updates arrive in order; wrong credentials, an untrusted certificate, a broker that never
answers and a broker that is restarted each end as the subscription's status says, and the
server answers throughout.

Run: python3 -m unittest tests/integration/test_mqtt.py"""

import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402
from mosquitto import Mosquitto, Subscriber  # noqa: E402

SUBS = "/ngsi-ld/v1/subscriptions"
ENTITIES = "/ngsi-ld/v1/entities"


def subscription(sid, uri, accept=None, receiver_info=None, notifier_info=None, **members):
    endpoint = {"uri": uri}
    if accept:
        endpoint["accept"] = accept
    if receiver_info:
        endpoint["receiverInfo"] = [{"key": k, "value": v} for k, v in receiver_info.items()]
    if notifier_info:
        endpoint["notifierInfo"] = [{"key": k, "value": v} for k, v in notifier_info.items()]
    s = {"id": sid, "type": "Subscription", "entities": [{"type": "Vehicle"}],
         "notification": {"endpoint": endpoint}}
    s.update(members)
    return s


def vehicle(n, speed):
    return {"id": f"urn:ngsi-ld:Vehicle:{n}", "type": "Vehicle",
            "speed": {"type": "Property", "value": speed}}


def subscribe(test, server, body, headers=None):
    r = server.request("POST", SUBS, body, headers=headers)
    test.assertEqual(r.status, 201, r)


def patch_speed(server, n, speed, headers=None):
    return server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Vehicle:{n}/attrs",
                          {"speed": {"type": "Property", "value": speed}}, headers=headers)


def status_of(server, sid, headers=None):
    return server.get(f"{SUBS}/{sid}", headers=headers).json()["notification"]


def wait_status(server, sid, done, timeout=30):
    """Polls the subscription's notification status until done(status) or the timeout."""
    deadline = time.time() + timeout
    while True:
        n = status_of(server, sid)
        if done(n) or time.time() > deadline:
            return n
        time.sleep(0.05)


class MqttNotifications(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Mosquitto().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()

    def setUp(self):
        self.server = Server(args=["--notify-ca-file", self.broker.ca_file]).start()
        self.sub = Subscriber(self.broker)

    def tearDown(self):
        self.server.stop()
        self.sub.close()

    def test_payload_is_metadata_and_body(self):
        tenant = {"NGSILD-Tenant": "osaka"}
        subscribe(self, self.server, subscription(
            "urn:ngsi-ld:Subscription:json", self.broker.url("shape/json"),
            receiver_info={"X-Token": "t0k", "content-type": "text/plain"}), tenant)
        subscribe(self, self.server, subscription(
            "urn:ngsi-ld:Subscription:ld", self.broker.url("shape/ld"),
            accept="application/ld+json"), tenant)
        subscribe(self, self.server, subscription(
            "urn:ngsi-ld:Subscription:plain", self.broker.url("shape/plain")))
        self.assertEqual(self.server.create(vehicle(1, 50), headers=tenant).status, 201)
        self.assertEqual(self.server.create(vehicle(2, 60)).status, 201)

        [m] = self.sub.wait(1, topic="shape/json")
        payload = m["payload"]
        self.assertEqual(sorted(payload), ["body", "metadata"])
        meta = payload["metadata"]
        self.assertEqual(meta["Content-Type"], "application/json")
        self.assertIn('rel="http://www.w3.org/ns/json-ld#context"', meta["Link"])
        self.assertEqual(meta["NGSILD-Tenant"], "osaka")
        self.assertEqual(meta["X-Token"], "t0k")
        self.assertNotIn("content-type", meta, "a receiverInfo key repeated a header")
        body = payload["body"]
        self.assertEqual(body["type"], "Notification")
        self.assertEqual(body["subscriptionId"], "urn:ngsi-ld:Subscription:json")
        self.assertEqual([e["id"] for e in body["data"]], ["urn:ngsi-ld:Vehicle:1"])
        self.assertEqual(body["data"][0]["speed"]["value"], 50)

        [m] = self.sub.wait(1, topic="shape/ld")
        meta, body = m["payload"]["metadata"], m["payload"]["body"]
        self.assertEqual(meta["Content-Type"], "application/ld+json")
        self.assertNotIn("Link", meta)
        self.assertIn("@context", body["data"][0])

        [m] = self.sub.wait(1, topic="shape/plain")
        self.assertNotIn("NGSILD-Tenant", m["payload"]["metadata"])
        self.assertEqual(m["payload"]["body"]["data"][0]["id"], "urn:ngsi-ld:Vehicle:2")

    def test_qos_and_protocol_versions(self):
        cases = []
        for version in [None, "mqtt3.1.1", "mqtt5.0"]:
            for qos in [None, "0", "1", "2"]:
                info = {}
                if version:
                    info["MQTT-Version"] = version
                if qos:
                    info["MQTT-QoS"] = qos
                topic = f"qos/{version or 'default'}/{qos or 'default'}"
                sid = f"urn:ngsi-ld:Subscription:{version}-{qos}"
                subscribe(self, self.server, subscription(sid, self.broker.url(topic),
                                                          notifier_info=info))
                cases.append((sid, topic, int(qos or 0)))
        self.assertEqual(self.server.create(vehicle(1, 1)).status, 201)
        self.assertEqual(len(self.sub.wait(len(cases))), len(cases))
        time.sleep(0.5)  # room for a duplicate to show up
        for sid, topic, qos in cases:
            got = self.sub.received(topic)
            self.assertEqual(len(got), 1, topic)
            self.assertEqual(got[0]["qos"], qos, topic)
            n = wait_status(self.server, sid, lambda n: "lastSuccess" in n)
            self.assertEqual((n["timesSent"], n.get("timesFailed", 0), n["status"]),
                             (1, 0, "ok"), sid)
            self.assertIn("lastSuccess", n)
        # Mosquitto logs each client's protocol: p2 is MQTT 3.1.1, p5 is MQTT 5.0.
        log = self.broker.read_log()
        self.assertIn("(p2,", log)
        self.assertIn("(p5,", log)

    def test_updates_arrive_in_order(self):
        subscribe(self, self.server, subscription(
            "urn:ngsi-ld:Subscription:order", self.broker.url("order/v"),
            notifier_info={"MQTT-QoS": "1"}, watchedAttributes=["speed"]))
        self.assertEqual(self.server.create(vehicle(1, 0)).status, 201)
        conn = self.server.connection()
        for i in range(1, 31):
            self.assertEqual(patch_speed(self.server, 1, i).status, 204)
        conn.close()
        got = self.sub.wait(31, topic="order/v")
        speeds = [m["payload"]["body"]["data"][0]["speed"]["value"] for m in got]
        self.assertEqual(speeds, list(range(31)))
        n = wait_status(self.server, "urn:ngsi-ld:Subscription:order",
                        lambda n: n.get("timesSent") == 31)
        self.assertEqual((n["timesSent"], n.get("timesFailed", 0)), (31, 0))

    def test_credentials(self):
        auth = self.broker.auth
        right = f"mqtt://user:s3cret@127.0.0.1:{auth}/cred/right"
        wrong = f"mqtt://user:wrong@127.0.0.1:{auth}/cred/wrong"
        anonymous = f"mqtt://127.0.0.1:{auth}/cred/anonymous"
        for name, uri in [("right", right), ("wrong", wrong), ("anonymous", anonymous)]:
            subscribe(self, self.server, subscription(f"urn:ngsi-ld:Subscription:{name}", uri))
        self.assertEqual(self.server.create(vehicle(1, 1)).status, 201)
        self.assertEqual(len(self.sub.wait(1, topic="cred/right")), 1)
        for name in ["wrong", "anonymous"]:
            # The broker refuses at once; the delivery tries 4 times before it gives up.
            n = wait_status(self.server, f"urn:ngsi-ld:Subscription:{name}",
                            lambda n: n.get("timesFailed", 0) >= 4)
            self.assertEqual((n["timesSent"], n["timesFailed"], n["status"]), (4, 4, "failed"),
                             name)
            self.assertNotIn("lastSuccess", n)
        time.sleep(0.3)
        self.assertEqual(self.sub.received("cred/wrong"), [])
        self.assertEqual(self.sub.received("cred/anonymous"), [])
        metrics = self.server.get("/metrics").body.decode()
        self.assertIn('tsunagu_mqtt_client_publishes_total{result="ok"} 1', metrics)
        self.assertIn('tsunagu_mqtt_client_publishes_total{result="failed"} 8', metrics)

    def test_mqtts(self):
        tls = self.broker.tls
        subscribe(self, self.server, subscription(
            "urn:ngsi-ld:Subscription:tls-ip", f"mqtts://127.0.0.1:{tls}/secure/ip"))
        subscribe(self, self.server, subscription(
            "urn:ngsi-ld:Subscription:tls-name", f"mqtts://localhost:{tls}/secure/name",
            notifier_info={"MQTT-Version": "mqtt5.0", "MQTT-QoS": "2"}))
        self.assertEqual(self.server.create(vehicle(1, 1)).status, 201)
        self.assertEqual(len(self.sub.wait(1, topic="secure/ip")), 1)
        [m] = self.sub.wait(1, topic="secure/name")
        self.assertEqual(m["qos"], 2)
        self.assertEqual(m["payload"]["body"]["data"][0]["id"], "urn:ngsi-ld:Vehicle:1")

    def test_mqtts_refuses_a_broker_the_ca_did_not_sign(self):
        # Without --notify-ca-file the system's CAs are trusted, and the test CA is not one.
        with Server() as server:
            sid = "urn:ngsi-ld:Subscription:untrusted"
            subscribe(self, server, subscription(
                sid, f"mqtts://127.0.0.1:{self.broker.tls}/secure/untrusted",
                notificationTrigger=["entityCreated"]))
            subscribe(self, server, subscription(
                "urn:ngsi-ld:Subscription:plain-beside", self.broker.url("secure/plain")))
            self.assertEqual(server.create(vehicle(1, 1)).status, 201)
            self.assertEqual(len(self.sub.wait(1, topic="secure/plain")), 1)
            n = wait_status(server, sid, lambda n: n.get("timesFailed", 0) >= 1)
            self.assertGreaterEqual(n["timesFailed"], 1)
            self.assertEqual(self.sub.received("secure/untrusted"), [])

    def test_https_receivers_are_checked_against_the_same_ca_file(self):
        got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.broker.dir, "server.crt"),
                            os.path.join(self.broker.dir, "server.key"))
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            subscribe(self, self.server, subscription(
                "urn:ngsi-ld:Subscription:https",
                f"https://localhost:{httpd.server_address[1]}/notify"))
            self.assertEqual(self.server.create(vehicle(1, 1)).status, 201)
            # timesSent counts an attempt as it starts; lastSuccess once it was answered.
            n = wait_status(self.server, "urn:ngsi-ld:Subscription:https",
                            lambda n: "lastSuccess" in n)
            self.assertEqual((n["timesSent"], n.get("timesFailed", 0)), (1, 0))
            self.assertEqual(got[0]["data"][0]["id"], "urn:ngsi-ld:Vehicle:1")
        finally:
            httpd.shutdown()
            httpd.server_close()

    def test_a_broker_that_never_answers_holds_up_nobody(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        try:
            sid = "urn:ngsi-ld:Subscription:silent"
            s = subscription(sid, f"mqtt://127.0.0.1:{silent.getsockname()[1]}/never",
                             notifier_info={"MQTT-QoS": "1"})
            s["notification"]["endpoint"]["timeout"] = 500
            subscribe(self, self.server, s)
            subscribe(self, self.server, subscription(
                "urn:ngsi-ld:Subscription:beside", self.broker.url("beside/v"),
                watchedAttributes=["speed"]))
            self.assertEqual(self.server.create(vehicle(1, 0)).status, 201)
            t0 = time.time()
            for i in range(1, 11):
                self.assertEqual(patch_speed(self.server, 1, i).status, 204)
            self.assertLess(time.time() - t0, 5, "writes waited for a silent broker")
            got = self.sub.wait(11, topic="beside/v")
            self.assertEqual([m["payload"]["body"]["data"][0]["speed"]["value"] for m in got],
                             list(range(11)))
            # Each attempt ends at the endpoint's timeout; the first message's four have.
            n = wait_status(self.server, sid, lambda n: n.get("timesFailed", 0) >= 4)
            self.assertGreaterEqual(n["timesFailed"], 4)
            self.assertEqual(n["status"], "failed")
        finally:
            silent.close()


class BrokerRestart(unittest.TestCase):
    def test_notifications_after_a_restart_arrive(self):
        with Mosquitto() as broker, Server() as server:
            sid = "urn:ngsi-ld:Subscription:restart"
            subscribe(self, server, subscription(sid, broker.url("restart/v"),
                                                 notifier_info={"MQTT-QoS": "1"},
                                                 watchedAttributes=["speed"]))
            with Subscriber(broker, "restart/#") as sub:
                self.assertEqual(server.create(vehicle(1, 0)).status, 201)
                self.assertEqual(len(sub.wait(1)), 1)
            broker.stop()
            t0 = time.time()
            self.assertEqual(patch_speed(server, 1, 1).status, 204)
            self.assertEqual(server.get("/health").status, 200)
            self.assertEqual(server.get(f"{SUBS}/{sid}").status, 200)
            self.assertLess(time.time() - t0, 2, "the server waited for the broker")
            time.sleep(1)
            broker.start()
            with Subscriber(broker, "restart/#") as sub:
                self.assertEqual(patch_speed(server, 1, 2).status, 204)

                def speeds():
                    return [m["payload"]["body"]["data"][0]["speed"]["value"]
                            for m in sub.received("restart/v")]
                deadline = time.time() + 30
                while 2 not in speeds() and time.time() < deadline:
                    time.sleep(0.05)
                time.sleep(0.3)  # room for a duplicate to show up
                # The update made while the broker was down may have gone out on the new
                # connection before this subscriber was there; the one after must arrive.
                self.assertIn(speeds(), ([2], [1, 2]))
            n = status_of(server, sid)
            self.assertEqual(n["status"], "ok")
            self.assertGreaterEqual(n["timesSent"], 3)


if __name__ == "__main__":
    unittest.main()
