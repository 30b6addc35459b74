"""Server-side request forgery through @context (issue 14). A client names any URL as its
@context and the server fetches it, from inside the city's network. The operator's policy:
loopback, private and link-local addresses refused by default (--context-private-networks),
an optional host list (--context-hosts), every redirect checked again, and errors that read
the same for a closed port, a missing document and a refused one, so that they do not map the
network.

The test servers are all on loopback, so the "allowed" cases run with private networks allowed
and the refusals with the default.

Run: python3 -m unittest tests/integration/test_context_fetch_policy.py"""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import ContextServer, Server, free_port, link_header  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
CONTEXT = "test/city.jsonld"


def query(server, context_url):
    return server.get(ENTITIES + "?type=Building", {"Link": link_header(context_url)})


def detail(r):
    return r.json()["detail"]


class ContextFetchPolicy(unittest.TestCase):
    def start(self, args):
        # The harness allows private networks for the other tests; the last value given wins.
        return Server(args=args)

    def test_private_networks_are_refused_by_default(self):
        with ContextServer() as cs, self.start(["--context-private-networks", "deny"]) as s:
            r = query(s, cs.url(CONTEXT))
            self.assertEqual(r.status, 503, r)
            self.assertIn("does not allow this address", detail(r))
            self.assertEqual(cs.hits, [], "the server connected to a refused address")
            # localhost names the same address: refused after name resolution as well.
            r = query(s, f"http://localhost:{cs.port}/{CONTEXT}")
            self.assertEqual(r.status, 503, r)
            self.assertEqual(cs.hits, [])

    def test_allowed_private_networks_fetch(self):
        with ContextServer() as cs, self.start(["--context-private-networks", "allow"]) as s:
            self.assertEqual(query(s, cs.url(CONTEXT)).status, 200)
            self.assertEqual(len(cs.hits), 1)

    def test_host_list(self):
        args = ["--context-private-networks", "allow", "--context-hosts", "localhost"]
        with ContextServer() as cs, self.start(args) as s:
            r = query(s, cs.url(CONTEXT))  # 127.0.0.1 is not in the list
            self.assertEqual(r.status, 503, r)
            self.assertIn("does not allow this host", detail(r))
            self.assertEqual(cs.hits, [])
            self.assertEqual(query(s, f"http://localhost:{cs.port}/{CONTEXT}").status, 200)

    def test_every_redirect_is_checked(self):
        args = ["--context-private-networks", "allow", "--context-hosts", "127.0.0.1"]
        with ContextServer() as cs, self.start(args) as s:
            with ContextServer(redirect_to=f"http://localhost:{cs.port}/{CONTEXT}") as away:
                r = query(s, away.url("c.jsonld"))
                self.assertEqual(r.status, 503, r)
                self.assertIn("does not allow this host", detail(r))
                self.assertEqual(cs.hits, [])
            with ContextServer(redirect_to=cs.url(CONTEXT)) as same:
                self.assertEqual(query(s, same.url("d.jsonld")).status, 200)
                self.assertEqual(len(cs.hits), 1)

    def test_failures_do_not_tell_ports_apart(self):
        with ContextServer() as cs, self.start(["--context-private-networks", "allow"]) as s:
            closed = query(s, f"http://127.0.0.1:{free_port()}/{CONTEXT}")
            missing = query(s, cs.url("test/no-such.jsonld"))
            for r in (closed, missing):
                self.assertEqual(r.status, 503, r)
                self.assertTrue(detail(r).endswith("the document could not be fetched"), r)

    def test_a_context_naming_many_documents_is_refused(self):
        root = tempfile.mkdtemp(prefix="tsunagu-contexts-")
        for i in range(40):
            with open(os.path.join(root, f"many-{i}.jsonld"), "w") as f:
                json.dump({"@context": {f"t{i}": f"https://example.org/t{i}"}}, f)
        with ContextServer(root=root) as cs, self.start(["--context-private-networks", "allow"]) as s:
            many = [cs.url(f"many-{i}.jsonld") for i in range(40)]
            body = {"id": "urn:ngsi-ld:Building:many", "type": "Building", "@context": many}
            r = s.request("POST", ENTITIES, body, {"Content-Type": "application/ld+json"})
            self.assertEqual(r.status, 400, r)
            self.assertIn("more than 32 remote documents", detail(r))
            self.assertLessEqual(len(cs.hits), 32)
            # 32 are fine.
            body["@context"] = many[:32]
            r = s.request("POST", ENTITIES, body, {"Content-Type": "application/ld+json"})
            self.assertEqual(r.status, 201, r)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
