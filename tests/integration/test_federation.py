"""Federation between cities (issue 18): three Tsunagu servers, city A, city B and a prefecture
broker that registers both, answer queries and retrievals over all of them; a small context
source written here from the specification, not from Tsunagu, is asked the same way; two
brokers registered with each other do not loop; a source that is down, one that is slow and one
that answers garbage are reported in NGSILD-Warning while the rest of the answer is given.

Run: python3 -m unittest tests/integration/test_federation.py"""

import http.server
import json
import os
import socketserver
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server, free_port  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
REGISTRATIONS = "/ngsi-ld/v1/csourceRegistrations"


def vehicle(eid, **attrs):
    e = {"id": eid, "type": "Vehicle"}
    for name, value in attrs.items():
        if name == "location":
            e[name] = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": value}}
        else:
            e[name] = {"type": "Property", "value": value}
    return e


def registration(endpoint, **more):
    r = {"type": "ContextSourceRegistration",
         "information": [{"entities": [{"type": "Vehicle"}]}], "endpoint": endpoint}
    r.update(more)
    return r


class Source(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A context source as §6.4.3.2, §6.5.3.1 and §6.23.3.1 describe it, holding `entities`
    (normalized, core @context): GET /ngsi-ld/v1/entities?type=..., GET
    /ngsi-ld/v1/entities/{id} and POST /ngsi-ld/v1/entityOperations/query (by type and id). With
    `delay` it answers that late; with `garbage` it answers 200 with a body that is not JSON.
    Keeps the requests it got."""
    daemon_threads = True

    def __init__(self, entities=(), delay=0.0, garbage=False):
        self.entities = list(entities)
        self.delay, self.garbage = delay, garbage
        self.requests = []
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                source.requests.append((self.path, dict(self.headers)))
                time.sleep(source.delay)
                url = urllib.parse.urlsplit(self.path)
                params = urllib.parse.parse_qs(url.query)
                if source.garbage:
                    return self.answer(200, b"<html>not NGSI-LD</html>")
                if url.path == ENTITIES:
                    types = params.get("type", [""])[0].split(",")
                    found = [e for e in source.entities if e["type"] in types]
                    return self.answer(200, json.dumps(found).encode())
                if url.path.startswith(ENTITIES + "/"):
                    eid = urllib.parse.unquote(url.path[len(ENTITIES) + 1:])
                    for e in source.entities:
                        if e["id"] == eid:
                            return self.answer(200, json.dumps(e).encode())
                    return self.answer(404, json.dumps({
                        "type": "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound",
                        "title": "Not found", "status": 404}).encode())
                return self.answer(400, b"{}")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                query = json.loads(self.rfile.read(length) or b"{}")
                source.requests.append((self.path, dict(self.headers), query))
                if self.path != "/ngsi-ld/v1/entityOperations/query":
                    return self.answer(400, b"{}")
                found = []
                for e in source.entities:
                    for sel in query.get("entities", [{}]):
                        if sel.get("type", e["type"]) == e["type"] and \
                                sel.get("id", e["id"]) == e["id"]:
                            found.append(e)
                            break
                return self.answer(200, json.dumps(found).encode())

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Federation(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.sources = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        for s in self.sources:
            s.shutdown()
            s.server_close()

    def start(self, name):
        s = Server(args=("--source-identity", name, "--forward-timeout-ms", "800"))
        s.start()
        self.servers.append(s)
        return s

    def source(self, *args, **kwargs):
        s = Source(*args, **kwargs)
        self.sources.append(s)
        return s

    def url(self, server):
        return f"http://127.0.0.1:{server.port}"

    def ok(self, r, status=200):
        self.assertEqual(r.status, status, repr(r))
        return r.json() if r.body else None

    def register(self, broker, endpoint, **more):
        self.ok(broker.request("POST", REGISTRATIONS, registration(endpoint, **more)), 201)

    def ids(self, r):
        return sorted(e["id"] for e in self.ok(r))

    def test_a_prefecture_answers_for_two_cities(self):
        a, b, pref = self.start("cityA"), self.start("cityB"), self.start("prefecture")
        self.ok(a.create(vehicle("urn:ngsi-ld:Vehicle:a1", speed=30, location=[134.05, 34.34])),
                201)
        self.ok(b.create(vehicle("urn:ngsi-ld:Vehicle:b1", speed=50, location=[133.80, 34.28])),
                201)
        # The same vehicle seen by both cities: each knows other attributes.
        self.ok(b.create(vehicle("urn:ngsi-ld:Vehicle:a1", brandName="Mazda")), 201)
        self.ok(pref.create(vehicle("urn:ngsi-ld:Vehicle:p1", speed=0)), 201)
        self.register(pref, self.url(a), location={"type": "Point", "coordinates": [134.05, 34.34]})
        self.register(pref, self.url(b), location={"type": "Point", "coordinates": [133.80, 34.28]})

        found = self.ok(pref.get(f"{ENTITIES}?type=Vehicle&count=true"))
        self.assertEqual(sorted(e["id"] for e in found),
                         ["urn:ngsi-ld:Vehicle:a1", "urn:ngsi-ld:Vehicle:b1",
                          "urn:ngsi-ld:Vehicle:p1"])
        merged = next(e for e in found if e["id"] == "urn:ngsi-ld:Vehicle:a1")
        self.assertEqual(merged["speed"]["value"], 30)
        self.assertEqual(merged["brandName"]["value"], "Mazda")
        # Retrieval by id, in another representation: the prefecture renders what it merged.
        got = self.ok(pref.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:b1?options=keyValues"))
        self.assertEqual(got, {"id": "urn:ngsi-ld:Vehicle:b1", "type": "Vehicle", "speed": 50,
                               "location": {"type": "Point", "coordinates": [133.8, 34.28]}})
        # local=true keeps to the prefecture's own data.
        self.assertEqual(self.ids(pref.get(f"{ENTITIES}?type=Vehicle&local=true")),
                         ["urn:ngsi-ld:Vehicle:p1"])
        self.assertEqual(pref.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:b1?local=true").status, 404)
        # A geo-query asks only the city whose registration is near: B's vehicle is not there
        # even though B's own data would not match anyway, A's is.
        near_a = self.ok(pref.get(
            f"{ENTITIES}?type=Vehicle&georel=near;maxDistance==5000&geometry=Point"
            f"&coordinates=[134.05,34.34]"))
        self.assertEqual(sorted(e["id"] for e in near_a), ["urn:ngsi-ld:Vehicle:a1"])
        # Paging over the merged result.
        first = pref.get(f"{ENTITIES}?type=Vehicle&limit=2&count=true")
        second = pref.get(f"{ENTITIES}?type=Vehicle&limit=2&offset=2&count=true")
        self.assertEqual(first.header("NGSILD-Results-Count"), "3")
        self.assertEqual(len(self.ok(first)) + len(self.ok(second)), 3)
        self.assertEqual(set(e["id"] for e in self.ok(first)) & set(e["id"] for e in
                                                                    self.ok(second)), set())

    def test_brokers_registered_with_each_other_do_not_loop(self):
        a, b = self.start("cityA"), self.start("cityB")
        self.ok(a.create(vehicle("urn:ngsi-ld:Vehicle:a1", speed=1)), 201)
        self.ok(b.create(vehicle("urn:ngsi-ld:Vehicle:b1", speed=2)), 201)
        self.register(a, self.url(b))
        self.register(b, self.url(a))
        for broker in (a, b):
            self.assertEqual(self.ids(broker.get(f"{ENTITIES}?type=Vehicle")),
                             ["urn:ngsi-ld:Vehicle:a1", "urn:ngsi-ld:Vehicle:b1"])
        self.assertEqual(self.ok(a.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:b1"))["speed"]["value"], 2)
        self.assertEqual(a.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:none").status, 404)

    def test_a_source_written_from_the_specification(self):
        broker = self.start("cityA")
        source = self.source([vehicle("urn:ngsi-ld:Vehicle:s1", speed=7)])
        self.register(broker, source.url, contextSourceInfo=[
            {"key": "Authorization", "value": "Bearer city-a-token"}], tenant="fleet")
        self.assertEqual(self.ids(broker.get(f"{ENTITIES}?type=Vehicle")),
                         ["urn:ngsi-ld:Vehicle:s1"])
        self.assertEqual(self.ok(broker.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:s1"))["speed"],
                         {"type": "Property", "value": 7})
        path, headers = source.requests[0]
        self.assertEqual(path, f"{ENTITIES}?type=Vehicle")
        self.assertEqual(headers.get("Authorization"), "Bearer city-a-token")
        self.assertEqual(headers.get("NGSILD-Tenant"), "fleet")
        self.assertIn("cityA", headers.get("Via", ""))
        # The credential is sent to the source, never shown to whoever reads the registration.
        shown = self.ok(broker.get(REGISTRATIONS + "?type=Vehicle"))[0]["contextSourceInfo"]
        self.assertEqual(shown, [{"key": "Authorization", "value": "(set; not shown)"}])

    def test_each_source_is_asked_the_way_its_registration_allows(self):
        broker = self.start("cityA")
        self.ok(broker.create(vehicle("urn:ngsi-ld:Vehicle:a1", speed=1)), 201)
        by_post = self.source([vehicle("urn:ngsi-ld:Vehicle:p1", speed=2, colour="red")])
        self.register(broker, by_post.url, operations=["queryBatch"])
        # A query by GET here becomes a Query object there.
        self.assertEqual(self.ids(broker.get(f"{ENTITIES}?type=Vehicle")),
                         ["urn:ngsi-ld:Vehicle:a1", "urn:ngsi-ld:Vehicle:p1"])
        path, _, query = by_post.requests[-1]
        self.assertEqual(path, "/ngsi-ld/v1/entityOperations/query")
        self.assertEqual(query, {"type": "Query", "entities": [{"type": "Vehicle"}]})
        # A retrieval too, by id and the type the registration gives.
        got = self.ok(broker.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:p1"))
        self.assertEqual(got["colour"]["value"], "red")
        self.assertEqual(by_post.requests[-1][2]["entities"],
                         [{"id": "urn:ngsi-ld:Vehicle:p1", "type": "Vehicle"}])
        # attrs is applied once merged: an attribute only the source knows selects its entity.
        self.assertEqual(self.ids(broker.get(f"{ENTITIES}?type=Vehicle&attrs=colour")),
                         ["urn:ngsi-ld:Vehicle:p1"])
        only_colour = self.ok(broker.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:p1?attrs=colour"))
        self.assertEqual(sorted(only_colour), ["colour", "id", "type"])
        # A Query object sent here goes as it is to a source that takes one.
        query = {"type": "Query", "entities": [{"type": "Vehicle", "id": "urn:ngsi-ld:Vehicle:p1"}]}
        r = broker.request("POST", "/ngsi-ld/v1/entityOperations/query", query)
        self.assertEqual(self.ids(r), ["urn:ngsi-ld:Vehicle:p1"])
        self.assertEqual(by_post.requests[-1][2], query)

    def local(self, broker, eid):
        r = broker.get(f"{ENTITIES}/{eid}?local=true")
        return r.json() if r.status == 200 else r.status

    def test_writes_go_where_the_registrations_say(self):
        city, fleet, archive = self.start("city"), self.start("fleet"), self.start("archive")
        # The fleet operator owns the speed of one bus (exclusive), every Tram is written at the
        # archive only (redirect), and every Vehicle is also copied to the archive (inclusive).
        self.register(city, self.url(fleet), mode="exclusive", operations=["redirectionOps"],
                      information=[{"entities": [{"id": "urn:ngsi-ld:Bus:1", "type": "Bus"}],
                                    "propertyNames": ["speed"]}])
        self.register(city, self.url(archive), mode="redirect", operations=["redirectionOps"],
                      information=[{"entities": [{"type": "Tram"}]}])
        self.register(city, self.url(archive), mode="inclusive", operations=["redirectionOps"])

        bus = {"id": "urn:ngsi-ld:Bus:1", "type": "Bus",
               "speed": {"type": "Property", "value": 40},
               "route": {"type": "Property", "value": "12"}}
        r = city.create(bus)
        self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(r.header("NGSILD-Warning"), None)
        here, there = self.local(city, "urn:ngsi-ld:Bus:1"), self.local(fleet, "urn:ngsi-ld:Bus:1")
        self.assertEqual((sorted(here), sorted(there)),
                         (["id", "route", "type"], ["id", "speed", "type"]))
        # An update of the owned attribute goes to its owner only.
        r = city.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Bus:1/attrs/speed", {"value": 55})
        self.assertEqual(r.status, 204, repr(r))
        self.assertEqual(self.local(fleet, "urn:ngsi-ld:Bus:1")["speed"]["value"], 55)
        self.assertNotIn("speed", self.local(city, "urn:ngsi-ld:Bus:1"))
        # Reading it back through the city merges both halves.
        merged = self.ok(city.get(f"{ENTITIES}/urn:ngsi-ld:Bus:1"))
        self.assertEqual((merged["speed"]["value"], merged["route"]["value"]), (55, "12"))

        # A Tram is written at the archive only; deleting it there, through the city, works
        # although the city never held it. A delete names no type, so the Vehicle registration
        # is asked too, and its 404 is reported beside the success (207, §5.2.16).
        self.ok(city.create({"id": "urn:ngsi-ld:Tram:1", "type": "Tram"}), 201)
        self.assertEqual(self.local(city, "urn:ngsi-ld:Tram:1"), 404)
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Tram:1")["type"], "Tram")
        r = city.request("DELETE", f"{ENTITIES}/urn:ngsi-ld:Tram:1")
        result = self.ok(r, 207)
        self.assertEqual(result["success"], ["urn:ngsi-ld:Tram:1"])
        self.assertEqual([(e["entityId"], e["error"]["status"]) for e in result["errors"]],
                         [("urn:ngsi-ld:Tram:1", 404)])
        self.assertTrue(result["errors"][0]["registrationId"].startswith(
            "urn:ngsi-ld:ContextSourceRegistration:"))
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Tram:1"), 404)

        # A Vehicle is written here and copied to the archive; a refused payload goes nowhere.
        self.ok(city.create(vehicle("urn:ngsi-ld:Vehicle:v1", speed=3)), 201)
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Vehicle:v1")["speed"]["value"], 3)
        self.assertEqual(self.local(city, "urn:ngsi-ld:Vehicle:v1")["speed"]["value"], 3)
        bad = city.create({"id": "urn:ngsi-ld:Vehicle:v2", "type": "Vehicle",
                           "speed": {"type": "Property"}})
        self.assertEqual(bad.status, 400, repr(bad))
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Vehicle:v2"), 404)
        # local=true keeps a write here.
        r = city.request("POST", f"{ENTITIES}?local=true", vehicle("urn:ngsi-ld:Vehicle:v3"))
        self.assertEqual(r.status, 201, repr(r))
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Vehicle:v3"), 404)
        # A source that is down is reported; what is written here still is.
        dead = f"http://127.0.0.1:{free_port()}"
        self.register(city, dead, mode="inclusive", operations=["redirectionOps"])
        r = city.create(vehicle("urn:ngsi-ld:Vehicle:v4", speed=1))
        result = self.ok(r, 207)
        self.assertEqual(result["success"], ["urn:ngsi-ld:Vehicle:v4"])
        [error] = result["errors"]
        self.assertEqual(error["error"]["status"], 504)
        self.assertIn(dead, error["error"]["detail"])
        self.assertEqual(self.local(city, "urn:ngsi-ld:Vehicle:v4")["speed"]["value"], 1)
        # With nothing written here, a source that never answers is the only part: nothing
        # succeeded.
        self.register(city, dead, mode="redirect", operations=["redirectionOps"],
                      information=[{"entities": [{"type": "Ferry"}]}])
        r = city.create({"id": "urn:ngsi-ld:Ferry:1", "type": "Ferry"})
        result = self.ok(r, 207)
        self.assertEqual(result["success"], [])
        self.assertEqual([e["error"]["status"] for e in result["errors"]], [504])
        self.assertEqual(self.local(city, "urn:ngsi-ld:Ferry:1"), 404)

    def test_batches_are_shared_out_by_registration(self):
        city, fleet, archive = self.start("city"), self.start("fleet"), self.start("archive")
        batch_ops = ["createBatch", "upsertBatch", "updateBatch", "deleteBatch", "mergeBatch"]
        # The fleet owns every Bus's speed, every Tram lives at the archive only, and Vehicles
        # are copied to the archive.
        self.register(city, self.url(fleet), mode="exclusive", operations=batch_ops,
                      information=[{"entities": [{"idPattern": "urn:ngsi-ld:Bus:.*",
                                                  "type": "Bus"}], "propertyNames": ["speed"]}])
        self.register(city, self.url(archive), mode="redirect", operations=batch_ops,
                      information=[{"entities": [{"type": "Tram"}]}])
        self.register(city, self.url(archive), mode="inclusive",
                      operations=batch_ops + ["deleteEntity"])
        items = [{"id": "urn:ngsi-ld:Bus:1", "type": "Bus",
                  "speed": {"type": "Property", "value": 40},
                  "route": {"type": "Property", "value": "12"}},
                 {"id": "urn:ngsi-ld:Bus:2", "type": "Bus",
                  "speed": {"type": "Property", "value": 30}},
                 {"id": "urn:ngsi-ld:Tram:1", "type": "Tram",
                  "line": {"type": "Property", "value": "A"}},
                 vehicle("urn:ngsi-ld:Vehicle:1", speed=5),
                 {"id": "not a uri", "type": "Vehicle"}]
        r = city.request("POST", "/ngsi-ld/v1/entityOperations/create", items)
        result = self.ok(r, 207)
        self.assertEqual(sorted(result["success"]),
                         ["urn:ngsi-ld:Bus:1", "urn:ngsi-ld:Bus:2", "urn:ngsi-ld:Tram:1",
                          "urn:ngsi-ld:Vehicle:1"])
        # The bad item is refused here and sent nowhere.
        self.assertEqual([(e["entityId"], e["error"]["status"]) for e in result["errors"]],
                         [("not a uri", 400)])
        self.assertEqual(sorted(self.local(city, "urn:ngsi-ld:Bus:1")), ["id", "route", "type"])
        self.assertEqual(sorted(self.local(fleet, "urn:ngsi-ld:Bus:1")), ["id", "speed", "type"])
        # Bus:2 had only the owned attribute: it is not created here at all.
        self.assertEqual(self.local(city, "urn:ngsi-ld:Bus:2"), 404)
        self.assertEqual(self.local(fleet, "urn:ngsi-ld:Bus:2")["speed"]["value"], 30)
        self.assertEqual(self.local(city, "urn:ngsi-ld:Tram:1"), 404)
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Tram:1")["line"]["value"], "A")
        self.assertEqual(self.local(city, "urn:ngsi-ld:Vehicle:1")["speed"]["value"], 5)
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Vehicle:1")["speed"]["value"], 5)
        self.assertEqual(self.ids(archive.get(f"{ENTITIES}?type=Bus,Tram,Vehicle&local=true")),
                         ["urn:ngsi-ld:Tram:1", "urn:ngsi-ld:Vehicle:1"])
        self.assertEqual(self.ids(fleet.get(f"{ENTITIES}?type=Bus,Tram,Vehicle&local=true")),
                         ["urn:ngsi-ld:Bus:1", "urn:ngsi-ld:Bus:2"])

        # An update batch: each part where it belongs, and all of it succeeded.
        r = city.request("POST", "/ngsi-ld/v1/entityOperations/update", [
            {"id": "urn:ngsi-ld:Bus:1", "type": "Bus",
             "speed": {"type": "Property", "value": 45},
             "route": {"type": "Property", "value": "13"}},
            {"id": "urn:ngsi-ld:Vehicle:1", "type": "Vehicle",
             "speed": {"type": "Property", "value": 6}}])
        self.ok(r, 204)
        self.assertEqual(self.local(fleet, "urn:ngsi-ld:Bus:1")["speed"]["value"], 45)
        self.assertEqual(self.local(city, "urn:ngsi-ld:Bus:1")["route"]["value"], "13")
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Vehicle:1")["speed"]["value"], 6)

        # A delete batch: a source that lacks an entity is reported beside the others' success.
        r = city.request("POST", "/ngsi-ld/v1/entityOperations/delete",
                         ["urn:ngsi-ld:Tram:1", "urn:ngsi-ld:Vehicle:1"])
        result = self.ok(r, 204 if r.status == 204 else 207)
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Tram:1"), 404)
        self.assertEqual(self.local(archive, "urn:ngsi-ld:Vehicle:1"), 404)
        self.assertEqual(self.local(city, "urn:ngsi-ld:Vehicle:1"), 404)
        if result is not None:
            # The inclusive registration names no type, so the archive is also asked for
            # Tram:1 twice; one of those finds it gone.
            self.assertTrue(all(e["error"]["status"] == 404 for e in result["errors"]), result)

        # A purge goes to every source that may hold what it selects.
        self.ok(city.request("POST", "/ngsi-ld/v1/entityOperations/create",
                             [vehicle("urn:ngsi-ld:Vehicle:7", speed=7),
                              vehicle("urn:ngsi-ld:Vehicle:8", speed=8)]), 201)
        self.assertEqual(self.ids(archive.get(f"{ENTITIES}?type=Vehicle&local=true")),
                         ["urn:ngsi-ld:Vehicle:7", "urn:ngsi-ld:Vehicle:8"])
        self.ok(city.request("DELETE", f"{ENTITIES}?type=Vehicle&q=speed>7"), 204)
        for server in (city, archive):
            self.assertEqual(self.ids(server.get(f"{ENTITIES}?type=Vehicle&local=true")),
                             ["urn:ngsi-ld:Vehicle:7"])

    def test_discovery_adds_what_the_sources_hold(self):
        city, depot = self.start("city"), self.start("depot")
        self.ok(city.create(vehicle("urn:ngsi-ld:Vehicle:1", speed=3)), 201)
        self.ok(depot.create({"id": "urn:ngsi-ld:Bus:1", "type": "Bus",
                              "route": {"type": "Property", "value": "12"},
                              "depot": {"type": "Relationship", "object": "urn:ngsi-ld:Depot:1"}}),
                201)
        self.ok(depot.create(vehicle("urn:ngsi-ld:Vehicle:2", speed=4, colour="red")), 201)
        self.register(city, self.url(depot), operations=["retrieveOps"],
                      information=[{"entities": [{"type": "Bus"}, {"type": "Vehicle"}]}])
        self.assertEqual(self.ok(city.get("/ngsi-ld/v1/types"))["typeList"], ["Bus", "Vehicle"])
        self.assertEqual(self.ok(city.get("/ngsi-ld/v1/types?local=true"))["typeList"],
                         ["Vehicle"])
        detailed = {t["typeName"]: t["attributeNames"]
                    for t in self.ok(city.get("/ngsi-ld/v1/types?details=true"))}
        self.assertEqual(detailed, {"Bus": ["depot", "route"], "Vehicle": ["colour", "speed"]})
        info = self.ok(city.get("/ngsi-ld/v1/types/Vehicle"))
        self.assertEqual(info["entityCount"], 2)
        self.assertEqual([(a["attributeName"], a["attributeTypes"])
                          for a in info["attributeDetails"]],
                         [("colour", ["Property"]), ("speed", ["Property"])])
        bus = self.ok(city.get("/ngsi-ld/v1/types/Bus"))
        self.assertEqual((bus["entityCount"], [a["attributeName"] for a in bus["attributeDetails"]]),
                         (1, ["depot", "route"]))
        self.assertEqual(city.get("/ngsi-ld/v1/types/Bus?local=true").status, 404)
        self.assertEqual(self.ok(city.get("/ngsi-ld/v1/attributes"))["attributeList"],
                         ["colour", "depot", "route", "speed"])
        speed = self.ok(city.get("/ngsi-ld/v1/attributes/speed"))
        self.assertEqual((speed["attributeCount"], speed["typeNames"]), (2, ["Vehicle"]))
        depot_attr = self.ok(city.get("/ngsi-ld/v1/attributes/depot"))
        self.assertEqual((depot_attr["attributeTypes"], depot_attr["typeNames"]),
                         (["Relationship"], ["Bus"]))
        self.assertEqual(city.get("/ngsi-ld/v1/attributes/nowhere").status, 404)
        # A source that is down is named, and what is held here is still answered.
        self.register(city, f"http://127.0.0.1:{free_port()}", operations=["retrieveOps"])
        r = city.get("/ngsi-ld/v1/types")
        self.assertEqual(self.ok(r)["typeList"], ["Bus", "Vehicle"])
        self.assertIn("199 http://127.0.0.1:", r.header("NGSILD-Warning"))
        # Each registration tells how its source has been doing (§5.2.9).
        states = {x["endpoint"]: x for x in self.ok(city.get(f"{REGISTRATIONS}?local=true"))}
        good, dead = states[self.url(depot)], states[next(e for e in states if e != self.url(depot))]
        self.assertEqual((good["status"], good["timesFailed"]), ("ok", 0))
        self.assertGreaterEqual(good["timesSent"], 9)
        self.assertIn("lastSuccess", good)
        self.assertEqual((dead["status"], dead["timesSent"], dead["timesFailed"]), ("failed", 1, 1))
        self.assertIn("lastFailure", dead)

    def test_history_is_read_from_the_sources_too(self):
        city, depot = self.start("city"), self.start("depot")

        def history(eid, kind, *values):
            return {"id": eid, "type": kind,
                    "speed": [{"type": "Property", "value": v,
                               "observedAt": f"2026-01-0{day}T08:00:00Z"} for day, v in values]}
        self.ok(city.request("POST", "/ngsi-ld/v1/temporal/entities",
                             history("urn:ngsi-ld:Vehicle:1", "Vehicle", (1, 10), (3, 30))), 201)
        self.ok(depot.request("POST", "/ngsi-ld/v1/temporal/entities",
                              history("urn:ngsi-ld:Vehicle:1", "Vehicle", (2, 20), (4, 40))), 201)
        self.ok(depot.request("POST", "/ngsi-ld/v1/temporal/entities",
                              history("urn:ngsi-ld:Vehicle:2", "Vehicle", (5, 50))), 201)
        # An endpoint may name the API root itself, as the ETSI suite's IOP tests give it.
        self.register(city, self.url(depot) + "/ngsi-ld/v1", operations=["retrieveOps"])
        window = "timerel=after&timeAt=2026-01-01T00:00:00Z"
        r = city.get(f"/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Vehicle:1?{window}"
                     "&options=temporalValues")
        self.assertEqual(self.ok(r)["speed"]["values"],
                         [[10, "2026-01-01T08:00:00Z"], [20, "2026-01-02T08:00:00Z"],
                          [30, "2026-01-03T08:00:00Z"], [40, "2026-01-04T08:00:00Z"]])
        # The window is the source's too.
        r = city.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Vehicle:1?timerel=before"
                     "&timeAt=2026-01-02T12:00:00Z&options=temporalValues")
        self.assertEqual([v for v, _ in self.ok(r)["speed"]["values"]], [10, 20])
        # An entity only the source has, and a query over both.
        r = city.get(f"/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Vehicle:2?{window}")
        self.assertEqual([i["value"] for i in self.ok(r)["speed"]], [50])
        r = city.get(f"/ngsi-ld/v1/temporal/entities?type=Vehicle&{window}&options=temporalValues")
        self.assertEqual({e["id"]: [v for v, _ in e["speed"]["values"]] for e in self.ok(r)},
                         {"urn:ngsi-ld:Vehicle:1": [10, 20, 30, 40], "urn:ngsi-ld:Vehicle:2": [50]})
        r = city.get(f"/ngsi-ld/v1/temporal/entities?type=Vehicle&{window}&local=true")
        self.assertEqual([e["id"] for e in self.ok(r)], ["urn:ngsi-ld:Vehicle:1"])

    def test_a_write_that_comes_back_is_refused(self):
        a, b = self.start("cityA"), self.start("cityB")
        self.register(a, self.url(b), mode="inclusive", operations=["redirectionOps"])
        self.register(b, self.url(a), mode="inclusive", operations=["redirectionOps"])
        # A writes here and at B; B's forward back to A is refused with 508, which B does not
        # count as a failure.
        self.ok(a.create(vehicle("urn:ngsi-ld:Vehicle:x", speed=1)), 201)
        self.assertEqual(self.local(a, "urn:ngsi-ld:Vehicle:x")["speed"]["value"], 1)
        self.assertEqual(self.local(b, "urn:ngsi-ld:Vehicle:x")["speed"]["value"], 1)
        r = a.request("DELETE", f"{ENTITIES}/urn:ngsi-ld:Vehicle:x",
                      headers={"Via": "1.1 cityA"})
        self.assertEqual(r.status, 508, repr(r))
        self.assertEqual(r.json()["type"], "https://uri.etsi.org/ngsi-ld/errors/LoopDetected")

    def test_failing_sources_are_reported_and_the_rest_is_answered(self):
        broker = self.start("cityA")
        self.ok(broker.create(vehicle("urn:ngsi-ld:Vehicle:a1", speed=1)), 201)
        slow = self.source([vehicle("urn:ngsi-ld:Vehicle:slow", speed=2)], delay=3)
        garbage = self.source(garbage=True)
        dead_port = free_port()
        self.register(broker, slow.url)
        self.register(broker, garbage.url)
        self.register(broker, f"http://127.0.0.1:{dead_port}")
        r = broker.get(f"{ENTITIES}?type=Vehicle")
        self.assertEqual(self.ids(r), ["urn:ngsi-ld:Vehicle:a1"])
        warnings = r.header("NGSILD-Warning")
        for endpoint in (slow.url, garbage.url, f"http://127.0.0.1:{dead_port}"):
            self.assertIn(endpoint, warnings)
        # The same for a retrieval of the local entity.
        r = broker.get(f"{ENTITIES}/urn:ngsi-ld:Vehicle:a1")
        self.assertEqual(self.ok(r)["id"], "urn:ngsi-ld:Vehicle:a1")
        self.assertIn(garbage.url, r.header("NGSILD-Warning"))

    def test_a_source_that_failed_is_left_alone_for_its_cooldown(self):
        broker = self.start("cityA")
        source = self.source([vehicle("urn:ngsi-ld:Vehicle:c1", speed=3)])
        dead = f"http://127.0.0.1:{free_port()}"
        self.register(broker, dead, id="urn:ngsi-ld:ContextSourceRegistration:cool",
                      management={"cooldown": 60000})
        self.register(broker, source.url)
        for _ in range(3):
            r = broker.get(f"{ENTITIES}?type=Vehicle")
            self.assertEqual(self.ids(r), ["urn:ngsi-ld:Vehicle:c1"])
            self.assertIn(dead, r.header("NGSILD-Warning"))
        # Asked once: the two requests after the failure were answered for it at once.
        self.assertIn("cooldown", r.header("NGSILD-Warning"))
        held = self.ok(broker.get(REGISTRATIONS + "/urn:ngsi-ld:ContextSourceRegistration:cool"))
        self.assertEqual((held["timesSent"], held["timesFailed"]), (1, 1))
        self.assertEqual(len(source.requests), 3)


if __name__ == "__main__":
    unittest.main()
