"""The load scenarios (docs/benchmarks.md): what each preloads, which requests its pool file
holds, which statuses it expects and which baseline its rate is compared with.

A pool is a list of (method, path, body) requests that bench/lua/requests.lua cycles over;
"{{N}}" in a path or body becomes a token unique per request (for creates)."""

import random
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Optional

from . import entities as E

API = "/ngsi-ld/v1"
SMALL = 10_000            # entities preloaded for S2, S3, S6
QUERY_SIZES = [1_000, 10_000, 100_000]
GEO_SIZES = [10_000, 100_000]
POOL_LINES = 1_000        # distinct requests in pools that do not cycle over ids
NEAR_METRES = 500
WITHIN_KM = 1.0
DEVICE = E.device_id(7)   # exists from 1,000 entities on (one device per 100 entities)


@dataclass
class Scenario:
    key: str                  # what --only selects: L0, L0b, S1, ...
    label: str                # the table's first column
    server: str               # "tsunagu" or "null"
    pool: Callable            # (Context) -> [(method, path, body)]
    expect: tuple = (200,)    # statuses the first request must get before the load starts
    preload: int = 0          # data-set entities in the server's data dir
    baseline: Optional[str] = None   # "L0", "L0b", "L0b-kv"; None for baselines
    per_request: int = 1      # entities per request (S8: rate reported as entities/s)
    null_body: Callable = None       # (Context) -> body bytes of the null server (L0b)
    provides: Optional[str] = None   # the baseline this row is (L0, L0b, L0b-kv)
    count: bool = False       # a query: report how many entities its first requests match
    writes: bool = False      # changes the data: each connection count gets a fresh server


def q_path(params):
    return API + "/entities?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote,
                                                         safe="")


def query(q):
    return q_path({"type": E.QUERY_TYPE, "q": q, "limit": 100})


def shuffled_ids(size, seed):
    ids = E.dataset_ids(size)
    random.Random(seed).shuffle(ids)
    return ids


def entity_path(entity_id, suffix=""):
    return f"{API}/entities/{urllib.parse.quote(entity_id, safe=':')}{suffix}"


# Pools. Each takes the run context (unused by most) and returns the requests.

def pool_null(ctx):
    return [("GET", "/", "")]


def pool_create(ctx):
    rng = random.Random(11)
    out = []
    for _ in range(POOL_LINES):
        t = rng.choice(E.TYPES)
        body = E.random_entity_json(rng, f"urn:ngsi-ld:{t}:s1-{{{{N}}}}", t, rng.randrange(100))
        out.append(("POST", API + "/entities", body))
    return out


def pool_patch_one(ctx):
    rng = random.Random(12)
    return [("PATCH", entity_path(i, "/attrs/dissolvedOxygen"),
             E.dumps({"value": round(rng.uniform(E.DO_MIN, E.DO_MAX), 2)}))
            for i in shuffled_ids(SMALL, 2)]


def pool_patch_three(ctx):
    rng = random.Random(13)
    return [("PATCH", entity_path(i, "/attrs"), E.dumps(E.attribute_values(rng)))
            for i in shuffled_ids(SMALL, 3)]


def pool_retrieve(options):
    suffix = "?options=" + options if options else ""
    return lambda ctx: [("GET", entity_path(i, suffix), "") for i in shuffled_ids(SMALL, 6)]


def pool_batch(n):
    def build(ctx):
        rng = random.Random(14 + n)
        out = []
        for _ in range(max(20, 4000 // n)):
            parts = []
            for _ in range(n):
                t = rng.choice(E.TYPES)
                parts.append(E.random_entity_json(rng, f"urn:ngsi-ld:{t}:s8-{{{{N}}}}", t,
                                                  rng.randrange(100)))
            out.append(("POST", API + "/entityOperations/upsert", "[" + ",".join(parts) + "]"))
        return out
    return build


def pool_fixed(path):
    return lambda ctx: [("GET", path, "")]


def near_path(lon, lat):
    return q_path({"type": E.QUERY_TYPE, "georel": f"near;maxDistance=={NEAR_METRES}",
                   "geometry": "Point", "coordinates": E.dumps([lon, lat]), "limit": 100})


def within_path(lon, lat):
    dlon = WITHIN_KM / E.KM_PER_DEG_LON
    dlat = WITHIN_KM / E.KM_PER_DEG_LAT
    ring = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]
    ring = [[round(x, 6), round(y, 6)] for x, y in ring]
    return q_path({"type": E.QUERY_TYPE, "georel": "within", "geometry": "Polygon",
                   "coordinates": E.dumps([ring]), "limit": 100})


def pool_geo(make):
    def build(ctx):
        rng = random.Random(15)
        return [("GET", make(*E.random_point(rng)), "") for _ in range(POOL_LINES)]
    return build


def all_scenarios(query_sizes=QUERY_SIZES, geo_sizes=GEO_SIZES):
    """Every scenario, in report order."""
    s = [
        Scenario("L0", "L0 null handler, 204", "null", pool_null, expect=(204,), provides="L0"),
        Scenario("L0b", "L0b null handler, body as S6 normalized", "null", pool_null,
                 null_body=lambda ctx: ctx.s6_bytes(""), provides="L0b"),
        Scenario("L0b", "L0b null handler, body as S6 keyValues", "null", pool_null,
                 null_body=lambda ctx: ctx.s6_bytes("keyValues"), provides="L0b-kv"),
        Scenario("S1", "S1 create entity", "tsunagu", pool_create, expect=(201,), baseline="L0",
                 writes=True),
        Scenario("S2", "S2 PATCH 1 attribute", "tsunagu", pool_patch_one, expect=(204,),
                 preload=SMALL, baseline="L0", writes=True),
        Scenario("S3", "S3 PATCH 3 attributes", "tsunagu", pool_patch_three, expect=(204,),
                 preload=SMALL, baseline="L0", writes=True),
        Scenario("S6", "S6 retrieve by id, normalized", "tsunagu", pool_retrieve(""),
                 preload=SMALL, baseline="L0b"),
        Scenario("S6", "S6 retrieve by id, keyValues", "tsunagu", pool_retrieve("keyValues"),
                 preload=SMALL, baseline="L0b-kv"),
    ]
    for n in (20, 100):
        s.append(Scenario("S8", f"S8 batch upsert x{n} (entities/s)", "tsunagu", pool_batch(n),
                          expect=(201,), baseline="L0", per_request=n, writes=True))
    variants = [
        ("S4", "S4 q broad", "dissolvedOxygen>8"),
        ("S4", "S4 q selective", "dissolvedOxygen<4.08"),
        ("S5", "S5 q one device", f'refDevice=="{DEVICE}"'),
        ("S5", "S5 q all but one device", f'refDevice!="{DEVICE}"'),
    ]
    for key, label, q in variants:
        for n in query_sizes:
            s.append(Scenario(key, f"{label} {q}", "tsunagu", pool_fixed(query(q)),
                              preload=n, baseline="L0", count=True))
    for n in geo_sizes:
        s.append(Scenario("S10", f"S10 near;maxDistance=={NEAR_METRES}", "tsunagu",
                          pool_geo(near_path), preload=n, baseline="L0", count=True))
        s.append(Scenario("S10", f"S10 within {WITHIN_KM:g} km square", "tsunagu",
                          pool_geo(within_path), preload=n, baseline="L0", count=True))
    return s
