#!/usr/bin/env python3
"""focus_check.py CSV WS - recompute per-account totals of a FOCUS CSV with
Python's csv module and exact Decimal arithmetic, independently of probity, and
compare them with what probity stored in workspace WS: billed cost per billing
account (probity accounts --json) and accepted rows per account (sqlite3 on the
usage view). Rows whose BilledCost is not a number are skipped (probity rejects
them). Exits 1 and prints the differences when they disagree."""
import csv, decimal, gzip, json, os, subprocess, sys
from collections import defaultdict

path, ws = sys.argv[1], sys.argv[2]
probity = os.environ["PROBITY"]
opener = gzip.open if path.endswith(".gz") else open
billed, rows = defaultdict(decimal.Decimal), defaultdict(int)
with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
    for r in csv.DictReader(f):
        try:
            b = decimal.Decimal(r["BilledCost"])
        except decimal.InvalidOperation:
            continue
        billed[r["BillingAccountId"]] += b
        rows[r["BillingAccountId"]] += 1

out = subprocess.run([probity, "accounts", "--json", ws], capture_output=True, text=True, check=True)
got_billed = {a["account_id"]: decimal.Decimal(a["billed_cost"])
              for a in json.loads(out.stdout) if a["kind"] == "billing"}
q = subprocess.run(["sqlite3", os.path.join(ws, "probity.db"),
                    "SELECT account, sum(rows) FROM usage GROUP BY account"],
                   capture_output=True, text=True, check=True)
got_rows = {l.rsplit("|", 1)[0]: int(l.rsplit("|", 1)[1]) for l in q.stdout.splitlines()}
bad = 0
for acct in sorted(set(billed) | set(got_billed)):
    if billed.get(acct) != got_billed.get(acct) or rows.get(acct) != got_rows.get(acct):
        print(f"{acct}: python billed {billed.get(acct)} rows {rows.get(acct)}; "
              f"probity billed {got_billed.get(acct)} rows {got_rows.get(acct)}")
        bad += 1
print(f"{len(billed)} accounts checked, {bad} differ")
sys.exit(1 if bad or not billed else 0)
