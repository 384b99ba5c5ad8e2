#!/usr/bin/env python3
"""policy-suite.py DIR - writes the policies of the differential suite
(tests/data/policy/diff/): each one indicator or a few, over the fixture of
policy-fixture.py, chosen to hit month boundaries, empty windows, nulls, units
that need normalising, growth from zero, shares, every aggregate and window."""
import os, sys

CASES = [
  ("sum-storage-days", "capability: object-storage", "window: last 30 days\n    aggregate: sum\n    threshold: \">= 100 TB-Months\""),
  ("sum-storage-tb", "capability: object-storage\n      account: [A1]", "window: last 2 months\n    aggregate: sum\n    threshold: \">= 9 TB-Months\""),
  ("sum-month-boundary", "capability: object-storage", "window: month 2025-03\n    aggregate: sum\n    threshold: \">= 0.1 GB-Months\""),
  ("sum-empty-month", "capability: object-storage", "window: month 2024-06\n    aggregate: sum\n    threshold: \">= 1 GB-Months\""),
  ("sum-below", "capability: object-storage", "window: last 3 months\n    aggregate: sum\n    threshold: \"< 10000 GB-Months\""),
  ("sum-le-zero", "capability: speech-to-text", "window: last 60 days\n    aggregate: sum\n    threshold: \"<= 0 Hours\""),
  ("sum-minutes", "capability: speech-to-text", "window: last 45 days\n    aggregate: sum\n    threshold: \">= 30000 Audio Minutes\""),
  ("sum-cost-eur", "category: Compute", "measure: billed-cost\n    window: last 1 months\n    aggregate: sum\n    threshold: \">= 500 EUR\""),
  ("sum-cost-usd", "service: Virtual Machines", "measure: billed-cost\n    window: last 1 months\n    aggregate: sum\n    threshold: \">= 500 USD\""),
  ("sum-credits", "charge-category: Credit", "measure: billed-cost\n    window: last 6 months\n    aggregate: sum\n    threshold: \"< 0 EUR\""),
  ("sum-list-cost", "capability: object-storage", "measure: list-cost\n    window: last 90 days\n    aggregate: sum\n    threshold: \"> 2000 EUR\""),
  ("sum-requests", "capability: key-management", "window: last 30 days\n    aggregate: sum\n    threshold: \">= 1000000 Requests\""),
  ("sum-every-month", "capability: object-storage", "window: every month\n    aggregate: sum\n    threshold: \">= 80000 GB-Months\""),
  ("sum-every-month-low", "capability: object-storage", "window: every month\n    aggregate: sum\n    threshold: \"< 100 GB-Months\""),
  ("sum-per-country", "capability: object-storage", "per: country\n    window: last 3 months\n    aggregate: sum\n    threshold: \">= 30000 GB-Months\""),
  ("sum-per-region-every", "capability: speech-to-text", "per: region\n    window: every month\n    aggregate: sum\n    threshold: \">= 3000 Hours\""),
  ("avg-speech", "capability: speech-to-text", "window: last 90 days\n    aggregate: daily-average\n    threshold: \">= 100 Hours/day\""),
  ("avg-translation", "capability: translation", "window: last 2 months\n    aggregate: daily-average\n    threshold: \">= 1 1M Characters/day\""),
  ("avg-every-month", "capability: speech-to-text", "window: every month\n    aggregate: daily-average\n    threshold: \">= 800 Hours\""),
  ("avg-month-feb", "capability: object-storage", "window: month 2026-02\n    aggregate: daily-average\n    threshold: \">= 1000 GB-Months\""),
  ("max-6-months", "capability: object-storage", "window: last 6 months\n    aggregate: monthly-max\n    threshold: \">= 60000 GB-Months\""),
  ("max-per-country", "capability: object-storage", "per: country\n    window: last 12 months\n    aggregate: monthly-max\n    threshold: \">= 20000 GB-Months\""),
  ("max-every", "capability: virtual-machines", "window: every month\n    aggregate: monthly-max\n    threshold: \">= 3000 Hours\""),
  ("growth-months", "capability: object-storage", "unit: GB-Months\n    window: last 3 months\n    aggregate: growth\n    threshold: \">= 1.3x\""),
  ("growth-from-zero", "capability: object-storage\n      region: northeurope", "unit: GB-Months\n    window: month 2025-05\n    aggregate: growth\n    threshold: \">= 2x\""),
  ("growth-percent", "capability: speech-to-text", "unit: Hours\n    window: last 90 days\n    aggregate: growth\n    threshold: \">= 20%\""),
  ("growth-decline", "capability: object-storage", "unit: GB-Months\n    window: last 2 months\n    aggregate: growth\n    threshold: \"< 0.5x\""),
  ("growth-every-month", "capability: object-storage", "unit: GB-Months\n    window: every month\n    aggregate: growth\n    threshold: \">= 1.5x\""),
  ("growth-per-country", "capability: object-storage", "unit: GB-Months\n    per: country\n    window: last 6 months\n    aggregate: growth\n    threshold: \">= 1.5x\""),
  ("growth-cost", "category: Compute", "measure: effective-cost\n    unit: EUR\n    window: last 1 months\n    aggregate: growth\n    threshold: \"> 1x\""),
  ("share-storage", "capability: object-storage", "unit: GB-Months\n    window: last 30 days\n    aggregate: share-of-region\n    threshold: \">= 50%\""),
  ("share-speech-every", "capability: speech-to-text", "unit: Hours\n    window: every month\n    aggregate: share-of-region\n    threshold: \">= 90%\""),
  ("share-country", "capability: object-storage", "unit: GB-Months\n    per: country\n    window: last 3 months\n    aggregate: share-of-region\n    threshold: \"< 10%\""),
  ("share-empty", "capability: llm", "unit: Tokens\n    window: last 30 days\n    aggregate: share-of-region\n    threshold: \">= 1%\""),
  ("sum-unknown-values", "capability: face-recognition", "window: last 30 days\n    aggregate: sum\n    threshold: \"< 1 Images\""),
]

COMBOS = """
  combo-a:
    select:
      capability: object-storage
    per: country
    window: last 6 months
    aggregate: monthly-max
    threshold: ">= 10 TB-Months"
  combo-b:
    select:
      capability: speech-to-text
    window: last 90 days
    aggregate: daily-average
    threshold: ">= 500 Hours/day"
  combo-c:
    select:
      capability: translation
    window: last 90 days
    aggregate: sum
    threshold: ">= 1 1M Characters"
  combo-any:
    when:
      any: [combo-b, combo-c]
rules:
  all-of:
    severity: high
    when:
      all: [combo-a, combo-any]
  two-of:
    severity: medium
    when:
      at-least: 2
      of: [combo-a, combo-b, combo-c]
  none:
    severity: low
    when:
      not:
        any: [combo-a, combo-b, combo-c]
"""

def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for i, (name, sel, rest) in enumerate(CASES, 1):
        with open(os.path.join(d, "%02d-%s.yaml" % (i, name)), "w") as f:
            f.write("policy: %s\ndescription: differential case %s\nclause: test\n"
                    "indicators:\n  it:\n    select:\n      %s\n    %s\n"
                    "rules:\n  hit:\n    severity: high\n    when: it\n  miss:\n"
                    "    severity: low\n    when:\n      not: it\n" % (name, name, sel, rest))
    with open(os.path.join(d, "%02d-combinations.yaml" % (len(CASES) + 1)), "w") as f:
        f.write("policy: combinations\ndescription: rules over several indicators\n"
                "clause: test\nindicators:" + COMBOS)

main()
