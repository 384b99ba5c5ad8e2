#!/usr/bin/env python3
"""policy-compare.py NATIVE.json SQL.csv - compare the findings of
'probity scan --all --json' (per billing account) or 'probity scan --json'
(per customer) with the rows of the compiled SQL ('policy sql --by account'
or '--by customer'; CSV with a header: entity, kind, name, period, figure,
infinite, fired, severity).

Both must have the same entities (accounts or customers, by name); every
(entity, indicator) must agree on fired, infinite and period exactly,
and on the figure within a relative 1e-9 (engines that sum in binary floating
point); the matched rules must be the same. Prints the differences and exits
1 when there are any; prints 'compared N' otherwise."""
import csv, json, sys

def month_no(p):
    if p is None or p == "":
        return None
    if isinstance(p, str) and "-" in p:
        y, m = p.split("-")
        return int(y) * 12 + int(m) - 1
    return int(float(p))

def num(x):
    if x is None or x == "":
        return None
    return float(x)

def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))

def compare(native, sqlcsv):
    doc = json.load(open(native))
    nat, nrules = {}, set()
    for r in doc["results"]:
        for i in r["indicators"]:
            nat[(r["entity"], i["name"])] = (month_no(i.get("period")), num(i.get("figure")),
                                            bool(i.get("infinite")), bool(i["fired"]))
        for f in r["findings"]:
            nrules.add((r["entity"], f["rule"], f["severity"]))
    sql, srules = {}, set()
    with open(sqlcsv, newline="") as fh:
        rd = csv.DictReader(fh)
        for row in rd:
            row = {k.lower(): v for k, v in row.items()}
            if row["kind"] == "rule":
                srules.add((row["entity"], row["name"], row["severity"]))
                continue
            fig = num(row["figure"]) if row["figure"] not in ("", None) else None
            sql[(row["entity"], row["name"])] = (month_no(row["period"]), fig,
                                                row["infinite"] in ("1", "t", "true"),
                                                row["fired"] in ("1", "t", "true"))
    bad = []
    for k in sorted(set(nat) | set(sql)):
        a, b = nat.get(k), sql.get(k)
        if a is None or b is None:
            bad.append("%s: only in %s" % (k, "sql" if a is None else "native"))
            continue
        if a[0] != b[0] or a[2] != b[2] or a[3] != b[3] or not close(a[1], b[1]):
            bad.append("%s: native %s, sql %s" % (k, a, b))
    for r in sorted(nrules ^ srules):
        bad.append("rule %s only in %s" % (r, "native" if r in nrules else "sql"))
    if bad:
        return False, "; ".join(bad[:5]) + " (%d differences)" % len(bad)
    return True, "compared %d indicator results of %d %s, %d findings" % (
        len(nat), len(doc["results"]), doc.get("scope", "entities"), len(nrules))

def main():
    # --pairs LIST: one "label native.json sql.csv" a line; prints PASS/FAIL lines
    if sys.argv[1] == "--pairs":
        for line in open(sys.argv[2]):
            label, a, b = line.split()
            try:
                good, text = compare(a, b)
            except Exception as e:  # a missing or unreadable output is a failure
                good, text = False, "cannot compare: %s" % e
            print("%s %s: %s" % ("PASS" if good else "FAIL", label, text))
        return
    good, text = compare(sys.argv[1], sys.argv[2])
    print(text)
    sys.exit(0 if good else 1)

main()
