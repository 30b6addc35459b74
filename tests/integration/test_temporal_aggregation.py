"""The temporal API checked against answers computed here, independently of the server: random
series (integers and decimals, out of order, with time-zone offsets in observedAt) are sent
through the temporal API, and every aggregation method over periods of minutes, hours, days and
calendar months, the time windows and lastN are compared with what this file computes from the
same series (docs/decisions.md, "Temporal", gives the readings: periods from timeAt or the
first instance, empty periods left out, the sample standard deviation).

Run: python3 -m unittest tests/integration/test_temporal_aggregation.py"""

import calendar
import datetime
import math
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

BASE = "/ngsi-ld/v1/temporal/entities"
UTC = datetime.timezone.utc
START = datetime.datetime(2025, 12, 20, tzinfo=UTC)


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_offset(t, rng):
    """The same instant written in a random time zone."""
    hours = rng.choice([-9, -5, 0, 1, 9])
    tz = datetime.timezone(datetime.timedelta(hours=hours))
    return t.astimezone(tz).isoformat()


def add_months(t, n):
    month = t.month - 1 + n
    year, month = t.year + month // 12, month % 12 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)


def periods(origin, duration, last):
    """[start, end) periods from origin, until one holds `last`."""
    kind, n = duration
    k = 0
    while True:
        if kind == "months":
            start, end = add_months(origin, n * k), add_months(origin, n * (k + 1))
        else:
            start, end = origin + k * n, origin + (k + 1) * n
        yield start, end
        if end > last:
            return
        k += 1


def aggregate(values, method):
    if method == "totalCount":
        return len(values)
    if method == "distinctCount":
        return len(set(values))
    if method == "sum":
        return sum(values)
    if method == "avg":
        return sum(values) / len(values)
    if method == "min":
        return min(values)
    if method == "max":
        return max(values)
    if method == "sumsq":
        return sum(v * v for v in values)
    if method == "stddev":
        if len(values) < 2:
            return 0
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    raise ValueError(method)


DURATIONS = {
    "PT15M": ("delta", datetime.timedelta(minutes=15)),
    "PT1H": ("delta", datetime.timedelta(hours=1)),
    "P1D": ("delta", datetime.timedelta(days=1)),
    "P1M": ("months", 1),
}
METHODS = ["totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq"]


class TemporalAggregation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        rng = random.Random(20261207)
        cls.series = {}
        for n in range(3):
            eid = f"urn:ngsi-ld:Meter:agg{n}"
            readings = []
            t = START
            for _ in range(300):
                # Irregular gaps, some long enough to leave periods empty; decimals and integers.
                t += datetime.timedelta(minutes=rng.choice([1, 3, 7, 30, 200, 2000]))
                value = rng.choice([rng.randint(-50, 50), round(rng.uniform(0, 100), 1)])
                readings.append((t, value))
            cls.series[eid] = readings
            shuffled = readings[:]
            rng.shuffle(shuffled)
            for part in range(0, len(shuffled), 100):
                body = {"id": eid, "type": "Meter",
                        "power": [{"type": "Property", "value": v,
                                   "observedAt": with_offset(ts, rng)}
                                  for ts, v in shuffled[part:part + 100]]}
                r = cls.server.request("POST", BASE, body)
                assert r.status in (201, 204), repr(r)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def get(self, eid, params):
        r = self.server.get(f"{BASE}/{eid}?attrs=power&{params}")
        self.assertEqual(r.status, 200, repr(r))
        return r.json().get("power")

    def test_time_order_windows_and_last_n(self):
        for eid, readings in self.series.items():
            ordered = sorted(readings)
            got = self.get(eid, "options=temporalValues")["values"]
            self.assertEqual([v for v, _ in got], [v for _, v in ordered])
            self.assertEqual([t for _, t in got], [iso(t) for t, _ in ordered])
            a, b = ordered[50][0], ordered[200][0]
            cases = {
                f"timerel=before&timeAt={iso(a)}": [v for t, v in ordered if t < a],
                f"timerel=after&timeAt={iso(a)}": [v for t, v in ordered if t >= a],
                f"timerel=between&timeAt={iso(a)}&endTimeAt={iso(b)}":
                    [v for t, v in ordered if a <= t < b],
                f"timerel=between&timeAt={iso(a)}&endTimeAt={iso(b)}&lastN=7":
                    [v for t, v in ordered if a <= t < b][-7:],
            }
            for params, want in cases.items():
                got = self.get(eid, "options=temporalValues&" + params)
                self.assertEqual([v for v, _ in got["values"]], want, params)

    def test_every_method_over_every_period(self):
        for eid, readings in self.series.items():
            ordered = sorted(readings)
            for name, duration in DURATIONS.items():
                for windowed in (False, True):
                    params = (f"options=aggregatedValues&aggrMethods={','.join(METHODS)}"
                              f"&aggrPeriodDuration={name}")
                    instances = ordered
                    origin = ordered[0][0]
                    if windowed:
                        origin = ordered[40][0] - datetime.timedelta(minutes=1)
                        params += f"&timerel=after&timeAt={iso(origin)}"
                        instances = [(t, v) for t, v in ordered if t >= origin]
                    got = self.get(eid, params)
                    want = {m: [] for m in METHODS}
                    for start, end in periods(origin, duration, instances[-1][0]):
                        values = [v for t, v in instances if start <= t < end]
                        if not values:
                            continue
                        for m in METHODS:
                            want[m].append((aggregate(values, m), iso(start), iso(end)))
                    for m in METHODS:
                        label = f"{eid} {name} {m} windowed={windowed}"
                        self.assertEqual(len(got[m]), len(want[m]), label)
                        for (gv, gs, ge), (wv, ws, we) in zip(got[m], want[m]):
                            self.assertEqual((gs, ge), (ws, we), label)
                            self.assertAlmostEqual(gv, wv, delta=1e-9 * max(1, abs(wv)),
                                                   msg=label)

    def test_deleted_instances_leave_the_aggregation(self):
        eid = "urn:ngsi-ld:Meter:aggdel"
        body = {"id": eid, "type": "Meter",
                "power": [{"type": "Property", "value": n * 1.5,
                           "observedAt": iso(START + datetime.timedelta(minutes=n))}
                          for n in range(20)]}
        r = self.server.request("POST", BASE, body)
        self.assertEqual(r.status, 201, repr(r))
        before = self.get(eid, "options=normalized")
        victim = before[10]
        r = self.server.request(
            "DELETE", f"{BASE}/{eid}/attrs/power/{victim['instanceId']}")
        self.assertEqual(r.status, 204, repr(r))
        after = self.get(eid, "options=aggregatedValues&aggrMethods=totalCount,sum")
        self.assertEqual(after["totalCount"][0][0], len(before) - 1)
        self.assertAlmostEqual(after["sum"][0][0],
                               sum(i["value"] for i in before) - victim["value"], places=6)


if __name__ == "__main__":
    unittest.main()
