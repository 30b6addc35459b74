"""The broker's @context storage across restarts and without a network (ETSI GS CIM 009 §5.13):
hosted @contexts are durable (a 201 means the document is on disk, also through kill -9) and
deletions too; --context-dir preloads documents so that their URLs resolve with no fetch, and a
bad directory stops the start; a failed reload keeps the cached copy (§5.13.5).

Run: python3 -m unittest tests/integration/test_context_store.py"""

import json
import os
import shutil
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import ContextServer, Server, free_port, link_header  # noqa: E402
from integration_support import ENTITIES, assert_problem  # noqa: E402

CONTEXTS = "/ngsi-ld/v1/jsonldContexts"
JSON = {"Content-Type": "application/json"}
LD = {"Content-Type": "application/ld+json"}
FAST = ["--context-timeout-ms", "500"]


def quoted(url):
    return urllib.parse.quote(url, safe="")


def add_context(server, document):
    r = server.request("POST", CONTEXTS, document, JSON)
    assert r.status == 201, r
    return r.header("Location")


class HostedContextsSurviveRestarts(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="tsunagu-ctx-store-")

    def tearDown(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def server(self):
        return Server(data_dir=self.data_dir, args=FAST).start()

    def test_sigterm_and_kill_9(self):
        doc = {"@context": {"A1": "urn:ngsi-ld:attributes:A1"}}
        s = self.server()
        location = add_context(s, doc)
        local_id = location.rsplit("/", 1)[1]
        before = s.get(f"{location}?details=true").json()
        entity = {"id": "urn:ngsi-ld:T:1", "type": "T", "A1": {"type": "Property", "value": 1}}
        link = {"Link": link_header(f"http://127.0.0.1:{s.port}{location}")}
        self.assertEqual(s.create(entity, link).status, 201)
        # The file is the document as added.
        with open(os.path.join(self.data_dir, "contexts", local_id + ".jsonld")) as f:
            self.assertEqual(json.load(f), doc)
        s.stop()

        s = self.server()
        self.assertEqual(s.get(location).json(), doc)
        after = s.get(f"{location}?details=true").json()
        self.assertEqual(after["createdAt"], before["createdAt"])
        self.assertEqual(after["kind"], "Hosted")
        self.assertEqual(after["numberOfHits"], 0)  # usage is not kept across restarts
        # Resolvable again with no fetch, on the new port too.
        link = {"Link": link_header(f"http://127.0.0.1:{s.port}{location}")}
        self.assertEqual(s.get(f"{ENTITIES}/urn:ngsi-ld:T:1", link).json(), entity)
        # A 201 means on disk: kill -9 right after it loses nothing.
        second = add_context(s, {"@context": {"B1": "urn:b1"}})
        s.kill()

        s = self.server()
        try:
            self.assertEqual(s.get(second).json(), {"@context": {"B1": "urn:b1"}})
            listed = s.get(f"{CONTEXTS}?kind=Hosted").json()
            self.assertEqual(sorted(u.rsplit("/", 1)[1] for u in listed),
                             sorted([local_id, second.rsplit("/", 1)[1]]))
        finally:
            s.stop()

    def test_deleted_context_stays_deleted(self):
        s = self.server()
        location = add_context(s, {"@context": {"A1": "urn:a1"}})
        self.assertEqual(s.request("DELETE", location).status, 204)
        s.kill()
        s = self.server()
        try:
            assert_problem(self, s.get(location), 404, "ResourceNotFound")
            self.assertEqual(os.listdir(os.path.join(self.data_dir, "contexts")), [])
        finally:
            s.stop()


class ContextDir(unittest.TestCase):
    """--context-dir: documents answered for their URLs, which here lead nowhere (a closed port),
    so that only the preloaded copies can make the requests work."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tsunagu-context-dir-")
        dead = f"http://127.0.0.1:{free_port()}"
        self.outer_url = f"{dead}/models/outer.jsonld"
        self.inner_url = f"{dead}/models/inner.jsonld?v=1"
        self.write("outer.jsonld", {"@context": [self.inner_url, {"height": "https://m/height"}]})
        os.makedirs(os.path.join(self.dir, "sub"))
        self.write("sub/inner.jsonld", {"@context": {"Building": "https://m/Building"}})
        self.write_index(f"# preloaded for the tests\n\n{self.outer_url} = outer.jsonld\n"
                         f"{self.inner_url}\t=\tsub/inner.jsonld\n")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, document):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(document if isinstance(document, str) else json.dumps(document))

    def write_index(self, text):
        self.write("index", text)

    def check_preloaded(self, s):
        entity = {"id": "urn:ngsi-ld:Building:1", "type": "Building",
                  "height": {"type": "Property", "value": 12}}
        r = s.create(entity, {"Link": link_header(self.outer_url)})
        self.assertEqual(r.status, 201, r)
        plain = s.get(f"{ENTITIES}/urn:ngsi-ld:Building:1").json()
        self.assertEqual(plain["type"], "https://m/Building")
        self.assertIn("https://m/height", plain)
        cached = s.get(f"{CONTEXTS}?kind=Cached&details=true").json()
        by_url = {c["URL"]: c for c in cached}
        for url in (self.outer_url, self.inner_url):
            self.assertEqual(by_url[url]["kind"], "Cached")
            self.assertEqual(by_url[url]["numberOfHits"], 1)
        self.assertEqual(s.get(f"{CONTEXTS}/{quoted(self.inner_url)}?details=true").status, 200)

    def test_preloaded_contexts_need_no_network(self):
        with Server(args=FAST + ["--context-dir", self.dir]) as s:
            self.check_preloaded(s)
            # Deleted, a preloaded document is fetched on its next use, here in vain.
            self.assertEqual(s.request("DELETE", f"{CONTEXTS}/{quoted(self.outer_url)}").status,
                             204)
            r = s.get(f"{ENTITIES}/urn:ngsi-ld:Building:1", {"Link": link_header(self.outer_url)})
            assert_problem(self, r, 503, "LdContextNotAvailable")

    def test_environment_variable(self):
        with Server(args=FAST, env={"TSUNAGU_CONTEXT_DIR": self.dir}) as s:
            self.check_preloaded(s)

    def assert_start_fails(self, *log_has):
        s = Server(args=FAST + ["--context-dir", self.dir])
        with self.assertRaises(RuntimeError) as failure:
            s.start()
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)
        for text in log_has:
            self.assertIn(text, str(failure.exception))

    def test_a_bad_directory_stops_the_start(self):
        self.write_index(f"{self.outer_url} = outer.jsonld\n{self.inner_url} sub/inner.jsonld\n")
        self.assert_start_fails("index:2", "URL = FILE")
        self.write_index(f"{self.outer_url} = missing.jsonld\n")
        self.assert_start_fails("index:1", "missing.jsonld")
        self.write_index(f"{self.outer_url} = outer.jsonld\n{self.outer_url} = outer.jsonld\n")
        self.assert_start_fails("index:2", "twice")
        self.write("notes.json", {"no": "context"})
        self.write_index(f"{self.outer_url} = notes.json\n")
        self.assert_start_fails("notes.json", "@context member")
        os.remove(os.path.join(self.dir, "index"))
        self.assert_start_fails("index")


class Reload(unittest.TestCase):
    def test_failed_reload_keeps_the_cached_copy(self):
        with Server(args=FAST) as s:
            with ContextServer() as cs:
                url = cs.url("test/city.jsonld")
                entity = {"id": "urn:ngsi-ld:Building:1", "type": "Building",
                          "height": {"type": "Property", "value": 12}}
                self.assertEqual(s.create(entity, {"Link": link_header(url)}).status, 201)
                self.assertEqual(s.request("DELETE", f"{CONTEXTS}/{quoted(url)}?reload=true")
                                 .status, 204)
            # The context server is gone (§5.13.5: the reload fails, the copy stays).
            r = s.request("DELETE", f"{CONTEXTS}/{quoted(url)}?reload=true")
            assert_problem(self, r, 503, "LdContextNotAvailable", detail_has=["kept"])
            details = s.get(f"{CONTEXTS}/{quoted(url)}?details=true")
            self.assertEqual(details.status, 200, details)
            self.assertEqual(details.json()["kind"], "Cached")
            r = s.get(f"{ENTITIES}/urn:ngsi-ld:Building:1", {"Link": link_header(url)})
            self.assertEqual(r.json(), entity)


if __name__ == "__main__":
    unittest.main()
