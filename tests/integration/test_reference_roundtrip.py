"""Every reference example (Smart Data Models, DCAT-AP, ETSI GS CIM 009 Annex C) through the real
server: create it, read it back normalized and as keyValues, compare semantically with the input
and with the keyValues example. Remote @context URLs are served by a local ContextServer; the
NGSI-LD core context URLs are left alone (the server must resolve them with no network).

Run: python3 -m unittest tests/integration/test_reference_roundtrip.py"""

import glob
import json
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server, link_header  # noqa: E402
from integration_support import (  # noqa: E402
    ENTITIES, REFERENCE, ContextTree, assert_problem, canonical_entity, describe, diff_entities,
    is_core_context, rewrite_context)

SDM = os.path.join(REFERENCE, "smart-data-models")
ETSI = os.path.join(REFERENCE, "etsi-examples")

# ETSI examples: normalized file -> keyValues file (None when the spec gives none).
ETSI_EXAMPLES = {
    "Entity-example.json": None,
    "OffStreetParking_C2.3.json": "OffStreetParking_keyValues_C2.3.json",
    "Vehicle_C2.2.json": "Vehicle_keyValues_C2.2.json",
    "Vehicle_MultiAttribute_C2.2.json": None,
}

# Normalized examples that are not valid NGSI-LD. Creating them must fail with BadRequestData
# (ETSI GS CIM 009 §5.6.1.4: an Entity that is not well formed is rejected) naming one of the
# offending attributes. When a minimal repair exists, the repaired entity then takes the round
# trip so the rest of the example is still covered.
def _location_as_geoproperty(entity):
    # "location" is defined by the core @context as a GeoProperty (§4.7.1, §5.2.7) and the core
    # context cannot be overridden; the Smart Data Models generator wrote it as a Property
    # (smart-data-models/data-models issue #58).
    entity["location"]["type"] = "GeoProperty"


INVALID_NORMALIZED = {
    # Relationships given with "value" instead of "object" (§4.5.3, §5.2.6: a Relationship has
    # an "object", a URI or array of URIs), one of them the empty string, one not a URI.
    "smart-data-models/DCAT-AP/Catalogue": (
        ("catalog", "creator", "dataset", "hasPart", "isPartOf", "record"), None),
    "smart-data-models/DCAT-AP/Distribution": (("location",), _location_as_geoproperty),
    "smart-data-models/Device/DeviceMeasurement": (("location",), _location_as_geoproperty),
}

# The keyValues examples of Smart Data Models are hand-written siblings of the normalized ones
# and do not always say the same thing. Every field where the keyValues example is not what the
# simplified representation (§4.5.4) of the normalized example is, is listed here with the
# reason; for those fields the expectation is the simplified representation of the normalized
# input, for every other field it is the keyValues example itself. test_keyvalues_table_is_exact
# keeps this table honest.
#
# DATETIME: the normalized example gives the Property value as a JSON-LD value object
#   {"@type": "DateTime", "@value": "..."}; the simplified representation of a Property is its
#   value (§4.5.4), so the object stays an object; the example flattened it to the string.
# SYSTEM: "modifiedAt" is a system-generated, read-only member (§5.2.2, §4.8); a client-given
#   "modifiedAt" attribute is not stored as an attribute, so it is absent from both views.
# UPSTREAM: the two upstream example files simply disagree (different value, extra or missing
#   field, different id); the broker can only return what it was given.
DATETIME, SYSTEM, UPSTREAM = "DateTime value object", "system member", "upstream mismatch"

KV_DOCUMENTED = {
    "smart-data-models/Building/Building": {"address": UPSTREAM},
    # The DCAT-AP Dataset keyValues example describes another entity (another id).
    "smart-data-models/DCAT-AP/Dataset": {
        f: UPSTREAM for f in (
            "accrualPeriodicity", "creator", "hasVersion", "id", "identifier", "isReferencedBy",
            "isVersionOf", "issued", "landingPage", "language", "modified", "otherIdentifier",
            "page", "provenance", "publisher", "qualifiedAttribution", "qualifiedRelation",
            "relation", "releaseDate", "sample", "source", "spatial",
            "spatialResolutionInMeters", "version", "versionInfo", "versionNotes",
            "wasGeneratedBy")},
    "smart-data-models/DCAT-AP/Distribution": {
        "issued": DATETIME,
        "modified": UPSTREAM,  # also a DateTime object, and another date
        "compressFormat": UPSTREAM, "compressionFormat": UPSTREAM, "dataProvider": UPSTREAM,
        "documentation": UPSTREAM, "page": UPSTREAM, "temporalResolution": UPSTREAM},
    "smart-data-models/Device/Device": {
        "dateFirstUsed": DATETIME,
        "depth": UPSTREAM, "direction": UPSTREAM, "distance": UPSTREAM},
    "smart-data-models/Device/DeviceMeasurement": {"owner": UPSTREAM},
    "smart-data-models/Environment/AirQualityObserved": {
        "charge": UPSTREAM, "pm4": UPSTREAM, "pressure": UPSTREAM, "tpc": UPSTREAM,
        "tsp": UPSTREAM, "windDirection": UPSTREAM},
    "smart-data-models/IssueTracking/service_requests": {
        "requested_datetime": DATETIME, "updated_datetime": DATETIME,
        "expected_datetime": UPSTREAM,  # also a DateTime object; "...-08:00Z" vs "...-08:00"
        "id": UPSTREAM},
    "smart-data-models/KeyPerformanceIndicator/KeyPerformanceIndicator": {
        "modifiedAt": SYSTEM,
        "address": UPSTREAM,
        "dateNextCalculation": UPSTREAM},  # also a DateTime object, and a date-only string
    "smart-data-models/Parking/OffStreetParking": {
        "accessModified": DATETIME, "observationDateTime": DATETIME,
        "address": UPSTREAM, "extCategory": UPSTREAM, "outOfServiceSlotNumber": UPSTREAM},
    "smart-data-models/Streetlighting/Streetlight": {
        "dateLastLampChange": DATETIME, "observationDateTime": DATETIME,
        "deviceInfo": UPSTREAM, "lifetimeMotionDetected": UPSTREAM,
        "lifetimePowerConsumption": UPSTREAM, "municipalityInfo": UPSTREAM},
    "smart-data-models/Transportation/TrafficFlowObserved": {
        "dateObservedFrom": DATETIME, "dateObservedTo": DATETIME,
        "address": UPSTREAM,
        "dateObserved": UPSTREAM},  # also a DateTime object; the example gives an interval
    "smart-data-models/Transportation/Vehicle": {
        "observationDateTime": DATETIME,
        "deviceBatteryStatus": UPSTREAM, "vehicleAltitude": UPSTREAM},
    "smart-data-models/WasteManagement/WasteContainer": {
        "binLoggedTime": UPSTREAM},  # also a DateTime object, and another date
    "smart-data-models/Weather/WeatherObserved": {"dateObserved": DATETIME},
    "smart-data-models/IssueTracking/services": {},
    "smart-data-models/Parking/ParkingSpot": {},
    "etsi-examples/OffStreetParking_C2.3": {},
    "etsi-examples/Vehicle_C2.2": {"schema:image": UPSTREAM},  # the example leaves it out
}

# The upstream keyValues file that is not JSON (a missing comma before "@context").
INVALID_JSON_KEYVALUES = "smart-data-models/PointOfInterest/PointOfInterest"

SYSTEM_MEMBERS = ("createdAt", "modifiedAt", "deletedAt")


class Fixture:
    """One reference example: its normalized body, its keyValues sibling, and names."""

    def __init__(self, key, normalized_path, keyvalues_path):
        self.key = key
        self.normalized_path = normalized_path
        self.keyvalues_path = keyvalues_path
        with open(normalized_path) as f:
            self.normalized = json.load(f)

    def keyvalues(self):
        if self.keyvalues_path is None or self.key == INVALID_JSON_KEYVALUES:
            return None
        with open(self.keyvalues_path) as f:
            return json.load(f)


def all_fixtures():
    out = []
    for path in sorted(glob.glob(os.path.join(SDM, "*", "*", "example-normalized.jsonld"))):
        d = os.path.dirname(path)
        key = os.path.relpath(d, REFERENCE)
        kv = os.path.join(d, "example.jsonld")
        out.append(Fixture(key, path, kv if os.path.exists(kv) else None))
    for name, kv in ETSI_EXAMPLES.items():
        key = "etsi-examples/" + os.path.splitext(name)[0]
        out.append(Fixture(key, os.path.join(ETSI, name), kv and os.path.join(ETSI, kv)))
    return out


def simplified(entity):
    """The simplified (keyValues) representation of a normalized entity, ETSI GS CIM 009 §4.5.4:
    each attribute replaced by its value (Property, GeoProperty), object (Relationship),
    languageMap (LanguageProperty), valueList/objectList (ListProperty/ListRelationship)."""
    out = {}
    for k, v in entity.items():
        if k in ("id", "type", "scope", "@context"):
            out[k] = v
        elif isinstance(v, list):
            out[k] = [simplified({"a": i})["a"] for i in v]
        elif isinstance(v, dict):
            kind = v.get("type")
            member = {"Relationship": "object", "LanguageProperty": "languageMap",
                      "ListProperty": "valueList", "ListRelationship": "objectList",
                      "VocabProperty": "vocab", "JsonProperty": "json"}.get(kind, "value")
            out[k] = v.get(member)
        else:
            out[k] = v
    return out


def merge_aliases(entity, inline_contexts):
    """Terms of an inline @context that map to one IRI name one attribute: JSON-LD expansion
    merges their values (JSON-LD 1.1 API §5.1.2), so the entity holds one multi-attribute, and
    compaction names it with the shortest, then lexicographically least, term (§4.3 inverse
    context / term selection)."""
    by_iri = {}
    for ctx in inline_contexts:
        for term, iri in ctx.items():
            if isinstance(iri, str) and term in entity:
                by_iri.setdefault(iri, []).append(term)
    out = dict(entity)
    for terms in by_iri.values():
        if len(terms) < 2:
            continue
        name = sorted(terms, key=lambda t: (len(t), t))[0]
        instances = []
        for t in terms:
            v = out.pop(t)
            instances.extend(v if isinstance(v, list) else [v])
        out[name] = instances
    return out


def expected_normalized(normalized):
    """What GET must return for a created normalized example (without @context)."""
    inline = [c for c in (normalized.get("@context") or []) if isinstance(c, dict)]
    out = {k: v for k, v in normalized.items() if k != "@context" and k not in SYSTEM_MEMBERS}
    return merge_aliases(out, inline)


def expected_keyvalues(fixture_key, keyvalues_example, expected_norm):
    """The keyValues example, with every documented field replaced by the simplified
    representation of the normalized input (see KV_DOCUMENTED)."""
    expected = {k: v for k, v in keyvalues_example.items() if k != "@context"}
    truth = simplified(expected_norm)
    for field in KV_DOCUMENTED.get(fixture_key, {}):
        if field in truth:
            expected[field] = truth[field]
        else:
            expected.pop(field, None)
    return expected


class ReferenceRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.contexts = ContextTree().__enter__()
        cls.server = Server().start()
        cls.fixtures = all_fixtures()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.contexts.__exit__(None, None, None)

    def link_url(self, fixture, rewritten):
        """The one URL a Link header can carry for this example's @context: its only domain
        context, or else a generated context document whose @context lists them all (nested
        remote contexts, JSON-LD 1.1 API §4.1.2 step 5.2)."""
        domain = [c for c in rewritten if not is_core_context(c)]
        if len(domain) == 1 and isinstance(domain[0], str):
            return domain[0]
        name = "composite/" + fixture.key.replace("/", "_") + ".jsonld"
        return self.contexts.write(name, {"@context": domain})

    def prepared(self, fixture):
        body = json.loads(json.dumps(fixture.normalized))
        ctx = body["@context"]
        body["@context"] = rewrite_context(ctx if isinstance(ctx, list) else [ctx],
                                           self.contexts)
        return body

    def round_trip(self, fixture, body, variant):
        """Creates `body` (variant "ld+json": @context in the body; "json+link": @context in a
        Link header) and checks both read views, then deletes the entity."""
        s = self.server
        link = self.link_url(fixture, body["@context"])
        eid = body["id"]
        path = ENTITIES + "/" + urllib.parse.quote(eid, safe=":")
        if variant == "ld+json":
            r = s.request("POST", ENTITIES, body, {"Content-Type": "application/ld+json"})
        else:
            plain = {k: v for k, v in body.items() if k != "@context"}
            r = s.request("POST", ENTITIES, plain,
                          {"Content-Type": "application/json", "Link": link_header(link)})
        self.assertEqual(r.status, 201, describe("POST", ENTITIES, r, body))
        self.assertEqual(r.header("location"), path, describe("POST", ENTITIES, r))
        try:
            want = expected_normalized(body)
            r = s.get(path, {"Accept": "application/ld+json", "Link": link_header(link)})
            self.assertEqual(r.status, 200, describe("GET", path, r))
            got = r.json()
            # §6.3.5: with application/ld+json the @context travels in the body, no Link.
            self.assertIn("@context", got, describe("GET", path, r))
            self.assertIsNone(r.header("link"), describe("GET", path, r))
            diff = diff_entities(canonical_entity(want), canonical_entity(got))
            self.assertFalse(diff, f"normalized round trip differs for {fixture.key} "
                                   f"({variant}):\n{diff}")

            # application/json: same entity, @context referenced by a Link header (§6.3.5).
            r = s.get(path, {"Accept": "application/json", "Link": link_header(link)})
            self.assertEqual(r.status, 200, describe("GET", path, r))
            self.assertNotIn("@context", r.json(), describe("GET", path, r))
            self.assertIn(link, r.header("link") or "", describe("GET", path, r))
            self.assertEqual(canonical_entity(r.json()), canonical_entity(got))

            kv_example = fixture.keyvalues()
            if kv_example is not None:
                kv_path = path + "?options=keyValues"
                r = s.get(kv_path, {"Accept": "application/ld+json", "Link": link_header(link)})
                self.assertEqual(r.status, 200, describe("GET", kv_path, r))
                got_kv = {k: v for k, v in r.json().items() if k != "@context"}
                want_kv = expected_keyvalues(fixture.key, kv_example, want)
                if "id" in KV_DOCUMENTED.get(fixture.key, {}):
                    want_kv["id"] = eid
                diff = diff_entities(want_kv, got_kv)
                self.assertFalse(diff, f"keyValues differs for {fixture.key} ({variant}):\n{diff}")
        finally:
            r = s.request("DELETE", path)
            self.assertEqual(r.status, 204, describe("DELETE", path, r))

    def run_all(self, variant):
        for fixture in self.fixtures:
            with self.subTest(fixture=fixture.key, variant=variant):
                body = self.prepared(fixture)
                invalid = INVALID_NORMALIZED.get(fixture.key)
                if invalid is not None:
                    names, repair = invalid
                    self.assert_rejected(fixture, body, names, variant)
                    if repair is None:
                        continue
                    repair(body)
                self.round_trip(fixture, body, variant)

    def assert_rejected(self, fixture, body, names, variant):
        s = self.server
        link = self.link_url(fixture, body["@context"])
        if variant == "ld+json":
            r = s.request("POST", ENTITIES, body, {"Content-Type": "application/ld+json"})
        else:
            plain = {k: v for k, v in body.items() if k != "@context"}
            r = s.request("POST", ENTITIES, plain,
                          {"Content-Type": "application/json", "Link": link_header(link)})
        problem = assert_problem(self, r, 400, "BadRequestData",
                                 context=describe("POST", ENTITIES, r, body))
        self.assertTrue(any(f"'{n}'" in problem["detail"] for n in names),
                        f"detail should name one of {names}: {problem['detail']}")
        g = s.get(ENTITIES + "/" + body["id"])
        self.assertEqual(g.status, 404, "a rejected create must leave nothing behind")

    def test_create_ld_json_and_read_back(self):
        self.run_all("ld+json")

    def test_create_json_with_link_and_read_back(self):
        self.run_all("json+link")

    def test_invalid_json_keyvalues_example_is_rejected(self):
        # The upstream PointOfInterest keyValues example is not JSON. §5.6.1.4 and the ETSI
        # conformance test TP/NGSI-LD/CI/Prov/E/001_02_01 (InvalidJson): 400 InvalidRequest.
        path = os.path.join(REFERENCE, INVALID_JSON_KEYVALUES, "example.jsonld")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        remote = "https://raw.githubusercontent.com/smart-data-models/dataModel.PointOfInterest/" \
                 "master/context.jsonld"
        text = text.replace(remote, self.contexts.url(remote[len("https://"):]))
        try:
            json.loads(text)
            self.fail("the fixture was expected to be invalid JSON")
        except json.JSONDecodeError as e:
            error = e
        r = self.server.request("POST", ENTITIES, text.encode(),
                                {"Content-Type": "application/ld+json"})
        problem = assert_problem(self, r, 400, "InvalidRequest", detail_has=("json",),
                                 context=describe("POST", ENTITIES, r, text))
        # The detail names where the JSON breaks: byte offset, character offset or line.
        positions = {str(error.pos), str(len(text[:error.pos].encode())), str(error.lineno)}
        numbers = set(re.findall(r"\d+", problem["detail"]))
        self.assertTrue(positions & numbers,
                        f"detail should give the position ({positions}): {problem['detail']}")
        eid = "urn:ngsi-ld:PointOfInterest:PointOfInterest-A-Concha-123456"
        self.assertEqual(self.server.get(ENTITIES + "/" + eid).status, 404)

    def test_keyvalues_table_is_exact(self):
        # Documentation check: every field listed in KV_DOCUMENTED really differs between the
        # keyValues example and the simplified normalized example, for the reason given, and
        # every other field agrees. Keeps the table from hiding a real server difference.
        for fixture in self.fixtures:
            kv = fixture.keyvalues()
            if kv is None or fixture.key in INVALID_NORMALIZED and \
                    INVALID_NORMALIZED[fixture.key][1] is None:
                continue
            with self.subTest(fixture=fixture.key):
                body = json.loads(json.dumps(fixture.normalized))
                if fixture.key in INVALID_NORMALIZED:
                    INVALID_NORMALIZED[fixture.key][1](body)
                truth = simplified(expected_normalized(body))
                example = {k: v for k, v in kv.items() if k != "@context"}
                documented = KV_DOCUMENTED.get(fixture.key)
                self.assertIsNotNone(documented, f"{fixture.key} missing from KV_DOCUMENTED")
                for field in sorted(set(truth) | set(example)):
                    differs = truth.get(field, "<absent>") != example.get(field, "<absent>")
                    self.assertEqual(differs, field in documented, f"{fixture.key}: {field}")
                    reason = documented.get(field)
                    if reason == DATETIME:
                        self.assertEqual(truth[field], {"@type": "DateTime",
                                                        "@value": example[field]}, field)
                    if reason == SYSTEM:
                        self.assertIn(field, SYSTEM_MEMBERS)


if __name__ == "__main__":
    unittest.main()
