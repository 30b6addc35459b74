"""Benchmark entities: the template entity (bench/fixtures/template-entity.json) with a unique id,
a type from a small set, random values and a random location in a 20 km x 20 km box around the
template's point. Everything is seeded, so two runs load the same data.

Data set layout, which the query scenarios rely on (docs/benchmarks.md):
  - entity i has id urn:ngsi-ld:<type>:<tag>-<i:07d>, and type TYPES[random] (uniform);
  - refDevice is urn:ngsi-ld:Device:probe-<i // 100:04d>: one device per 100 entities;
  - dissolvedOxygen is uniform in [4, 12), so `dissolvedOxygen>8` matches about 50 % and
    `dissolvedOxygen<4.08` about 1 % of a type's entities;
  - location is uniform over the box (400 km^2)."""

import copy
import json
import math
import os
import random
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE_PATH = os.path.join(HERE, "..", "fixtures", "template-entity.json")

TYPES = ["WaterQualityObserved", "RiverWaterQuality", "LakeWaterQuality", "GroundwaterQuality"]
QUERY_TYPE = TYPES[0]
ENTITIES_PER_DEVICE = 100
DO_MIN, DO_MAX = 4.0, 12.0
BOX_HALF_KM = 10.0
STATIONS = ["Kawabe river intake", "Kinu weir", "Tone bridge", "Omoi pond", "Nikko canal"]

with open(TEMPLATE_PATH, encoding="utf-8") as f:
    TEMPLATE = json.load(f)
CENTER = TEMPLATE["location"]["value"]["coordinates"]  # [lon, lat]
KM_PER_DEG_LAT = 111.32
KM_PER_DEG_LON = KM_PER_DEG_LAT * math.cos(math.radians(CENTER[1]))
HALF_LAT = BOX_HALF_KM / KM_PER_DEG_LAT
HALF_LON = BOX_HALF_KM / KM_PER_DEG_LON


def device_id(n):
    return f"urn:ngsi-ld:Device:probe-{n:04d}"


def random_point(rng):
    """A [lon, lat] uniform over the 20 km x 20 km box."""
    return [round(CENTER[0] + rng.uniform(-HALF_LON, HALF_LON), 6),
            round(CENTER[1] + rng.uniform(-HALF_LAT, HALF_LAT), 6)]


def observed_at(rng):
    return f"2026-04-01T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"


def _entity_format():
    """The template as a str.format pattern: every value the generator varies is a {field}."""
    e = copy.deepcopy(TEMPLATE)
    slot = lambda name: f"@@{name}@@"
    e["id"], e["type"] = slot("id"), slot("type")
    e["dissolvedOxygen"]["value"] = slot("do")
    e["temperature"][0]["value"], e["temperature"][1]["value"] = slot("ts"), slot("tb")
    e["turbidity"]["value"] = slot("tu")
    e["conductivity"][0]["value"], e["conductivity"][1]["value"] = slot("cs"), slot("cb")
    e["pH"]["value"] = slot("ph")
    for name in ("dissolvedOxygen", "turbidity", "pH"):
        e[name]["observedAt"] = slot("t")
    for name in ("temperature", "conductivity"):
        for inst in e[name]:
            inst["observedAt"] = slot("t")
    e["stationName"]["value"] = slot("station")
    e["refDevice"]["object"] = slot("device")
    e["location"]["value"]["coordinates"] = [slot("lon"), slot("lat")]
    text = dumps(e).replace("{", "{{").replace("}", "}}")
    # Quoted slots hold strings (they stay quoted); numbers lose their quotes.
    for name in ("do", "ts", "tb", "tu", "cs", "cb", "ph", "lon", "lat"):
        text = text.replace(f'"@@{name}@@"', "{" + name + "}")
    return re.sub(r"@@(\w+)@@", r"{\1}", text)


def random_entity_json(rng, entity_id, entity_type, device):
    """Minified JSON text of the template with `entity_id`, `entity_type`, refDevice `device`
    and random values. `entity_id` is inserted as is (it may be a placeholder)."""
    surface = round(rng.uniform(5.0, 25.0), 1)
    cond = rng.randrange(200, 800)
    lon, lat = random_point(rng)
    return ENTITY_FORMAT.format(
        id=entity_id, type=entity_type, t=observed_at(rng),
        do=round(rng.uniform(DO_MIN, DO_MAX), 2), ts=surface,
        tb=round(surface - rng.uniform(0.0, 4.0), 1), tu=round(rng.uniform(0.5, 40.0), 1),
        cs=cond, cb=cond + rng.randrange(0, 80), ph=round(rng.uniform(6.0, 8.6), 2),
        station=f"{rng.choice(STATIONS)} {rng.randrange(1, 100)}", device=device_id(device),
        lon=lon, lat=lat)


def dataset_entity(i, tag="p", seed=1):
    """JSON text of entity i of the preloaded data set (deterministic for (i, seed))."""
    rng = random.Random(seed * 1_000_003 + i)
    t = rng.choice(TYPES)
    return random_entity_json(rng, f"urn:ngsi-ld:{t}:{tag}-{i:07d}", t, i // ENTITIES_PER_DEVICE)


def dataset_ids(count, tag="p", seed=1):
    """Ids of the first `count` data-set entities, in order (cheaper than building them)."""
    ids = []
    for i in range(count):
        rng = random.Random(seed * 1_000_003 + i)
        ids.append(f"urn:ngsi-ld:{rng.choice(TYPES)}:{tag}-{i:07d}")
    return ids


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def attribute_values(rng):
    """Fresh values for the three attributes of the S3 update (normalized fragment)."""
    t = observed_at(rng)
    return {
        "dissolvedOxygen": {"type": "Property", "value": round(rng.uniform(DO_MIN, DO_MAX), 2),
                            "unitCode": "M1", "observedAt": t},
        "turbidity": {"type": "Property", "value": round(rng.uniform(0.5, 40.0), 1),
                      "unitCode": "NTU", "observedAt": t},
        "pH": {"type": "Property", "value": round(rng.uniform(6.0, 8.6), 2), "observedAt": t},
    }


ENTITY_FORMAT = _entity_format()
