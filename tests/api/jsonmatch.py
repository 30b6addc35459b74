"""Matching of expected against actual values for the golden-file runner, with placeholders.

A placeholder is written as a JSON string (or inside a header value / text body):
  {{any}} anything        {{string}} any string     {{number}} any JSON number
  {{datetime}} an ISO 8601 date-time string         {{absent}} (object member) must not exist
  {{contains:TEXT}} a string containing TEXT       {{lacks:TEXT}} a string without TEXT
  {{datetime:NAME}} a date-time, remembered as NAME on first use and equal to it afterwards
  {{datetime>NAME}} a date-time strictly later than the one remembered as NAME
  {{capture:NAME}} (header values) any text, remembered as the variable NAME
An object member "{{more}}": "{{any}}" lets the actual object have members not listed.
A string that contains placeholders among other text matches as a pattern: "urn:x:{{any}}".
The NAME forms must be the whole string; `caps` (a dict) carries the names across a file."""

import datetime
import json
import re

PLACEHOLDER = re.compile(
    r"\{\{(any|string|number|datetime(?:[:>]\w+)?|absent|empty|contains:.*?|lacks:.*?|capture:\w+)\}\}")
DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})"
ABSENT = "{{absent}}"
MORE = "{{more}}"
_MISSING = object()


def has_placeholder(s):
    return isinstance(s, str) and PLACEHOLDER.search(s) is not None


def pattern(template):
    """A compiled regex matching a whole string against a template with placeholders."""
    parts, pos = [], 0
    for m in PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        name = m.group(1)
        if name.startswith("datetime"):
            parts.append(DATETIME)
        elif name == "number":
            parts.append(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
        elif name == "empty":
            pass
        elif name.startswith("contains:"):
            parts.append(".*" + re.escape(name[len("contains:"):]) + ".*")
        elif name.startswith("lacks:"):
            parts.append("(?:(?!" + re.escape(name[len("lacks:"):]) + ").)*")
        elif name.startswith("capture:"):
            parts.append("(?P<" + name[len("capture:"):] + ">.+?)")
        else:
            parts.append(".*")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts), re.S)


def match_text(expected, actual):
    """Header values and non-JSON bodies: exact, unless the expectation has placeholders."""
    if actual is None:
        return expected == ABSENT
    if has_placeholder(expected):
        return expected != ABSENT and pattern(expected).fullmatch(actual) is not None
    return expected == actual


def captures(expected, actual):
    """The {{capture:NAME}} values of a header value or text that matches `expected`."""
    m = pattern(expected).fullmatch(actual or "") if "{{capture:" in expected else None
    return m.groupdict() if m else {}


def _whole(s):
    m = PLACEHOLDER.fullmatch(s) if isinstance(s, str) else None
    return m.group(1) if m else None


def instant(s):
    """A comparable UTC instant of an ISO 8601 date-time string."""
    s = re.sub(r"Z$", "+00:00", s)
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)", s)
    base = datetime.datetime.fromisoformat(m.group(1) + m.group(3))
    return base.timestamp(), int((m.group(2) or "0").ljust(9, "0")[:9])


def match_datetime(ph, actual, caps):
    if not isinstance(actual, str) or not re.fullmatch(DATETIME, actual):
        return False
    op, name = ph[8:9], ph[9:]
    if op == ":":
        return caps.setdefault(name, actual) == actual
    if op == ">":
        return name in caps and instant(actual) > instant(caps[name])
    return True


def match(expected, actual, caps=None):
    """True when `actual` (parsed JSON) fits `expected` (parsed JSON with placeholders)."""
    caps = {} if caps is None else caps
    ph = _whole(expected)
    if ph is not None:
        if ph.startswith("datetime"):
            return match_datetime(ph, actual, caps)
        if ph == "any":
            return True
        if ph == "number":
            return isinstance(actual, (int, float)) and not isinstance(actual, bool)
        if ph == "string":
            return isinstance(actual, str)
        if ph == "absent":
            return False  # only meaningful as an object member, handled below
        return isinstance(actual, str) and pattern(expected).fullmatch(actual) is not None
    if isinstance(expected, str) and has_placeholder(expected):
        return isinstance(actual, str) and pattern(expected).fullmatch(actual) is not None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        for k, v in expected.items():
            if k == MORE:
                continue
            if v == ABSENT:
                if k in actual:
                    return False
            elif k not in actual or not match(v, actual[k], caps):
                return False
        return MORE in expected or all(k in expected and expected[k] != ABSENT for k in actual)
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(match(e, a, caps) for e, a in zip(expected, actual)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


def generalize(value):
    """`value` with each date-time string replaced by {{datetime}}: what --rewrite writes."""
    if isinstance(value, dict):
        return {k: generalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [generalize(v) for v in value]
    if isinstance(value, str) and re.fullmatch(DATETIME, value):
        return "{{datetime}}"
    return value


def merge(expected, actual, caps=None, general=False):
    """`actual`, keeping each part of `expected` (and so its placeholders) that still fits.

    Used for the diff (differences only where there are real ones) and, with `general` (new
    date-times become placeholders), for --rewrite."""
    caps = {} if caps is None else caps
    if match(expected, actual, dict(caps)):
        return expected
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = {}
        for k, v in expected.items():
            if k in actual and v != ABSENT:
                out[k] = merge(v, actual[k], caps, general)
            elif (k not in actual and v == ABSENT) or k == MORE:
                out[k] = v
        for k, v in actual.items():
            if k not in out and MORE not in expected:
                out[k] = generalize(v) if general else v
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [merge(e, a, caps, general) for e, a in zip(expected, actual)]
    return generalize(actual) if general else actual


def dumps(value, indent=0, width=100):
    """JSON text: a value on one line when it fits in `width`, else one member per line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= width or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [pad + json.dumps(k, ensure_ascii=False) + ": " +
                 dumps(v, indent + 2, width).lstrip() for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps(v, indent + 2, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
