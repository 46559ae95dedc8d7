#!/usr/bin/env python3
"""A bounded schemathesis run against the OpenAPI document a demo server ships.

Starts `casevault demo` on a spare loopback port with a temporary data directory,
signs in as a caseworker (alice), an office administrator (admin) and a second
caseworker (bob), seeds one case, document, share and upload link so that generated
requests can reach real records, then runs schemathesis against GET /api/v1/openapi.json in three
stages:

  1. as alice: every operation but sign-out;
  2. as admin: every operation but sign-out and the two that end the stage's own
     footing (purging the admin's office, the panic seal-all);
  3. as admin: those two; then as bob: sign-out.

Checks: no 5xx, every status and content type declared, every body and header as
declared. Exits non-zero on any failure, on an operation of the document that no
stage sent a request for, or when the whole run exceeds its time bound. Prints the
requests per operation and the statuses they got.

Usage: schemathesis.py CASEVAULT_BINARY [--schemathesis PATH] [--examples N]
"""
import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])

LOGOUT = "POST /api/v1/logout"
SELF = "GET /api/v1/openapi.json"
ENDS_FOOTING = ["POST /api/v1/offices/{office}/purge", "POST /api/v1/seal-all"]


def totp(secret_b32: str) -> str:
    """RFC 6238: SHA-1, 6 digits, 30 s (what the demo's secrets are for)."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, base: str, cafile: str):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.cookie = None

    def call(self, method, path, body=None, raw=None, headers=None):
        h = {"Origin": self.base}
        if raw is not None:
            data, h["Content-Type"] = raw, "application/octet-stream"
        else:
            data = json.dumps(body if body is not None else {}).encode()
            h["Content-Type"] = "application/json"
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data if method != "GET" else None,
                                     headers=h, method=method)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def login(self, name, creds):
        u = creds["users"][name]
        st, hdrs, body = self.call("POST", "/api/v1/login", {
            "username": name, "password": u["password"], "totp": totp(u["totp_secret"])})
        if st != 200:
            sys.exit(f"sign-in as {name} answered {st}: {body[:200]!r}")
        cookie = hdrs.get("Set-Cookie", "").split(";")[0]
        if not cookie.startswith("__Host-casevault_session="):
            sys.exit(f"sign-in as {name} set no session cookie")
        self.cookie = cookie
        return cookie.split("=", 1)[1]


def expect(what, got, want):
    st, _, body = got
    if st != want:
        sys.exit(f"{what}: {st} {body[:300]!r}")
    return json.loads(body) if body else None


def toml_str(s: str) -> str:
    return json.dumps(s)


def config(path, session, origin, dictionaries):
    lines = [
        "[auth.openapi.session]",
        f"api_key = {toml_str(session)}",
        "",
        "[headers]",
        f"Origin = {toml_str(origin)}",
        '"Content-Type" = "application/json"',
        "",
        "[parameters]",
    ]
    for name in dictionaries:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}')
    for name, values in dictionaries.items():
        lines += ["", f"[dictionaries.{name}]", "values = [" + ", ".join(map(toml_str, values)) + "]"]
    lines += [
        "",
        "[[operations]]",
        'include-name = "POST /api/v1/cases/{case}/documents"',
        'headers = { "Content-Type" = "application/octet-stream" }',
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def stage(st_bin, name, doc_url, base, cafile, workdir, session, dictionaries, examples, seed,
          include=None, exclude=None, timeout=600):
    cfg = os.path.join(workdir, f"{name}.toml")
    config(cfg, session, base, dictionaries)
    report = os.path.join(workdir, f"{name}.ndjson")
    cmd = [st_bin, "--config-file", cfg, "run", doc_url, "--url", base, "--tls-verify", cafile,
           "--checks", CHECKS, "--max-examples", str(examples), "--seed", str(seed),
           "--workers", "1", "--request-timeout", "30",
           "--report", "ndjson", "--report-ndjson-path", report,
           "--warnings", "off", "--no-color"]
    for op in include or []:
        cmd += ["--include-name", op]
    for op in exclude or []:
        cmd += ["--exclude-name", op]
    print(f"\n=== schemathesis stage {name} ===", flush=True)
    t0 = time.monotonic()
    try:
        # In the work directory: schemathesis keeps its cache where it runs.
        rc = subprocess.run(cmd, timeout=timeout, cwd=workdir).returncode
    except subprocess.TimeoutExpired:
        print(f"stage {name} ran past {timeout} s", flush=True)
        rc = 124
    print(f"stage {name}: exit {rc} in {time.monotonic() - t0:.0f} s", flush=True)
    return rc, report


def per_operation(reports):
    """Requests per (operation, stage) by status, and the operations with a failed
    check or a network error in any stage."""
    ops = collections.defaultdict(collections.Counter)
    bad = set()
    for stage_name, path in reports:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                e = json.loads(line)
                fin = e.get("ScenarioFinished")
                if not fin:
                    continue
                rec = fin["recorder"]
                if fin["status"] in ("failure", "error"):
                    bad.add(rec["label"])
                cases = rec.get("cases", {})
                for cid, i in rec.get("interactions", {}).items():
                    # A stateful scenario's steps belong to several operations: each
                    # request is counted under the operation of its own test case.
                    v = cases.get(cid, {}).get("value") or {}
                    op = f'{v["method"].upper()} {v["path"]}' if "method" in v else rec["label"]
                    resp = i.get("response")
                    ops[(op, stage_name)][resp["status_code"] if resp else "none"] += 1
    return ops, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--schemathesis", default=shutil.which("schemathesis") or "schemathesis")
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1, help="the same seed, the same requests")
    ap.add_argument("--keep", help="keep the work directory here")
    a = ap.parse_args()
    started = time.monotonic()

    work = os.path.abspath(a.keep or tempfile.mkdtemp(prefix="casevault-schemathesis-"))
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "vault")
    port = spare_port()
    base = f"https://127.0.0.1:{port}"
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([a.binary, "demo", "--data", data, "--listen", f"127.0.0.1:{port}"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        creds_path, cafile = os.path.join(data, "credentials.json"), os.path.join(data, "tls-cert.pem")
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                sys.exit(f"the demo server exited ({server.returncode}); see {log.name}")
            if os.path.exists(creds_path) and os.path.exists(cafile):
                try:
                    st, _, _ = Client(base, cafile).call("GET", "/healthz")
                    if st == 200:
                        break
                except (OSError, ssl.SSLError):
                    pass
            if time.monotonic() > deadline:
                sys.exit("the demo server did not come up within 180 s")
            time.sleep(0.5)
        with open(creds_path) as f:
            creds = json.load(f)

        # Every session before any generated sign-in attempt (those are throttled).
        alice, admin, bob = (Client(base, cafile) for _ in range(3))
        sessions = {n: c.login(n, creds) for n, c in (("alice", alice), ("admin", admin), ("bob", bob))}

        # Real records, so that generated requests reach past "not found".
        case = expect("create a case", alice.call("POST", "/api/v1/cases", {
            "office": "bronx", "client_name": "Schemathesis Client", "a_number": "A012345678"}), 201)["id"]
        doc = expect("upload", alice.call("POST", f"/api/v1/cases/{case}/documents?filename=brief.pdf",
                                          raw=b"%PDF-1.4 a small document\n"), 201)["id"]
        share = expect("share", alice.call("POST", f"/api/v1/cases/{case}/shares", {
            "username": "pat", "permission": "read",
            # A share runs at most a year ([sharing] max_share_days).
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))}),
            201)["id"]
        link = expect("upload link", alice.call("POST", f"/api/v1/cases/{case}/upload-links", {
            "expires_in_days": 7}), 201)["id"]
        users = [creds["users"][n]["id"] for n in ("alice", "pat", "audrey")]
        dictionaries = {"case": [case], "doc": [doc], "share": [share], "user": users,
                        "office": ["bronx", "queens"], "link": [link]}

        doc_url = f"{base}/api/v1/openapi.json"
        with urllib.request.urlopen(doc_url, context=alice.ctx) as r:
            document = json.load(r)
        operations = sorted(f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item)

        runs = [
            ("caseworker", sessions["alice"], dict(exclude=[LOGOUT])),
            ("admin", sessions["admin"], dict(exclude=[LOGOUT] + ENDS_FOOTING)),
            ("admin-last", sessions["admin"], dict(include=ENDS_FOOTING)),
            ("signout", sessions["bob"], dict(include=[LOGOUT])),
        ]
        failed, reports = [], []
        for name, session, sel in runs:
            rc, report = stage(a.schemathesis, name, doc_url, base, cafile, work, session,
                               dictionaries, a.examples, a.seed, **sel)
            reports.append((name, report))
            if rc != 0:
                failed.append(name)

        ops, bad = per_operation(reports)
        print("\n=== requests per operation (stage: statuses) ===")
        total, missing = 0, []
        for op in operations:
            parts = []
            n = 0
            for stage_name, _ in reports:
                c = ops.get((op, stage_name))
                if c:
                    n += sum(c.values())
                    parts.append(f"{stage_name}: " + " ".join(f"{k}x{v}" for k, v in sorted(c.items(), key=str)))
            if op == SELF:
                # schemathesis tests the document's operations, not the document: this
                # one is exercised by loading it (and validating it as OpenAPI).
                n, parts = 1, ["loaded as the schema of every stage"]
            total += n
            if n == 0:
                missing.append(op)
            print(f"{n:6d}  {op:52s} {'; '.join(parts)}")
        exercised = len(operations) - len(missing)
        print(f"\n{exercised} of {len(operations)} operations exercised, {total} requests, "
              f"{time.monotonic() - started:.0f} s in all")
        for m in missing:
            print(f"NOT EXERCISED: {m}")
        with open(os.path.join(work, "server.log")) as f:
            lines = f.readlines()
        internal = [l for l in lines if "internal error" in l or "panicked" in l]
        if server.poll() is not None:
            # The server must outlive every stage: say how it ended, and its last words.
            internal.append(f"the demo server exited with {server.returncode}\n")
            for l in lines[-30:]:
                print("server log:", l.rstrip())
        for l in internal:
            print("server:", l.rstrip())
        for b in sorted(bad):
            print(f"FAILED: {b}")
        clean = exercised - len([op for op in operations if op in bad])
        if failed or missing or internal:
            print(f"stages that failed: {failed or 'none'}; {len(missing)} operations not "
                  f"exercised; {len(internal)} internal errors logged")
        # The closing line, in the form CI reads: operations clean, operations not.
        print(f"schemathesis: {clean} passed, {len(operations) - clean} failed")
        return 1 if failed or missing or internal or bad else 0
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            server.kill()
        log.close()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
