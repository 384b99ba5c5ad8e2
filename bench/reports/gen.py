#!/usr/bin/env python3
"""gen.py N - SQL inserting N generated review cases of 2025 into a fresh
workspace database: 1 customer per 10 cases, a plan (new, 2 approvals, apply)
on 60% of closed cases, a rollback on 1 in 10 applied plans, an appeal on 1 in
5 (decided: upheld, partly-upheld, rejected, or left open). Deterministic."""
import json, random, sys

n = int(sys.argv[1])
rnd = random.Random(17)
out = sys.stdout
out.write("BEGIN;\n")
for c in range(1, n // 10 + 2):
    out.write("INSERT INTO customer(id, name, created_at) VALUES (%d, 'bench customer %d', '2025-01-01T00:00:00Z');\n" % (c, c))
plan = 0
ev = 0
idx = 1000000
def t(day, sec=0):
    import datetime
    d = datetime.datetime(2025, 1, 1) + datetime.timedelta(days=day, seconds=sec)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")
cats = ["Storage", "Compute", "AI and Machine Learning", "Networking", "Databases"]
countries = ["NL", "DE", "FR", "IE", "SE", "PL", "ES", "IT"]
for cid in range(1, n + 1):
    cust = cid // 10 + 1
    opened = rnd.randrange(0, 330)
    trig = opened - rnd.randrange(0, 30)
    closed = rnd.random() < 0.8
    cday = opened + rnd.randrange(1, 30)
    url = "'https://news.example/%d'" % cid if rnd.random() < 0.6 else "NULL"
    out.write("INSERT INTO review_case VALUES (%d, %d, 'case %d', 'trigger', %s, '%s', '%s', '%s', 'alice', %s, %s, %s);\n" % (
        cid, cust, cid, url, t(trig)[:10], "closed" if closed else "open", t(opened), 
        "'%s'" % t(cday) if closed else "NULL", "'bob'" if closed else "NULL", "'decided'" if closed else "NULL"))
    if not closed or rnd.random() >= 0.6:
        continue
    plan += 1
    rules = []
    total = rnd.random() < 0.05
    if total:
        rules.append({"account": ["A%d" % cust], "effect": "disable", "selector": 1})
        keep = []
    else:
        r = {"account": ["A%d" % cust], "category": [rnd.choice(cats)], "effect": "disable", "selector": 1}
        if rnd.random() < 0.7:
            r["country"] = [rnd.choice(countries)]
        rules.append(r)
        keep = ["category=Security"]
        rules.append({"account": ["A%d" % cust], "category": ["Security"], "effect": "keep", "selector": 1})
    body = json.dumps({"case": cid, "keep": keep, "rules": rules, "plan": plan}, separators=(",", ":"))
    appr = cday + rnd.randrange(0, 10)
    app = appr + rnd.randrange(0, 5)
    rolled = rnd.random() < 0.1
    out.write("INSERT INTO plan VALUES (%d, %d, %d, '%s', 1, '%s', 'sha%d', '%s', 'alice', 1, 0, NULL);\n" % (
        plan, cid, cust, "rolled-back" if rolled else "applied", body.replace("'", "''"), plan, t(cday)))
    evs = [("new", t(cday), "alice"), ("approve", t(appr, 100), "bob"), ("approve", t(appr, 200), "dana"), ("apply", t(app, 300), "alice")]
    if rolled:
        evs.append(("rollback", t(app + 20), "bob"))
    for k, at, who in evs:
        ev += 1
        out.write("INSERT INTO plan_event VALUES (%d, %d, '%s', '%s', '%s', 'sha%d', NULL, NULL, NULL, 0);\n" % (ev, plan, k, who, at, plan))
    if rnd.random() < 0.2:
        idx += 1
        rec = t(app + rnd.randrange(1, 20))[:10]
        d = {"action": "appeal.open", "details": {"appeal": 1, "plan": plan, "received": rec}}
        out.write("INSERT INTO audit_entry VALUES (%d, '%s', x'00', '%s', 'alice', 'appeal.open', %d, 'plan/%d');\n" % (idx, json.dumps(d, separators=(",", ":")), rec, cid, plan))
        o = rnd.choice(["upheld", "partly-upheld", "rejected", None])
        if o:
            idx += 1
            d = {"action": "appeal.decide", "details": {"appeal": 1, "outcome": o, "plan": plan}}
            out.write("INSERT INTO audit_entry VALUES (%d, '%s', x'00', '%s', 'erin', 'appeal.decide', %d, 'plan/%d');\n" % (idx, json.dumps(d, separators=(",", ":")), rec, cid, plan))
out.write("COMMIT;\n")
