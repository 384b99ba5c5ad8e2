#!/usr/bin/env python3
"""agree.py - the nginx module, probity serve and probity decide answer alike.

Generates N random requests (seeded: accounts under the workspace's rules and
others, sub-accounts, catalog services and aliases, regions in any spelling,
capabilities, and names the catalog does not know), asks
  - nginx with the module: GET PATH with the inputs in X-Probity-* headers,
    a location answering $probity_json;
  - probity serve: GET /v1/decide?... (when --serve is given);
  - probity decide --json, for the first --decide of them (one process each);
and compares the decision objects (result, version, reason, unknown, input;
not the decision id or the time). Prints one line per peer and exits 1 on any
disagreement. With --wrk (for a million requests) the requests to nginx and
serve are sent by wrk (agree.lua: two threads, each its share of the list,
writing every answer to a file) and the answers are matched by their input.

usage: agree.py --nginx HOST:PORT [--path /agree] [--serve HOST:PORT]
                --ws WS --probity BIN --data DIR [--n N] [--decide K]
                [--seed S] [--procs P] [--accounts A,B,...] [--wrk TMPDIR]
"""
import argparse
import csv
import http.client
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
import urllib.parse

FIELDS = ("account", "subaccount", "service", "region", "capability", "sku_meter")


def catalog(data):
    def rows(name):
        with open(os.path.join(data, "catalog", name), newline="") as f:
            return list(csv.DictReader(line for line in f if not line.startswith("#")))
    services, caps = [], set()
    for r in rows("services.csv"):
        services.append(r["service_name"])
        services += [a for a in r["aliases"].split("|") if a]
        caps.update(c for c in r["capabilities"].split("|") if c)
    regions = []
    for r in rows("regions.csv"):
        regions.append(r["region_id"])
        regions += [a for a in r["aliases"].split("|") if a]
    return services, regions, sorted(caps)


def requests(n, seed, accounts, data):
    services, regions, caps = catalog(data)
    rnd = random.Random(seed)
    others = ["OTHER-%d" % i for i in range(50)]
    subs = ["", "", "s-int", "s-ext", "sub-%d" % rnd.randrange(10)]
    out = []
    for _ in range(n):
        q = {
            "account": rnd.choice(accounts) if rnd.random() < 0.7 else rnd.choice(others),
            "subaccount": rnd.choice(subs),
            "service": rnd.choice(services) if rnd.random() < 0.95 else "No Such Service",
            "region": rnd.choice(regions) if rnd.random() < 0.95 else "moon-1",
            "capability": rnd.choice(caps) if rnd.random() < 0.3 else "",
            "sku_meter": "",
        }
        if rnd.random() < 0.2:
            q["account"] = q["account"].lower()  # case is ignored
        out.append(q)
    return out


def strip(d):
    """The parts of a decision every peer must agree on."""
    return {k: d.get(k) for k in ("result", "version", "reason", "unknown", "input")}


def ask_nginx(args, qs):
    host, port = args.nginx.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    out = []
    for q in qs:
        h = {"X-Probity-" + k.replace("_", "-").title(): v.encode() for k, v in q.items() if v}
        c.request("GET", args.path, headers=h)
        r = c.getresponse()
        body = r.read()
        out.append(strip(json.loads(body)) if r.status == 200 else {"status": r.status, "body": body[:200]})
    return out


def ask_serve(args, qs):
    host, port = args.serve.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    out = []
    for q in qs:
        c.request("GET", "/v1/decide?" + urllib.parse.urlencode({k: v for k, v in q.items() if v}))
        r = c.getresponse()
        out.append(strip(json.loads(r.read())))
    return out


def ask_decide(args, q):
    cmd = [args.probity, "decide", args.ws, "--json"]
    for k, v in q.items():
        if v:
            cmd += ["--" + k.replace("_", "-"), v]
    env = dict(os.environ, PROBITY_DATA=args.data)
    return strip(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout))


def ask_wrk(args, qs, target):
    """Answers by input, from wrk sending every request of qs once."""
    base = os.path.join(args.wrk, target)
    with open(base + ".req", "w") as f:
        for q in qs:
            qs_ = urllib.parse.urlencode({k: v for k, v in q.items() if v})
            f.write("\t".join([qs_] + [q[k] for k in FIELDS[:5]]) + "\n")
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agree.lua")
    url = "http://%s" % (args.nginx if target == "nginx" else args.serve)
    # two threads, four connections each: once a thread's file holds its
    # share plus four answers, every request of its share was answered
    shares = [len(qs[t::2]) for t in range(2)]
    for t in (1, 2):
        open("%s.out.%d" % (base, t), "w").close()
    w = subprocess.Popen(["wrk", "-t2", "-c8", "-d3600s", "-s", lua, url, "--", base + ".req", base + ".out",
                          "2", "serve" if target == "serve" else args.path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines, offs = [0, 0], [0, 0]
    while any(lines[t] < shares[t] + 4 for t in range(2)):
        if w.poll() is not None:
            raise SystemExit("agree: wrk ended early (%s)" % w.returncode)
        time.sleep(0.5)
        for t in range(2):
            with open("%s.out.%d" % (base, t + 1), "rb") as f:
                f.seek(offs[t])
                chunk = f.read()
                end = chunk.rfind(b"\n") + 1
                lines[t] += chunk[:end].count(b"\n")
                offs[t] += end
    w.send_signal(signal.SIGINT)
    w.wait(timeout=30)
    got = {}
    for t in (1, 2):
        with open("%s.out.%d" % (base, t), encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                d = strip(json.loads(line))
                got[key(d["input"])] = d
    return [got.get(key(q), {"missing": True}) for q in qs]


def key(inp):
    return tuple(inp.get(k) or "" for k in FIELDS)


def chunks(xs, n):
    k = (len(xs) + n - 1) // n
    return [xs[i:i + k] for i in range(0, len(xs), k)]


def ask_all(fn, args, qs):
    if args.procs <= 1 or len(qs) < 1000:
        return fn(args, qs)
    with multiprocessing.Pool(args.procs) as p:
        parts = p.starmap(fn, [(args, c) for c in chunks(qs, args.procs * 4)])
    return [x for part in parts for x in part]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nginx", required=True)
    ap.add_argument("--path", default="/agree")
    ap.add_argument("--serve")
    ap.add_argument("--ws", required=True)
    ap.add_argument("--probity", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--decide", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--accounts", default="IMOD-7F3A")
    ap.add_argument("--wrk")
    args = ap.parse_args()
    qs = requests(args.n, args.seed, args.accounts.split(","), args.data)
    mod = ask_wrk(args, qs, "nginx") if args.wrk else ask_all(ask_nginx, args, qs)
    bad = 0
    denies = sum(1 for m in mod if m.get("result") == "deny")
    if args.serve:
        srv = ask_wrk(args, qs, "serve") if args.wrk else ask_all(ask_serve, args, qs)
        diff = [i for i in range(len(qs)) if mod[i] != srv[i]]
        print("agree: module and probity serve: %d of %d differ (%d denies)" % (len(diff), len(qs), denies))
        for i in diff[:3]:
            print("  request %s\n    module %s\n    serve  %s" % (qs[i], mod[i], srv[i]))
        bad += len(diff)
    k = min(args.decide, len(qs))
    diff = []
    for i in range(k):
        d = ask_decide(args, qs[i])
        if d != mod[i]:
            diff.append((i, d))
    print("agree: module and probity decide: %d of %d differ" % (len(diff), k))
    for i, d in diff[:3]:
        print("  request %s\n    module %s\n    decide %s" % (qs[i], mod[i], d))
    bad += len(diff)
    if not denies:
        print("agree: no request was denied: the rules were not exercised")
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
