#!/usr/bin/env python3
"""policy-fixture.py OUT.csv - the usage export the policy differential tests
read (tests/data/policy/usage.csv). Deterministic. Its columns are exactly
those of the table focus_cost_and_usage (docs/policy.md), in that order, so
the same file loads into probity (ingest) and into SQLite/PostgreSQL (COPY).

Eight billing accounts over 2025-01-01..2026-02-28 exercise: units that need
normalising (TB-Months, Audio Minutes, 1K Characters, 10K Transactions),
growth from zero, accounts that stop, empty months, credits, two currencies,
several regions and countries, empty (null) sub-accounts and meters."""
import datetime, random, sys

COLS = ["BillingAccountId", "SubAccountId", "ProviderName", "ServiceCategory",
        "ServiceSubcategory", "ServiceName", "SkuMeter", "RegionId", "ChargeCategory",
        "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ConsumedQuantity", "ConsumedUnit",
        "BilledCost", "EffectiveCost", "ListCost"]
STORE = ("Storage", "Object Storage", "Storage Accounts", "Hot LRS Data Stored")
STT = ("AI and Machine Learning", "AI Platforms", "Azure AI Services", "Speech to Text Standard")
TRN = ("AI and Machine Learning", "AI Platforms", "Azure AI Services", "S1 Translator Text")
VM = ("Compute", "Virtual Machines", "Virtual Machines", "D4s v5")
KV = ("Security", "Secret Management", "Key Vault", "Operations")

def q(x):
    return ("%.3f" % x).rstrip("0").rstrip(".") if x != int(x) else str(int(x))

def main():
    rnd = random.Random(20261101)
    out = open(sys.argv[1], "w", newline="")
    out.write(",".join(COLS) + "\n")
    d0 = datetime.date(2025, 1, 1)
    d1 = datetime.date(2026, 3, 1)
    day = d0
    while day < d1:
        n = (day - d0).days
        m = (day.year - 2025) * 12 + day.month - 1
        rows = []
        def add(acct, sub, svc, region, qty, unit, price, cur="EUR", charge="Usage"):
            cost = round(qty * price, 2)
            if charge == "Credit":
                cost = -cost
            rows.append([acct, sub, "Microsoft", svc[0], svc[1], svc[2], svc[3], region, charge,
                         cur, day.isoformat() + "T00:00:00Z",
                         (day + datetime.timedelta(days=1)).isoformat() + "T00:00:00Z", q(qty), unit, q(cost), q(cost),
                         q(abs(cost) * 1.25)])
        # A1: storage in westeurope growing 10% a month, half of it billed in TB-Months;
        # speech in Audio Minutes and translation in 1K Characters from month 6
        s = 2000.0 * (1.1 ** m)
        add("A1", "a1-store", STORE, "westeurope", round(s, 2), "GB-Months", 0.02)
        add("A1", "a1-store", STORE, "westeurope", round(s / 2000, 3), "TB-Months", 20)
        if m >= 6:
            add("A1", "a1-ai", STT, "westeurope", 60 * (500 + 25 * m), "Audio Minutes", 0.016)
            add("A1", "a1-ai", TRN, "westeurope", 1000 + 50 * m, "1K Characters", 0.01)
        # A2: storage from zero in month 4 in northeurope (IE), and eastus (US) throughout
        if m >= 4:
            add("A2", "", STORE, "northeurope", 500.0 + 100 * (m - 4), "GB-Months", 0.02)
        add("A2", "", STORE, "eastus", 250.0, "GB-Months", 0.02)
        # A3: virtual machines, with a credit on the first of each month
        add("A3", "a3-vm", VM, "westeurope", 24.0 * (2 + m % 3), "Hours", 0.25)
        if day.day == 1:
            add("A3", "a3-vm", VM, "westeurope", 10.0, "Hours", 0.25, charge="Credit")
        # A4: billed in USD
        add("A4", "a4", VM, "eastus", 48.0, "Hours", 0.5, cur="USD")
        # A5: one day of storage in March 2025 only
        if day == datetime.date(2025, 3, 14):
            add("A5", "a5", STORE, "westeurope", 123.5, "GB-Months", 0.02)
        # A6: speech in Audio Hours, westeurope and eastus
        add("A6", "a6", STT, "westeurope", 100.0 + (n % 7), "Audio Hours", 1.0)
        add("A6", "a6", STT, "eastus", 40.0, "Audio Hours", 1.0)
        # A7: key vault operations in 10K Transactions (normalised to Requests)
        add("A7", "a7", KV, "westeurope", 3.5 + rnd.randint(0, 4) * 0.25, "10K Transactions",
            0.03)
        # A8: storage that stops after 2025-11
        if m <= 10:
            add("A8", "a8", STORE, "westeurope", 3000.0, "GB-Months", 0.02)
        for r in rows:
            out.write(",".join(r) + "\n")
        day += datetime.timedelta(days=1)

main()
