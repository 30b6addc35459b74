#!/usr/bin/env python3
"""Runs the golden-file API tests under tests/api/cases/ against the real server.

Each .test file is a transcript of exchanges (request, expected response) run in order against
one fresh server with its own data directory; files run in parallel. The format is described in
tests/api/README.md. Standard library only.

  python3 tests/api/run.py [--binary build/tsunagu] [--jobs N] [--rewrite] [paths or filters...]
"""

import argparse
import ast
import concurrent.futures
import difflib
import json
import os
import re
import shlex
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import jsonmatch  # noqa: E402
import rawhttp  # noqa: E402

CASES = os.path.join(HERE, "cases")
NO_LENGTH = "x-test-no-content-length"
SERVER_ARGS = []  # --server-args
BODY_PARTS = ("@file:", "@bytes:", "@repeat:", "@text:")
REPEAT = re.compile(r"\{\{repeat:(\d+):(.*?)\}\}")
QUOTE = re.compile(r"\{\{quote:(.*?)\}\}")


class CaseError(Exception):
    """A malformed .test file."""


class Exchange:
    def __init__(self, title, line):
        self.title, self.line = title, line
        self.method = self.target = None
        self.headers, self.body = [], ""
        self.status = None
        self.expect_headers, self.expect_body = [], None
        self.expect_start = self.end = None  # line span of the expectation, for --rewrite


def parse(path):
    """The exchanges of a .test file (line numbers are 0-based indices into its lines)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    starts = [i for i, l in enumerate(lines) if l.startswith("=== ")] + [len(lines)]
    out = []
    for s, e in zip(starts, starts[1:]):
        while e > s + 1 and not lines[e - 1].strip():
            e -= 1
        x = Exchange(lines[s][4:].strip(), s)
        i = s + 1
        while i < e and lines[i].startswith("#"):
            i += 1
        if i >= e or " " not in lines[i]:
            raise CaseError(f"{path}:{s + 1}: '{x.title}' has no request line")
        x.method, x.target = lines[i].split(None, 1)
        i += 1
        while i < e and lines[i].strip() and not lines[i].startswith("--- "):
            name, _, value = lines[i].partition(":")
            x.headers.append((name.strip(), value.strip()))
            i += 1
        body = []
        while i < e and not lines[i].startswith("--- "):
            body.append(lines[i])
            i += 1
        x.body = "\n".join(body).strip("\n")
        if i >= e:
            raise CaseError(f"{path}:{s + 1}: '{x.title}' has no '--- <status>' line")
        x.expect_start, x.end = i, e
        x.status = lines[i][4:].strip()
        i += 1
        while i < e and lines[i].strip():
            name, _, value = lines[i].partition(":")
            x.expect_headers.append((name.strip(), value.strip()))
            i += 1
        text = "\n".join(lines[i:e]).strip("\n")
        x.expect_body = text if text else None
        out.append(x)
    if not out:
        raise CaseError(f"{path}: no '=== ' exchange")
    return lines, out


def substitute(text, env):
    for k, v in env.items():
        text = text.replace("{{" + k + "}}", v)
    return text


def unsubstitute(text, env):
    for k, v in env.items():
        if k != "port":
            text = text.replace(v, "{{" + k + "}}")
    return text.replace(f"127.0.0.1:{env['port']}", "127.0.0.1:{{port}}")


def request_body(text, env):
    """The bytes to send: the body text, or a concatenation of @file/@bytes/@repeat/@text parts."""
    if not text:
        return None
    text = substitute(text, env)
    if not text.startswith(BODY_PARTS):
        return text.encode("utf-8")
    out = b""
    for line in text.split("\n"):
        if line.startswith("@file:"):
            with open(os.path.join(harness.FIXTURES, line[6:].strip()), "rb") as f:
                out += f.read()
        elif line.startswith("@bytes:"):
            out += ast.literal_eval(line[7:].strip())
        elif line.startswith("@repeat:"):
            n, _, s = line[8:].partition(":")
            out += s.encode("utf-8") * int(n)
        elif line.startswith("@text:"):
            out += line[6:].encode("utf-8")
        elif line.strip():
            raise CaseError(f"body line '{line[:40]}' is not an @file/@bytes/@repeat/@text part")
    return out


def parse_json(text):
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def header_ok(name, expected, actual):
    if name.lower() == "allow" and actual is not None and not jsonmatch.has_placeholder(expected):
        return {m.strip() for m in expected.split(",")} == {m.strip() for m in actual.split(",")}
    return jsonmatch.match_text(expected, actual)


def check(x, resp, env, caps):
    """The problems found (none when `resp` fits the expectation of `x`).

    Names captured by {{datetime:NAME}} are kept in `caps` for the exchanges that follow, and
    header values captured by {{capture:NAME}} in `env`, as variables."""
    problems = []
    if str(resp.status) != substitute(x.status, env):
        problems.append(f"status: expected {x.status}, got {resp.status}")
    for name, value in x.expect_headers:
        actual = resp.header(name)
        if not header_ok(name, substitute(value, env), actual):
            problems.append(f"header {name}: expected {value!r}, got {actual!r}")
        else:
            env.update(jsonmatch.captures(substitute(value, env), actual))
    if x.expect_body is None:
        if problems and resp.body:
            problems.append(f"body (not checked): {resp.body[:500].decode('utf-8', 'replace')}")
        return problems
    exp_text = substitute(x.expect_body, env)
    actual_text = resp.body.decode("utf-8", errors="replace")
    if exp_text == "{{empty}}":
        if resp.body:
            problems.append(f"body: expected empty, got {actual_text[:500]!r}")
        return problems
    is_json, expected = parse_json(exp_text)
    if not is_json:
        if not jsonmatch.match_text(exp_text, actual_text.rstrip("\n")):
            problems.append(diff("body", exp_text, actual_text))
        return problems
    ok, actual = parse_json(actual_text)
    if not ok:
        problems.append(f"body: expected JSON, got {actual_text[:500]!r}")
    elif not jsonmatch.match(expected, actual, caps):
        merged = jsonmatch.merge(expected, actual, caps)
        problems.append(diff("body", jsonmatch.dumps(expected, width=60),
                             jsonmatch.dumps(merged, width=60)))
    return problems


def diff(what, expected, actual):
    lines = difflib.unified_diff(expected.split("\n"), actual.split("\n"), "expected", "actual",
                                 lineterm="", n=2)
    return what + ":\n" + "\n".join("    " + l for l in lines)


def rewritten(x, resp, env, caps):
    """The expectation lines for `x` that `resp` satisfies, keeping fitting placeholders."""
    out = [f"--- {resp.status}"]
    for name, value in x.expect_headers:
        actual = resp.header(name)
        if header_ok(name, substitute(value, env), actual):
            out.append(f"{name}: {value}")
        else:
            out.append(f"{name}: {unsubstitute(actual, env) if actual is not None else '{{absent}}'}")
    text = resp.body.decode("utf-8", errors="replace")
    is_json, actual = parse_json(text)
    old = x.expect_body
    if old is None and str(resp.status) == substitute(x.status, env):
        return out
    if old == "{{empty}}" and not resp.body:
        return out + ["", old]
    if not resp.body:
        return out + ["", "{{empty}}"] if old is not None else out
    if old is not None and jsonmatch.match_text(substitute(old, env), text.rstrip("\n")):
        return out + ["", old]
    if is_json:
        old_ok, expected = parse_json(substitute(old, env)) if old else (False, None)
        body = jsonmatch.dumps(jsonmatch.merge(expected, actual, caps, True) if old_ok
                               else jsonmatch.generalize(actual))
        return out + [""] + unsubstitute(body, env).split("\n")
    return out + [""] + unsubstitute(text.rstrip("\n"), env).split("\n")


def expand(text, env):
    """Variables, {{repeat:N:TEXT}} (TEXT N times) for long header values and targets, and
    {{quote:TEXT}} (TEXT percent-encoded, e.g. a URL as one path segment)."""
    text = substitute(text, env)
    text = QUOTE.sub(lambda m: urllib.parse.quote(m.group(1), safe=""), text)
    return REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), text)


def send(x, env, port):
    headers = [(k, expand(v, env)) for k, v in x.headers if k.lower() != NO_LENGTH]
    frame = not any(k.lower() == NO_LENGTH for k, _ in x.headers)
    return rawhttp.exchange(port, x.method, expand(x.target, env), headers,
                            request_body(x.body, env), frame)


def run_file(path, rewrite):
    """Runs one .test file; returns (exchanges, failed exchanges, failure texts, rewrote?)."""
    rel = os.path.relpath(path, CASES)
    try:
        lines, exchanges = parse(path)
    except (CaseError, OSError, UnicodeDecodeError) as e:
        return 0, 0, [f"ERROR {rel}: {e}"], False
    failures, edits, caps, bad = [], [], {}, 0
    with harness.ContextServer() as cs, harness.Server(args=SERVER_ARGS) as srv:
        env = {"ctx": f"http://127.0.0.1:{cs.port}", "ctx_dead": f"http://127.0.0.1:{dead_port()}",
               "port": str(srv.port), "data_dir": srv.data_dir}
        for x in exchanges:
            where = f"{rel}:{x.line + 1} \"{x.title}\"\n  {x.method} {x.target}"
            if "{{datetime>" in (x.expect_body or ""):
                time.sleep(0.002)  # so that "later" never depends on the clock's resolution
            try:
                resp = send(x, env, srv.port)
            except (OSError, CaseError, ValueError, SyntaxError) as e:
                failures.append(f"FAIL {where}\n  request failed: {e!r}\n  server log: "
                                f"{srv.read_log()[-1500:]}")
                bad += 1
                continue
            problems = check(x, resp, env, caps)
            if problems:
                bad += 1
                failures.append(f"FAIL {where}\n  " + "\n  ".join(problems))
                if rewrite:
                    edits.append((x, rewritten(x, resp, env, caps)))
        if srv.proc.poll() is not None:
            failures.append(f"FAIL {rel}: the server exited with {srv.proc.returncode}\n"
                            f"  {srv.read_log()[-1500:]}")
        code = srv.stop()
        if code not in (0, None):
            failures.append(f"FAIL {rel}: the server stopped with exit code {code} on SIGTERM")
    for x, new in reversed(edits):
        lines[x.expect_start:x.end] = new
    if edits:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    return len(exchanges), bad, failures, bool(edits)


def dead_port():
    return str(harness.free_port())  # nothing listens there once the probe socket is closed


def select(filters):
    found = []
    for root, _, files in os.walk(CASES):
        found += [os.path.join(root, f) for f in files if f.endswith(".test")]
    found.sort()
    if not filters:
        return found
    chosen = []
    for f in filters:
        if os.path.isdir(f):
            chosen += [p for p in found if os.path.abspath(p).startswith(os.path.abspath(f) + os.sep)]
        elif os.path.isfile(f):
            chosen.append(os.path.abspath(f))
        else:
            chosen += [p for p in found if f in os.path.relpath(p, CASES)]
    return sorted(set(chosen))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=harness.BINARY)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 4)
    ap.add_argument("--rewrite", action="store_true",
                    help="replace the expectations of failing exchanges with the actual responses")
    ap.add_argument("--server-args", default="",
                    help="more options for every server, quoted (e.g. \"--sync normal\")")
    ap.add_argument("filters", nargs="*", help="case files, folders, or substrings of their names")
    args = ap.parse_args()
    SERVER_ARGS.extend(shlex.split(args.server_args))
    harness.BINARY = os.path.abspath(args.binary)
    if not os.access(harness.BINARY, os.X_OK):
        sys.exit(f"no server binary at {harness.BINARY}; build it with scripts/build")
    files = select(args.filters)
    if not files:
        sys.exit("no .test files selected")
    start = time.time()
    total, failed, problems, rewrote = 0, 0, 0, []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {pool.submit(run_file, f, args.rewrite): f for f in files}
        for fut in concurrent.futures.as_completed(futures):
            try:
                n, bad, failures, edited = fut.result()
            except Exception as e:  # a crash of the runner itself on one file
                n, bad, failures, edited = 0, 0, [f"ERROR {futures[fut]}: {e!r}"], False
            total += n
            failed += bad
            problems += len(failures) - bad
            for text in failures:
                print(text, flush=True)
            if edited:
                rewrote.append(os.path.relpath(futures[fut], CASES))
    for r in sorted(rewrote):
        print(f"rewrote {r}")
    other = f", {problems} file errors" if problems else ""
    print(f"{len(files)} files, {total} exchanges: {total - failed} passed, {failed} failed{other} "
          f"({time.time() - start:.1f} s)")
    sys.exit(1 if failed or problems else 0)


if __name__ == "__main__":
    main()
