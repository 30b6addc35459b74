"""A write load that can be checked after a crash, shared by the durability suites
(tests/integration/test_durability.py, test_checkpoint.py).

Client threads create "Counter" entities and PATCH them: either "counter" alone, or "a" and "b"
together in one request (so they must always be equal). A Ledger records, per entity, the last
acknowledged and the last sent value of each; after a restart, reconcile() checks that every
acknowledged write is there, that nothing is half-applied, and makes what the server holds the
new baseline. Standard library only."""

import http.client
import random
import threading

ENTITIES = "/ngsi-ld/v1/entities"
JSON = {"Content-Type": "application/json"}
ZERO = {"counter": 0, "pair": 0}


def counter_entity(eid, label, extra):
    """A fresh Counter; `extra` adds attributes that never change after the create."""
    entity = {
        "id": eid, "type": "Counter",
        "counter": {"type": "Property", "value": 0},
        # "a" and "b" only ever change together (one PATCH .../attrs): they must stay equal.
        "a": {"type": "Property", "value": 0},
        "b": {"type": "Property", "value": 0},
        "label": {"type": "Property", "value": label},
    }
    entity.update(extra)
    return entity


class Ledger:
    """What the clients know: per entity, the last acknowledged and the last sent value of
    "counter" and of the pair "a"/"b"; creates acknowledged or still in flight."""

    def __init__(self, workers):
        self.lock = threading.Lock()
        self.owned = {w: [] for w in range(workers)}  # worker -> acknowledged entity ids
        self.acked = {}  # id -> {"counter": v, "pair": v}
        self.sent = {}   # id -> {"counter": v, "pair": v}
        self.labels = {}
        self.pending_creates = set()  # sent, no 201 seen
        self.acks = 0  # acknowledged writes since the caller last reset it

    def entities(self):
        return len(self.acked)


class Load:
    """One client thread per worker of the ledger, creating and PATCHing Counters until stopped
    or until the server goes away. `make_entity(eid, label)` gives the body of a create."""

    def __init__(self, server, ledger, tag, make_entity):
        self.server, self.ledger, self.tag = server, ledger, tag
        self.make_entity = make_entity
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(w,)) for w in ledger.owned]
        self.errors = []

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def run(self, w):
        led, rng = self.ledger, random.Random(f"{self.tag}-{w}")
        conn = self.server.connection(timeout=30)
        n = 0
        try:
            while not self.stop.is_set():
                mine = led.owned[w]
                if not mine or rng.random() < 0.25:
                    n += 1
                    label = f"{self.tag}-w{w}-{n}"
                    eid = f"urn:ngsi-ld:Counter:{label}"
                    with led.lock:
                        led.pending_creates.add(eid)
                        led.labels[eid] = label
                    r = self.server.request("POST", ENTITIES, self.make_entity(eid, label), JSON,
                                            conn=conn)
                    if r.status != 201:
                        self.errors.append(f"create {eid}: {r!r}")
                        return
                    with led.lock:
                        led.pending_creates.discard(eid)
                        led.acked[eid] = dict(ZERO)
                        led.sent[eid] = dict(ZERO)
                        led.acks += 1
                        mine.append(eid)
                    continue
                eid = rng.choice(mine)
                key = "pair" if rng.random() < 0.25 else "counter"
                with led.lock:
                    v = led.sent[eid][key] + 1
                    led.sent[eid][key] = v
                if key == "counter":
                    r = self.server.request("PATCH", f"{ENTITIES}/{eid}/attrs/counter",
                                            {"type": "Property", "value": v}, JSON, conn=conn)
                else:
                    r = self.server.request("PATCH", f"{ENTITIES}/{eid}/attrs",
                                            {"a": {"type": "Property", "value": v},
                                             "b": {"type": "Property", "value": v}}, JSON,
                                            conn=conn)
                if r.status != 204:
                    self.errors.append(f"patch {eid} {key}={v}: {r!r}")
                    return
                with led.lock:
                    led.acked[eid][key] = v
                    led.acks += 1
        except (OSError, http.client.HTTPException):
            return  # the server is gone: whatever was in flight stays unacknowledged
        finally:
            conn.close()


def check_counter(eid, got, expected, acked, sent):
    """Problems of one entity read back: the members and unchanging attributes of `expected`,
    well-formed integer counter/a/b, each within [acknowledged, sent], and a == b."""
    if set(got) != set(expected):
        return [f"{eid}: members {sorted(got)} instead of {sorted(expected)}"]
    fixed = [k for k in expected if k not in ("counter", "a", "b")]
    problems = [f"{eid}: {k} = {got[k]!r:.80}, expected {expected[k]!r:.80}"
                for k in fixed if got[k] != expected[k]]
    for k in ("counter", "a", "b"):
        if set(got[k]) != {"type", "value"} or got[k]["type"] != "Property" or \
                not isinstance(got[k]["value"], int):
            problems.append(f"{eid}: {k} is malformed: {got[k]!r}")
    if problems:
        return problems
    c, a, b = got["counter"]["value"], got["a"]["value"], got["b"]["value"]
    if not acked["counter"] <= c <= sent["counter"]:
        problems.append(f"{eid}: counter {c} outside [acknowledged {acked['counter']}, "
                        f"sent {sent['counter']}]")
    if a != b:
        problems.append(f"{eid}: a={a} b={b}: a PATCH of both was half applied")
    if not acked["pair"] <= a <= sent["pair"]:
        problems.append(f"{eid}: a/b {a} outside [acknowledged {acked['pair']}, "
                        f"sent {sent['pair']}]")
    return problems


def reconcile(ledger, lookup, make_entity):
    """Checks what a restarted server holds against the ledger and returns the problems; then
    makes it the ledger's baseline (a write sent but not acknowledged may or may not be there).
    `lookup(eid)` returns (entity or None when it does not exist, problem text or None)."""
    problems = []
    for eid in sorted(ledger.acked):
        got, problem = lookup(eid)
        if got is None:
            problems.append(f"acknowledged create {eid} lost" + (f": {problem}" if problem else ""))
            continue
        problems += check_counter(eid, got, make_entity(eid, ledger.labels[eid]),
                                  ledger.acked[eid], ledger.sent[eid])
        observed = {"counter": got["counter"]["value"], "pair": got["a"]["value"]}
        ledger.acked[eid], ledger.sent[eid] = dict(observed), dict(observed)
    for eid in sorted(ledger.pending_creates):
        got, problem = lookup(eid)
        if problem:
            problems.append(f"unacknowledged create {eid}: {problem}")
        if got is None:
            continue
        problems += check_counter(eid, got, make_entity(eid, ledger.labels[eid]), ZERO, ZERO)
        ledger.acked[eid], ledger.sent[eid] = dict(ZERO), dict(ZERO)
        ledger.owned[int(eid.rsplit("-w", 1)[1].split("-")[0])].append(eid)
    ledger.pending_creates.clear()
    return problems
