#!/usr/bin/env python3
"""native_check.py KIND FILE WS - recompute the billed cost per usage account of
a native AWS CUR or Azure cost export with Python's csv module and Decimal, and
compare with what probity stored (sub-accounts in probity accounts --json).
Each value is first rounded to 15 decimal places, as probity documents."""
import csv, decimal, gzip, json, os, subprocess, sys
from collections import defaultdict

kind, path, ws = sys.argv[1:4]
opener = gzip.open if path.endswith(".gz") else open
want = defaultdict(decimal.Decimal)
# probity keeps 15 decimal places, rounding half to even (docs/ingest.md)
Q = decimal.Decimal("1e-15")
def dec(s):
    return decimal.Decimal(s).quantize(Q, rounding=decimal.ROUND_HALF_EVEN)
with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
    for r in csv.DictReader(f):
        if kind == "aws":
            cost = r.get("lineItem/NetUnblendedCost") or r["lineItem/UnblendedCost"]
            want[r["lineItem/UsageAccountId"]] += dec(cost)
        else:
            cost = r.get("CostInBillingCurrency") or r["Cost"]
            want[r["SubscriptionId"]] += dec(cost)
out = subprocess.run([os.environ["PROBITY"], "accounts", "--json", ws], capture_output=True,
                     text=True, check=True)
got = defaultdict(decimal.Decimal)
for a in json.loads(out.stdout):
    if a["kind"] == "sub":
        got[a["account_id"]] += decimal.Decimal(a["billed_cost"])
bad = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
for k in bad:
    print(f"{k}: python {want.get(k)} probity {got.get(k)}")
print(f"{len(want)} accounts, {len(bad)} differ")
sys.exit(1 if bad or not want else 0)
