"""Durability of acknowledged writes (DESIGN: "A write that got a 2xx is never lost when the
process is killed"): client threads create entities and PATCH counters while the server is
killed with SIGKILL mid-load, three times on the same data directory; then the same under a
graceful SIGTERM, which must also exit with code 0; both with --sync full and normal. Restart
times are printed, not asserted.

Run: python3 -m unittest tests/integration/test_durability.py"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from counter_load import ENTITIES, Ledger, Load, counter_entity, reconcile  # noqa: E402
from harness import OneDataDir  # noqa: E402

WORKERS = 4
LOAD_SECONDS = 2.0


def initial_entity(eid, label):
    return counter_entity(eid, label, {
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [135.5, 34.7]}},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:" + label},
    })


class Durability(OneDataDir):
    SERVER_ARGS = ()  # the default: --sync full, a commit thread of its own

    def start_timed(self, label):
        t0 = time.monotonic()
        s = self.start_server()
        print(f"\n  [durability] {label}: start took {time.monotonic() - t0:.3f} s",
              file=sys.stderr)
        return s

    def run_load(self, server, ledger, tag, finish_server):
        ledger.acks = 0
        load = Load(server, ledger, tag, initial_entity).start()
        time.sleep(LOAD_SECONDS)
        finish_server()
        load.finish()
        self.assertEqual(load.errors, [], "requests failed while the server was up")
        self.assertGreater(ledger.acks, 0, "no write was acknowledged during the load")
        print(f"  [durability] {tag}: {ledger.acks} writes acknowledged, "
              f"{len(ledger.pending_creates)} creates in flight, "
              f"{ledger.entities()} entities known", file=sys.stderr)

    def verify(self, server, ledger):
        """Checks the restarted server against the ledger, each entity read by id, then makes
        what it holds the new baseline."""
        conn = server.connection()

        def lookup(eid):
            r = server.request("GET", f"{ENTITIES}/{eid}", conn=conn)
            if r.status == 200:
                return r.json(), None
            return None, (None if r.status == 404 else repr(r))

        try:
            problems = reconcile(ledger, lookup, initial_entity)
        finally:
            conn.close()
        self.assertEqual(problems, [])

    def test_kill_9_under_load_three_times(self):
        ledger = Ledger(WORKERS)
        server = self.start_timed("fresh data dir")
        for cycle in range(3):
            self.run_load(server, ledger, f"k{cycle}", server.kill)
            self.assertEqual(server.proc.returncode, -signal.SIGKILL)
            server = self.start_timed(f"after kill -9 #{cycle + 1} "
                                       f"({ledger.entities()} entities)")
            self.verify(server, ledger)
        server.stop()

    def test_sigterm_under_load(self):
        ledger = Ledger(WORKERS)
        server = self.start_timed("fresh data dir")

        def terminate():
            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(60)
            except Exception:
                pass

        self.run_load(server, ledger, "term", terminate)
        code = server.stop()
        self.assertEqual(code, 0, "exit code after SIGTERM:\n" + server.read_log())
        server = self.start_timed(f"after SIGTERM ({ledger.entities()} entities)")
        self.verify(server, ledger)
        server.stop()


class DurabilitySyncNormal(Durability):
    """The same with --sync normal, where the event loops commit the writes themselves
    (src/engine/writer.hpp); two loops, so one loop also commits requests the other read."""
    SERVER_ARGS = ("--sync", "normal", "--threads", "2")


if __name__ == "__main__":
    unittest.main()
