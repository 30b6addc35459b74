"""Folding the change log into the SQLite checkpoint (docs/storage.md): with --checkpoint-mb 1 the
server rotates its change log every MiB and a background thread folds the closed segments into
tsunagu.db and deletes them. Checks that folds happen (the checkpoint gains the rows, old
changes-*.log files go away), that a restart reads the latest state of every entity, and that
kill -9 under write load while folds run loses no acknowledged write and half-applies none.

Folds are waited for by watching the data directory, never by sleeping a fixed time.

Run: python3 -m unittest tests/integration/test_checkpoint.py"""

import os
import re
import shutil
import signal
import sqlite3
import struct
import sys
import threading
import time
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from counter_load import Ledger, Load, counter_entity, reconcile  # noqa: E402
from harness import OneDataDir, Server  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"
BATCH_CREATE = "/ngsi-ld/v1/entityOperations/create"
JSON = {"Content-Type": "application/json"}
CHECKPOINT = ["--checkpoint-mb", "1"]
SEGMENT = re.compile(r"changes-(\d{12})\.log")
PAD = 1000          # characters of padding per entity: about 1.2 KB logged per write
FOLD_WAIT_S = 60    # an upper bound for a fold to finish, not an expectation


def segments(data_dir):
    """Sequence numbers of the change log segments in `data_dir`, ascending."""
    return sorted(int(m.group(1)) for m in map(SEGMENT.fullmatch, os.listdir(data_dir)) if m)


def valid_prefix(path, seq):
    """Bytes of the records of segment `seq` at the start of `path`, read as docs/storage.md
    describes the format: a record is "TSL2", its length and the CRC-32 of the segment number
    (8 bytes, little-endian) and the payload. What follows is a torn record or, in a reused
    segment file, the records of its earlier life."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 12 <= len(data):
        magic, length, crc = struct.unpack_from("<4sII", data, pos)
        payload = data[pos + 12:pos + 12 + length]
        if magic != b"2LST" or len(payload) != length or \
                zlib.crc32(struct.pack("<Q", seq) + payload) != crc:
            break
        pos += 12 + length
    return pos


def checkpoint_rows(data_dir):
    """How many entity rows the SQLite checkpoint holds (read-only, beside the running server)."""
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'tsunagu.db')}?mode=ro", uri=True,
                         timeout=10)
    try:
        return db.execute("SELECT count(*) FROM entities").fetchone()[0]
    finally:
        db.close()


def checkpoint_bytes(data_dir):
    return sum(os.path.getsize(os.path.join(data_dir, f)) for f in os.listdir(data_dir)
               if f.startswith("tsunagu.db"))


def wait_for_fold(data_dir, newer_than):
    """Waits until a segment newer than `newer_than` is the only one left: every older segment
    has been folded into the checkpoint and deleted. Returns its sequence number."""
    deadline = time.monotonic() + FOLD_WAIT_S
    while time.monotonic() < deadline:
        segs = segments(data_dir)
        if len(segs) == 1 and segs[0] > newer_than:
            return segs[0]
        time.sleep(0.02)
    raise AssertionError(f"no fold past segment {newer_than} finished: segments {segments(data_dir)}"
                         f", files {sorted(os.listdir(data_dir))}")


def fetch_all(server, type_):
    """Every entity of `type_`, by id, read through paged queries; duplicates are an error."""
    out, offset, conn = {}, 0, server.connection()
    try:
        while True:
            r = server.request("GET", f"{ENTITIES}?type={type_}&limit=1000&offset={offset}",
                               conn=conn)
            if r.status != 200:
                raise AssertionError(f"query of {type_} at offset {offset}: {r!r}")
            page = r.json()
            for e in page:
                if e["id"] in out:
                    raise AssertionError(f"{e['id']} returned twice")
                out[e["id"]] = e
            if len(page) < 1000:
                return out
            offset += 1000
    finally:
        conn.close()


def lamp(i, version):
    return {"id": f"urn:ngsi-ld:Lamp:{i}", "type": "Lamp",
            "version": {"type": "Property", "value": version},
            "pad": {"type": "Property", "value": f"{i}-{version}-".ljust(PAD, "x")}}


class Folding(unittest.TestCase):
    """A few thousand entities created and PATCHed in phases, each of which must end in a fold;
    then SIGTERM and a restart that must read every entity's latest state."""

    PHASES = 3
    PER_PHASE = 1000
    WORKERS = 8

    def setUp(self):
        self.server = Server(args=CHECKPOINT)
        self.server.start()
        self.data_dir = self.server.data_dir

    def tearDown(self):
        self.server.stop(signal.SIGKILL)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def patch_all(self, server, versions, ids):
        """PATCHes `ids` (to their next version) from several connections, so commits group."""
        errors = []

        def work(w):
            conn = server.connection()
            try:
                for i in ids[w::self.WORKERS]:
                    v = versions[i] + 1
                    body = {k: lamp(i, v)[k] for k in ("version", "pad")}
                    r = server.request("PATCH", f"{ENTITIES}/urn:ngsi-ld:Lamp:{i}/attrs", body,
                                       JSON, conn=conn)
                    if r.status != 204:
                        errors.append(f"PATCH Lamp:{i} to {v}: {r!r}")
                        return
                    versions[i] = v  # each id belongs to one worker
            finally:
                conn.close()

        threads = [threading.Thread(target=work, args=(w,)) for w in range(self.WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    def test_folds_then_restart_reads_the_latest_state(self):
        server, versions, deleted = self.server, {}, set()
        newest = segments(self.data_dir)[-1]
        rows_before = checkpoint_rows(self.data_dir)
        for phase in range(self.PHASES):
            first = phase * self.PER_PHASE
            new = list(range(first, first + self.PER_PHASE))
            for start in range(0, len(new), 100):
                batch = [lamp(i, 0) for i in new[start:start + 100]]
                r = server.request("POST", BATCH_CREATE, batch, JSON)
                self.assertEqual(r.status, 201, r)
            versions.update({i: 0 for i in new})
            # This phase's entities once, and every earlier entity once more.
            self.patch_all(server, versions, sorted(versions))
            if phase == self.PHASES - 1:
                for i in range(0, first, 50):  # deletes of rows already in the checkpoint
                    r = server.request("DELETE", f"{ENTITIES}/urn:ngsi-ld:Lamp:{i}")
                    self.assertEqual(r.status, 204, r)
                    deleted.add(i)
            # More than 2 MiB was logged since the last fold finished: at least one rotation,
            # whose fold must finish and delete every older segment.
            newest = wait_for_fold(self.data_dir, newest)
            rows = checkpoint_rows(self.data_dir)
            print(f"\n  [checkpoint] phase {phase}: newest segment {newest}, checkpoint rows "
                  f"{rows}, checkpoint files {checkpoint_bytes(self.data_dir)} bytes",
                  file=sys.stderr)
            self.assertGreater(rows, rows_before, "the fold added no entity to tsunagu.db")
            rows_before = rows
        self.assertGreaterEqual(newest, 1 + self.PHASES, "fewer folds than phases")

        self.assertEqual(server.stop(), 0, "exit code after SIGTERM:\n" + server.read_log())
        self.assertEqual(len(segments(self.data_dir)), 1,
                         f"segments after a graceful stop: {sorted(os.listdir(self.data_dir))}")
        newest = segments(self.data_dir)[0]
        path = os.path.join(self.data_dir, f"changes-{newest:012d}.log")
        self.assertEqual(valid_prefix(path, newest), os.path.getsize(path),
                         "a graceful stop leaves the newest segment without old records")
        self.server = server = Server(data_dir=self.data_dir, args=CHECKPOINT)
        server.start(timeout=60)
        got = fetch_all(server, "Lamp")
        problems = []
        for i, v in sorted(versions.items()):
            eid = f"urn:ngsi-ld:Lamp:{i}"
            if i in deleted:
                if eid in got:
                    problems.append(f"{eid} was deleted but is back: {got[eid]!r:.120}")
                continue
            if eid not in got:
                problems.append(f"{eid} (version {v}) is missing")
            elif got[eid] != lamp(i, v):
                problems.append(f"{eid}: expected version {v}, got {got[eid]!r:.160}")
        extra = set(got) - {f"urn:ngsi-ld:Lamp:{i}" for i in versions}
        self.assertEqual(problems[:20], [], f"{len(problems)} problems")
        self.assertEqual(extra, set())
        self.assertEqual(len(got), len(versions) - len(deleted))


WORKERS = 6


def counter(eid, label):
    return counter_entity(eid, label, {"pad": {"type": "Property", "value": label.ljust(PAD, "p")}})


class KillDuringFolds(OneDataDir):
    """kill -9 under write load, at a moment when a fold has finished during the load and
    (when the moment can be caught) another one is in progress; three times on the same data."""

    CYCLES = 3
    LOAD_LIMIT_S = 30      # gives up waiting for a fold under load (then fails)
    MID_FOLD_WAIT_S = 3.0  # how long to try to kill while a fold is in progress

    SERVER_ARGS = CHECKPOINT

    def load_then_kill(self, server, ledger, tag):
        """Runs the load until a fold of segments written under it has finished, then kills the
        server, preferably while the next fold is in progress. Returns whether it was."""
        newest_at_start = segments(self.data_dir)[-1]
        load = Load(server, ledger, tag, counter).start()
        folded_at = None
        mid_fold = False
        deadline = time.monotonic() + self.LOAD_LIMIT_S
        try:
            while time.monotonic() < deadline and not load.errors:
                segs = segments(self.data_dir)
                if folded_at is None and segs and segs[0] > newest_at_start:
                    folded_at = time.monotonic()  # everything up to the start is folded
                if folded_at is not None:
                    if len(segs) > 1:  # rotated, fold not finished: kill now
                        mid_fold = True
                        break
                    if time.monotonic() - folded_at > self.MID_FOLD_WAIT_S:
                        break
                time.sleep(0.005)
        finally:
            server.kill()
            load.finish()
        self.assertEqual(load.errors, [], "requests failed while the server was up")
        self.assertIsNotNone(folded_at, f"no fold finished under load within {self.LOAD_LIMIT_S}"
                             f" s: segments {segments(self.data_dir)}")
        self.assertEqual(server.proc.returncode, -signal.SIGKILL)
        return mid_fold

    def verify(self, server, ledger):
        """Every acknowledged write is there, nothing is half-applied, nothing unsent appeared;
        what the restarted server holds (read through paged queries) becomes the baseline."""
        got = fetch_all(server, "Counter")
        known = set(ledger.acked) | ledger.pending_creates
        problems = [f"{eid} was never sent" for eid in sorted(set(got) - known)]
        problems += reconcile(ledger, lambda eid: (got.get(eid), None), counter)
        self.assertEqual(problems[:20], [], f"{len(problems)} problems")

    def test_kill_9_during_folds_three_times(self):
        ledger = Ledger(WORKERS)
        server = self.start_server()
        reused_kills = 0
        for cycle in range(self.CYCLES):
            ledger.acks = 0
            mid_fold = self.load_then_kill(server, ledger, f"k{cycle}")
            # A rotation writes over the spare (a folded segment): then the newest segment holds
            # the old records after its own, which the restart must not read as its own.
            newest = segments(self.data_dir)[-1]
            path = os.path.join(self.data_dir, f"changes-{newest:012d}.log")
            stale = os.path.getsize(path) - valid_prefix(path, newest)
            reused_kills += stale > 0
            print(f"\n  [checkpoint] kill #{cycle + 1}: {ledger.acks} writes acknowledged, "
                  f"{len(ledger.acked)} entities, killed {'during' if mid_fold else 'between'} "
                  f"folds, segments left {segments(self.data_dir)}, {stale} bytes after the "
                  f"newest segment's records", file=sys.stderr)
            self.assertGreater(ledger.acks, 0)
            server = self.start_server()
            self.verify(server, ledger)
        self.assertGreater(reused_kills, 0, "no kill hit a segment written over a spare")
        self.assertEqual(server.stop(), 0, "exit code after SIGTERM:\n" + server.read_log())
        self.assertEqual(len(segments(self.data_dir)), 1,
                         f"segments after a graceful stop: {sorted(os.listdir(self.data_dir))}")
        newest = segments(self.data_dir)[0]
        path = os.path.join(self.data_dir, f"changes-{newest:012d}.log")
        self.assertEqual(valid_prefix(path, newest), os.path.getsize(path),
                         "a graceful stop leaves the newest segment without old records")


if __name__ == "__main__":
    unittest.main()
