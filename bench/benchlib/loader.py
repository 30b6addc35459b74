"""Preloading: the data set (benchlib/entities.py) sent as batch upserts of 1,000 entities over
one keep-alive connection, with the next body generated while the server works on the last."""

import http.client
import queue
import threading
import time

from . import entities
from .server import BenchError

BATCH = 1000
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"


def _bodies(first, count, batch, tag, seed, out):
    try:
        for start in range(first, first + count, batch):
            end = min(first + count, start + batch)
            parts = [entities.dataset_entity(i, tag, seed) for i in range(start, end)]
            out.put((end - start, "[" + ",".join(parts) + "]"))
    finally:
        out.put(None)


def preload(port, count, batch=BATCH, tag="p", seed=1, quiet=False, first=0):
    """Upserts data-set entities first..first+count-1; returns (seconds, entities/s). Raises
    BenchError when the server answers anything but 201/204."""
    if count <= 0:
        return 0.0, 0.0
    q = queue.Queue(maxsize=4)
    producer = threading.Thread(target=_bodies, args=(first, count, batch, tag, seed, q),
                                daemon=True)
    t0 = time.perf_counter()
    producer.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    done = 0
    try:
        while True:
            item = q.get()
            if item is None:
                break
            n, body = item
            conn.request("POST", UPSERT, body=body.encode(),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            if r.status not in (201, 204):
                raise BenchError(f"preload: upsert of {n} entities answered {r.status}: "
                                 f"{data[:500]!r}")
            done += n
    finally:
        conn.close()
    if done != count:
        raise BenchError(f"preload: sent {done} of {count} entities")
    seconds = time.perf_counter() - t0
    if not quiet:
        print(f"  preloaded {count:,} entities in {seconds:.1f} s "
              f"({count / seconds:,.0f} entities/s)", flush=True)
    return seconds, count / seconds
