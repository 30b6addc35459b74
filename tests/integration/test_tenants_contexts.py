"""Tenants (NGSILD-Tenant, ETSI GS CIM 009 §4.14, §6.3.14) and remote JSON-LD @contexts
(§5.5.7, §6.3.5; JSON-LD 1.1 API §4.1.2 context processing) against the real server: isolation,
NonexistentTenant, data per tenant across restarts; remote contexts fetched once and cached, a
hanging context server answered with LdContextNotAvailable while other requests go on, nested
remote contexts, and context cycles.

Run: python3 -m unittest tests/integration/test_tenants_contexts.py"""

import itertools
import os
import shutil
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import ContextServer, Server, link_header  # noqa: E402
from integration_support import (  # noqa: E402
    ENTITIES, ContextTree, assert_problem, describe)

JSON = {"Content-Type": "application/json"}
LD = {"Content-Type": "application/ld+json"}
CONTEXT_TIMEOUT_MS = 500
RUNS = itertools.count()
PARKING = "raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld"


def tenant(name, **extra):
    h = {"NGSILD-Tenant": name}
    h.update(extra)
    return h


def thing(eid, etype="Thing", **props):
    e = {"id": eid, "type": etype}
    for k, v in props.items():
        e[k] = {"type": "Property", "value": v}
    return e


class Tenants(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def test_same_id_in_two_tenants(self):
        s = self.server
        eid = "urn:ngsi-ld:Thing:shared"
        a, b = thing(eid, "Thing", p=1), thing(eid, "Other", p=2, q="b")
        self.assertEqual(s.request("POST", ENTITIES, a, tenant("city-a", **JSON)).status, 201)
        self.assertEqual(s.request("POST", ENTITIES, b, tenant("city-b", **JSON)).status, 201)
        self.assertEqual(s.get(f"{ENTITIES}/{eid}", tenant("city-a")).json(), a)
        self.assertEqual(s.get(f"{ENTITIES}/{eid}", tenant("city-b")).json(), b)
        # The default tenant holds neither.
        r = s.get(f"{ENTITIES}/{eid}")
        assert_problem(self, r, 404, "ResourceNotFound", context=describe("GET", eid, r))
        # A change in one tenant stays there.
        r = s.request("PATCH", f"{ENTITIES}/{eid}/attrs/p", {"type": "Property", "value": 10},
                      tenant("city-a", **JSON))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(s.get(f"{ENTITIES}/{eid}", tenant("city-b")).json(), b)
        # Deleting in one tenant leaves the other untouched; the tenant itself still exists.
        r = s.request("DELETE", f"{ENTITIES}/{eid}", headers=tenant("city-a"))
        self.assertEqual(r.status, 204, r)
        r = s.get(f"{ENTITIES}/{eid}", tenant("city-a"))
        assert_problem(self, r, 404, "ResourceNotFound", context=describe("GET", eid, r))
        self.assertEqual(s.get(f"{ENTITIES}/{eid}", tenant("city-b")).json(), b)
        # Same id again in the first tenant: a new entity, not a resurrection.
        a2 = thing(eid, "Thing", z=3)
        self.assertEqual(s.request("POST", ENTITIES, a2, tenant("city-a", **JSON)).status, 201)
        self.assertEqual(s.get(f"{ENTITIES}/{eid}", tenant("city-a")).json(), a2)
        self.assertEqual(s.get(f"{ENTITIES}/{eid}", tenant("city-b")).json(), b)

    def test_nonexistent_tenant(self):
        # §6.3.14 / §5.5.2: a tenant that was never written is NonexistentTenant (404), and
        # asking about it does not create it.
        s = self.server
        path = f"{ENTITIES}/urn:ngsi-ld:Thing:1"
        for attempt in range(2):
            r = s.get(path, tenant("never-written"))
            assert_problem(self, r, 404, "NonexistentTenant", context=describe("GET", path, r))
        r = s.request("DELETE", path, headers=tenant("never-written"))
        assert_problem(self, r, 404, "NonexistentTenant", context=describe("DELETE", path, r))
        r = s.request("PATCH", path + "/attrs/p", {"type": "Property", "value": 1},
                      tenant("never-written", **JSON))
        assert_problem(self, r, 404, "NonexistentTenant", context=describe("PATCH", path, r))
        # A create that fails does not create the tenant either.
        r = s.request("POST", ENTITIES, {"id": "not a uri", "type": "T"},
                      tenant("failed-only", **JSON))
        assert_problem(self, r, 400, "BadRequestData", context=describe("POST", ENTITIES, r))
        r = s.get(path, tenant("failed-only"))
        assert_problem(self, r, 404, "NonexistentTenant", context=describe("GET", path, r))
        # The first successful create brings the tenant into existence.
        self.assertEqual(s.request("POST", ENTITIES, thing("urn:ngsi-ld:Thing:1"),
                                   tenant("failed-only", **JSON)).status, 201)
        r = s.get(f"{ENTITIES}/urn:ngsi-ld:Thing:2", tenant("failed-only"))
        assert_problem(self, r, 404, "ResourceNotFound", context=describe("GET", path, r))

    def test_hostile_tenant_names(self):
        # Tenant names must not reach the file system as paths: refused (400), or kept as an
        # ordinary, isolated tenant; never a file outside the data directory.
        s = self.server
        parent = os.path.dirname(s.data_dir)
        before = set(os.listdir(parent))
        for name in ("../escape-tsunagu", "a/b", "..", ".", "x\\y", "%2e%2e", "a" * 300):
            with self.subTest(tenant=name):
                try:
                    r = s.request("POST", ENTITIES, thing("urn:ngsi-ld:Thing:t"),
                                  tenant(name, **JSON))
                except (OSError, ValueError) as e:  # http.client refuses some header values
                    self.skipTest(f"client refused header: {e}")
                if r.status == 201:
                    g = s.get(f"{ENTITIES}/urn:ngsi-ld:Thing:t", tenant(name))
                    self.assertEqual(g.json(), thing("urn:ngsi-ld:Thing:t"))
                else:
                    assert_problem(self, r, 400, ("BadRequestData", "InvalidRequest"),
                                   context=describe("POST", name, r))
        created = {n for n in set(os.listdir(parent)) - before if "escape" in n}
        self.assertEqual(created, set(), "files created outside the data directory")


class TenantsAcrossRestarts(unittest.TestCase):
    def test_data_survives_restart_per_tenant(self):
        data_dir = tempfile.mkdtemp(prefix="tsunagu-tenants-")
        try:
            expected = {}
            with Server(data_dir=data_dir) as s:
                for t, n in itertools.product(("", "osaka", "kyoto", "nara.city_1"), range(3)):
                    e = thing(f"urn:ngsi-ld:Thing:{n}", "Thing", tenant=t or "default", n=n)
                    h = tenant(t, **JSON) if t else JSON
                    self.assertEqual(s.request("POST", ENTITIES, e, h).status, 201)
                    expected[(t, e["id"])] = e
                # One deletion must survive too.
                r = s.request("DELETE", f"{ENTITIES}/urn:ngsi-ld:Thing:2", headers=tenant("kyoto"))
                self.assertEqual(r.status, 204)
                del expected[("kyoto", "urn:ngsi-ld:Thing:2")]
            for how in ("SIGTERM", "kill -9"):
                s = Server(data_dir=data_dir).start()
                try:
                    for (t, eid), e in expected.items():
                        r = s.get(f"{ENTITIES}/{eid}", tenant(t) if t else None)
                        self.assertEqual(r.status, 200, f"after {how}: {t}/{eid}: {r!r}")
                        self.assertEqual(r.json(), e)
                    r = s.get(f"{ENTITIES}/urn:ngsi-ld:Thing:2", tenant("kyoto"))
                    assert_problem(self, r, 404, "ResourceNotFound",
                                   context=f"deleted entity after restart: {r!r}")
                    r = s.get(f"{ENTITIES}/urn:ngsi-ld:Thing:0", tenant("never-written"))
                    assert_problem(self, r, 404, "NonexistentTenant", context=repr(r))
                finally:
                    if how == "SIGTERM":
                        self.assertEqual(s.stop(), 0)
                    else:
                        s.kill()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


class RemoteContexts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.contexts = ContextTree().__enter__()
        cls.slow = ContextServer(delay=30).__enter__()
        cls.server = Server(args=["--context-timeout-ms", str(CONTEXT_TIMEOUT_MS)]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.slow.__exit__(None, None, None)
        cls.contexts.__exit__(None, None, None)

    def test_remote_context_fetched_once(self):
        s, url = self.server, self.contexts.url(PARKING)
        for i in range(3):
            e = {"id": f"urn:ngsi-ld:OffStreetParking:cache{i}", "type": "OffStreetParking",
                 "totalSpotNumber": {"type": "Property", "value": i}, "@context": [url]}
            self.assertEqual(s.request("POST", ENTITIES, e, LD).status, 201)
        for i in range(3):
            r = s.get(f"{ENTITIES}/urn:ngsi-ld:OffStreetParking:cache{i}",
                      {"Link": link_header(url)})
            self.assertEqual(r.json()["totalSpotNumber"]["value"], i)
            self.assertEqual(r.json()["type"], "OffStreetParking")
        r = s.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:OffStreetParking:cache0/attrs/"
                               "totalSpotNumber", {"type": "Property", "value": 9},
                      {"Link": link_header(url), **JSON})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(len(self.contexts.hits(PARKING)), 1, self.contexts.hits())

    def slow_create(self, eid, key):
        url = self.slow.url(f"hang/{key}/context.jsonld")
        e = {"id": eid, "type": "Thing", "@context": [url]}
        return self.server.request("POST", ENTITIES, e, LD, timeout=10)

    def test_hanging_context_server(self):
        # The context server never answers within 30 s; the server gives up after its own
        # --context-timeout-ms: 503 LdContextNotAvailable (§5.5.2). The client waits at most
        # 10 s, so an answer at all shows the server did not wait for the 30 s.
        r = self.slow_create("urn:ngsi-ld:Thing:hang", "single")
        assert_problem(self, r, 503, "LdContextNotAvailable", context=describe("POST", "", r))
        self.assertEqual(self.server.get(f"{ENTITIES}/urn:ngsi-ld:Thing:hang").status, 404)
        path = f"{ENTITIES}/urn:ngsi-ld:Thing:hang"
        r = self.server.get(path, {"Link": link_header(self.slow.url("hang/get.jsonld"))})
        assert_problem(self, r, 503, "LdContextNotAvailable", context=describe("GET", path, r))

    def run_while_hanging(self, fast_requests, slow_count, started_fetches=None):
        """Starts `slow_count` creates whose @context hangs, runs `fast_requests` while they are
        pending (at least `started_fetches` of them, default all, asked of the context server),
        and returns, per fast request, its response and whether no slow request had ended when
        it was answered (an ordering, not a timing)."""
        want = slow_count if started_fetches is None else started_fetches
        run = next(RUNS)
        lock = threading.Lock()
        slow_done = []
        started = threading.Barrier(slow_count + 1)
        slow_results = []

        def slow(n):
            started.wait()
            r = self.slow_create(f"urn:ngsi-ld:Thing:hang-{run}-{n}", f"{run}-{n}")
            with lock:
                slow_done.append(n)
                slow_results.append(r)

        threads = [threading.Thread(target=slow, args=(n,)) for n in range(slow_count)]
        for t in threads:
            t.start()
        started.wait()
        # Wait until the server has asked the hanging context server for every document, so
        # each slow request is really pending inside the server.
        waited = threading.Event()
        for _ in range(2000):
            fetching = len([h for h in self.slow.hits if f"/hang/{run}-" in h])
            with lock:
                done = len(slow_done)
            if fetching >= want or done:
                break
            waited.wait(0.005)
        if done or fetching < want:
            for t in threads:
                t.join()
            self.fail(f"{slow_count} requests with a hanging @context: {fetching} fetches had "
                      f"started when the first of them ended ({done} ended): the fetches queue "
                      f"behind each other instead of running side by side")
        out = []
        for request in fast_requests:
            r = request()
            with lock:
                all_pending = not slow_done
            out.append((r, all_pending))
        for t in threads:
            t.join()
        for r in slow_results:
            assert_problem(self, r, 503, "LdContextNotAvailable", context=repr(r))
        return out

    def test_other_requests_answered_while_a_context_hangs(self):
        s = self.server
        url = self.contexts.url(PARKING)
        s.request("POST", ENTITIES, {"id": "urn:ngsi-ld:OffStreetParking:warm",
                                     "type": "OffStreetParking", "@context": [url]}, LD)
        fast = [
            lambda: s.get("/health"),
            lambda: s.request("POST", ENTITIES, thing("urn:ngsi-ld:Thing:during"), JSON),
            lambda: s.get(f"{ENTITIES}/urn:ngsi-ld:Thing:during"),
            lambda: s.request("POST", ENTITIES, {"id": "urn:ngsi-ld:OffStreetParking:during",
                                                 "type": "OffStreetParking",
                                                 "@context": [url]}, LD),  # cached context
            lambda: s.get(f"{ENTITIES}/urn:ngsi-ld:OffStreetParking:during",
                          {"Link": link_header(url)}),
        ]
        results = self.run_while_hanging(fast, slow_count=2)
        expected_status = [200, 201, 200, 201, 200]
        for (r, pending), status in zip(results, expected_status):
            self.assertEqual(r.status, status, r)
            self.assertTrue(pending, f"answered only after the hanging fetches ended: {r!r}")

    def test_hanging_context_does_not_block_other_fetches(self):
        # Eight requests wait on a hanging context server; a request whose @context lives on a
        # healthy server must still be fetched and answered while they wait.
        s = self.server
        url = self.contexts.write("fresh/during-hang.jsonld",
                                  {"@context": {"Fresh": "http://example.org/fresh/Fresh"}})
        fast = [lambda: s.request("POST", ENTITIES, {"id": "urn:ngsi-ld:Fresh:1", "type": "Fresh",
                                                     "@context": [url]}, LD)]
        (r, pending), = self.run_while_hanging(fast, slow_count=8, started_fetches=4)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(pending, "a fetch from a healthy context server waited for the hanging "
                                 "ones to time out")
        g = s.get(f"{ENTITIES}/urn:ngsi-ld:Fresh:1")
        self.assertEqual(g.json()["type"], "http://example.org/fresh/Fresh")

    def check_nested(self, outer_url, eid):
        s = self.server
        e = {"id": eid, "type": "Gadget", "size": {"type": "Property", "value": 3},
             "color": {"type": "Property", "value": "red"},
             "madeBy": {"type": "Relationship", "object": "urn:ngsi-ld:Maker:1"},
             "@context": [outer_url]}
        r = s.request("POST", ENTITIES, e, LD)
        self.assertEqual(r.status, 201, describe("POST", ENTITIES, r, e))
        # With the same context: the same short names.
        r = s.get(f"{ENTITIES}/{eid}", {"Link": link_header(outer_url)})
        self.assertEqual(r.json(), {k: v for k, v in e.items() if k != "@context"})
        # With the core context only: the IRIs the nested context defines, so the inner
        # document was really applied (not the default @vocab).
        r = s.get(f"{ENTITIES}/{eid}")
        self.assertEqual(r.json(), {
            "id": eid, "type": "http://example.org/nested/Gadget",
            "http://example.org/nested/size": {"type": "Property", "value": 3},
            "http://example.org/nested/color": {"type": "Property", "value": "red"},
            "http://example.org/nested/madeBy": {"type": "Relationship",
                                                 "object": "urn:ngsi-ld:Maker:1"}})

    def test_nested_remote_context_absolute(self):
        inner = self.contexts.url("example.org/nested/inner.jsonld")
        outer = self.contexts.write("generated/outer-absolute.jsonld", {"@context": [
            inner, {"color": "http://example.org/nested/color"}]})
        self.check_nested(outer, "urn:ngsi-ld:Gadget:absolute")
        self.assertEqual(len(self.contexts.hits("generated/outer-absolute.jsonld")), 1)
        self.assertEqual(len(self.contexts.hits("example.org/nested/inner.jsonld")), 1)

    def test_nested_remote_context_relative(self):
        # tests/fixtures/contexts/example.org/nested/outer.jsonld refers to "inner.jsonld": a
        # relative reference resolved against the URL of the document holding it (JSON-LD 1.1
        # API §4.1.2, steps 5.2.1 and 5.2.6: base URL = the context document's URL).
        self.check_nested(self.contexts.url("example.org/nested/outer.jsonld"),
                          "urn:ngsi-ld:Gadget:relative")

    def test_context_cycles(self):
        # JSON-LD 1.1 API §4.1.2 step 5.2.2: a context that includes itself, directly or
        # through another, is a "recursive context inclusion" error: 400, never a hang.
        a = self.contexts.url("generated/cycle-a.jsonld")
        b = self.contexts.url("generated/cycle-b.jsonld")
        me = self.contexts.url("generated/self.jsonld")
        self.contexts.write("generated/cycle-a.jsonld", {"@context": [b, {"x": "http://e/x"}]})
        self.contexts.write("generated/cycle-b.jsonld", {"@context": [a, {"y": "http://e/y"}]})
        self.contexts.write("generated/self.jsonld", {"@context": [me, {"z": "http://e/z"}]})
        cases = {
            "self": me, "two-step": a,
            "self (relative)": self.contexts.url("example.org/nested/self.jsonld"),
            "two-step (relative)": self.contexts.url("example.org/nested/cycle-a.jsonld"),
        }
        for name, url in cases.items():
            with self.subTest(cycle=name):
                e = {"id": "urn:ngsi-ld:Thing:cycle", "type": "Thing", "@context": [url]}
                r = self.server.request("POST", ENTITIES, e, LD, timeout=10)
                problem = assert_problem(self, r, 400, ("BadRequestData", "InvalidRequest"),
                                         context=describe("POST", ENTITIES, r, e))
                self.assertNotIn("not an absolute URL", problem["detail"])
                r = self.server.get(f"{ENTITIES}/urn:ngsi-ld:Thing:cycle",
                                    {"Link": link_header(url)}, )
                assert_problem(self, r, 400, ("BadRequestData", "InvalidRequest"),
                               context=describe("GET", "Link: " + url, r))
        self.assertEqual(self.server.get("/health").status, 200)

    def test_missing_remote_context(self):
        # A context URL that answers 404 cannot be retrieved: 503 LdContextNotAvailable.
        url = self.contexts.url("example.org/does-not-exist.jsonld")
        e = {"id": "urn:ngsi-ld:Thing:missing", "type": "Thing", "@context": [url]}
        r = self.server.request("POST", ENTITIES, e, LD)
        assert_problem(self, r, 503, "LdContextNotAvailable",
                       context=describe("POST", ENTITIES, r, e))


if __name__ == "__main__":
    unittest.main()
