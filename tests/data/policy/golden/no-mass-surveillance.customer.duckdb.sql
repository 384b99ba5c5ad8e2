-- probity policy 'no-mass-surveillance' (sha256 c1b30d1b8d083fea15650b146e26d8395965fb120301eca35afb851cc66eccb4), compiled for duckdb, scan at 2026-11-01
-- Reads focus_cost_and_usage, the customers in probity_customer and the
-- catalog tables probity_region, probity_unit and probity_capability
-- (docs/policy.md). One row per customer and indicator, and one per
-- matched rule.
WITH u AS (
  SELECT f.BillingAccountId AS account, coalesce(cb.customer, cs.customer) AS entity, date_diff('day', DATE '1970-01-01', CAST(f.ChargePeriodStart AS DATE)) AS dn, (CAST(EXTRACT(YEAR FROM f.ChargePeriodStart) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM f.ChargePeriodStart) AS INTEGER) - 1) AS mn,
    f.SubAccountId AS subaccount, f.ProviderName AS provider, f.ServiceCategory AS category,
    f.ServiceSubcategory AS subcategory, f.ServiceName AS service, cap.capability AS capability,
    coalesce(reg.region_id, f.RegionId) AS region, reg.country AS country,
    f.ChargeCategory AS charge_category, f.BillingCurrency AS currency,
    coalesce(un.normalised, f.ConsumedUnit) AS unit,
    CASE WHEN un.normalised IS NULL THEN coalesce(CAST(f.ConsumedQuantity AS DOUBLE), 0) ELSE coalesce(CAST(f.ConsumedQuantity AS DOUBLE), 0) * CAST(un.factor_num AS DOUBLE) / un.factor_den END AS quantity,
    coalesce(CAST(f.BilledCost AS DOUBLE), 0) AS billed_cost, coalesce(CAST(f.EffectiveCost AS DOUBLE), 0) AS effective_cost,
    coalesce(CAST(f.ListCost AS DOUBLE), 0) AS list_cost
  FROM focus_cost_and_usage f
  LEFT JOIN probity_region reg ON reg.spelling = lower(f.RegionId)
  LEFT JOIN probity_unit un ON un.spelling = lower(f.ConsumedUnit)
  LEFT JOIN probity_capability cap ON cap.service_name = f.ServiceName AND cap.sku_meter = coalesce(f.SkuMeter, '') AND cap.category = coalesce(f.ServiceCategory, '')
  LEFT JOIN (SELECT billing_account_id, min(customer) AS customer FROM probity_customer WHERE sub_account_id IS NULL GROUP BY billing_account_id) cb ON cb.billing_account_id = f.BillingAccountId
  LEFT JOIN (SELECT sub_account_id, min(customer) AS customer FROM probity_customer WHERE sub_account_id IS NOT NULL GROUP BY sub_account_id) cs ON cs.sub_account_id = f.SubAccountId
),
ent AS (SELECT DISTINCT customer AS entity FROM probity_customer),
bounds AS (SELECT min(mn) AS m0 FROM u),
-- indicator 'bulk-storage'
c0 AS (
  SELECT entity AS entity, 0 AS p, country AS grp, mn AS sub, quantity AS cur, 0 AS prev FROM u WHERE 1 = 1 AND entity IS NOT NULL AND capability IN ('object-storage') AND unit = 'GB-Months' AND country IS NOT NULL AND dn >= 20574 AND dn < 20758
),
m0 AS (SELECT entity, p, grp, sub, sum(cur) AS s FROM c0 GROUP BY entity, p, grp, sub),
g0 AS (SELECT entity, p, grp, max(s) AS s, 0 AS r FROM m0 GROUP BY entity, p, grp),
q0 AS (SELECT g.entity, g.p, g.grp, g.s, g.r, 0 AS t FROM g0 g),
k0 AS (SELECT entity, p, grp, s AS figure, 0 AS inf, 1 AS defd, CASE WHEN s >= CAST(1000000 AS DOUBLE) THEN 1 ELSE 0 END AS fired FROM q0),
b0 AS (SELECT entity, p, figure, inf, defd, fired, ROW_NUMBER() OVER (PARTITION BY entity ORDER BY fired DESC, inf DESC, defd DESC, CASE WHEN defd = 1 AND inf = 0 THEN figure ELSE 0 END DESC, p ASC, grp ASC) AS rn FROM k0),
r0 AS (SELECT e.entity, 'bulk-storage' AS indicator, CAST(NULL AS BIGINT) AS period, CASE WHEN b.entity IS NULL THEN CAST(0 AS DOUBLE) ELSE CAST(b.figure AS DOUBLE) END AS figure, coalesce(b.inf, 0) AS inf, CASE WHEN b.entity IS NULL THEN 0 ELSE b.fired END AS fired FROM ent e LEFT JOIN b0 b ON b.entity = e.entity AND b.rn = 1),
-- indicator 'storage-growth'
c1 AS (
  SELECT entity AS entity, 0 AS p, country AS grp, mn AS sub, quantity AS cur, 0 AS prev FROM u WHERE 1 = 1 AND entity IS NOT NULL AND capability IN ('object-storage') AND unit = 'GB-Months' AND country IS NOT NULL AND dn >= 20393 AND dn < 20758
  UNION ALL
  SELECT entity AS entity, 0 AS p, country AS grp, mn AS sub, 0 AS cur, quantity AS prev FROM u WHERE 1 = 1 AND entity IS NOT NULL AND capability IN ('object-storage') AND unit = 'GB-Months' AND country IS NOT NULL AND dn >= 20028 AND dn < 20393
),
g1 AS (SELECT entity, p, grp, sum(cur) AS s, sum(prev) AS r FROM c1 GROUP BY entity, p, grp),
q1 AS (SELECT g.entity, g.p, g.grp, g.s, g.r, 0 AS t FROM g1 g),
k1 AS (SELECT entity, p, grp, CASE WHEN r > 0 THEN s / r END AS figure, CASE WHEN r <= 0 AND s > 0 THEN 1 ELSE 0 END AS inf, CASE WHEN r > 0 OR s > 0 THEN 1 ELSE 0 END AS defd, CASE WHEN r > 0 THEN (CASE WHEN s >= CAST(3 AS DOUBLE) * r THEN 1 ELSE 0 END) WHEN s > 0 THEN 1 ELSE 0 END AS fired FROM q1),
b1 AS (SELECT entity, p, figure, inf, defd, fired, ROW_NUMBER() OVER (PARTITION BY entity ORDER BY fired DESC, inf DESC, defd DESC, CASE WHEN defd = 1 AND inf = 0 THEN figure ELSE 0 END DESC, p ASC, grp ASC) AS rn FROM k1),
r1 AS (SELECT e.entity, 'storage-growth' AS indicator, CAST(NULL AS BIGINT) AS period, CASE WHEN b.entity IS NULL THEN CAST(NULL AS DOUBLE) ELSE CAST(b.figure AS DOUBLE) END AS figure, coalesce(b.inf, 0) AS inf, CASE WHEN b.entity IS NULL THEN 0 ELSE b.fired END AS fired FROM ent e LEFT JOIN b1 b ON b.entity = e.entity AND b.rn = 1),
-- indicator 'speech-industrial'
c2 AS (
  SELECT entity AS entity, 0 AS p, CAST(NULL AS VARCHAR) AS grp, mn AS sub, quantity AS cur, 0 AS prev FROM u WHERE 1 = 1 AND entity IS NOT NULL AND capability IN ('speech-to-text') AND unit = 'Hours' AND dn >= 20668 AND dn < 20758
),
g2 AS (SELECT entity, p, grp, sum(cur) AS s, sum(prev) AS r FROM c2 GROUP BY entity, p, grp),
q2 AS (SELECT e.entity, 0 AS p, CAST(NULL AS VARCHAR) AS grp, coalesce(g.s, 0) AS s, coalesce(g.r, 0) AS r, 0 AS t FROM ent e LEFT JOIN g2 g ON g.entity = e.entity),
k2 AS (SELECT entity, p, grp, s / 90 AS figure, 0 AS inf, 1 AS defd, CASE WHEN s >= CAST(10000 AS DOUBLE) * 90 THEN 1 ELSE 0 END AS fired FROM q2),
b2 AS (SELECT entity, p, figure, inf, defd, fired, ROW_NUMBER() OVER (PARTITION BY entity ORDER BY fired DESC, inf DESC, defd DESC, CASE WHEN defd = 1 AND inf = 0 THEN figure ELSE 0 END DESC, p ASC, grp ASC) AS rn FROM k2),
r2 AS (SELECT e.entity, 'speech-industrial' AS indicator, CAST(NULL AS BIGINT) AS period, CASE WHEN b.entity IS NULL THEN CAST(0 AS DOUBLE) ELSE CAST(b.figure AS DOUBLE) END AS figure, coalesce(b.inf, 0) AS inf, CASE WHEN b.entity IS NULL THEN 0 ELSE b.fired END AS fired FROM ent e LEFT JOIN b2 b ON b.entity = e.entity AND b.rn = 1),
-- indicator 'translation-industrial'
c3 AS (
  SELECT entity AS entity, 0 AS p, CAST(NULL AS VARCHAR) AS grp, mn AS sub, quantity AS cur, 0 AS prev FROM u WHERE 1 = 1 AND entity IS NOT NULL AND capability IN ('translation') AND unit = 'Characters' AND dn >= 20668 AND dn < 20758
),
g3 AS (SELECT entity, p, grp, sum(cur) AS s, sum(prev) AS r FROM c3 GROUP BY entity, p, grp),
q3 AS (SELECT e.entity, 0 AS p, CAST(NULL AS VARCHAR) AS grp, coalesce(g.s, 0) AS s, coalesce(g.r, 0) AS r, 0 AS t FROM ent e LEFT JOIN g3 g ON g.entity = e.entity),
k3 AS (SELECT entity, p, grp, s / 90 AS figure, 0 AS inf, 1 AS defd, CASE WHEN s >= CAST(500000000 AS DOUBLE) * 90 THEN 1 ELSE 0 END AS fired FROM q3),
b3 AS (SELECT entity, p, figure, inf, defd, fired, ROW_NUMBER() OVER (PARTITION BY entity ORDER BY fired DESC, inf DESC, defd DESC, CASE WHEN defd = 1 AND inf = 0 THEN figure ELSE 0 END DESC, p ASC, grp ASC) AS rn FROM k3),
r3 AS (SELECT e.entity, 'translation-industrial' AS indicator, CAST(NULL AS BIGINT) AS period, CASE WHEN b.entity IS NULL THEN CAST(0 AS DOUBLE) ELSE CAST(b.figure AS DOUBLE) END AS figure, coalesce(b.inf, 0) AS inf, CASE WHEN b.entity IS NULL THEN 0 ELSE b.fired END AS fired FROM ent e LEFT JOIN b3 b ON b.entity = e.entity AND b.rn = 1),
ind AS (SELECT * FROM r0 UNION ALL SELECT * FROM r1 UNION ALL SELECT * FROM r2 UNION ALL SELECT * FROM r3),
fl0 AS (SELECT entity, max(CASE WHEN indicator = 'bulk-storage' THEN fired ELSE 0 END) AS f0, max(CASE WHEN indicator = 'storage-growth' THEN fired ELSE 0 END) AS f1, max(CASE WHEN indicator = 'speech-industrial' THEN fired ELSE 0 END) AS f2, max(CASE WHEN indicator = 'translation-industrial' THEN fired ELSE 0 END) AS f3 FROM ind GROUP BY entity),
gs0 AS (SELECT entity, grp, max(CASE WHEN z = 0 THEN fired ELSE 0 END) AS h0, max(CASE WHEN z = 1 THEN fired ELSE 0 END) AS h1 FROM (SELECT entity, grp, fired, 0 AS z FROM k0 UNION ALL SELECT entity, grp, fired, 1 AS z FROM k1) w GROUP BY entity, grp),
sv0 AS (SELECT a.entity, max(CASE WHEN (coalesce(g.h0, 0) + coalesce(g.h1, 0)) >= 2 THEN 1 ELSE 0 END) AS v FROM fl0 a LEFT JOIN gs0 g ON g.entity = a.entity GROUP BY a.entity),
fl1 AS (SELECT a.*, sv.v AS x0 FROM fl0 a JOIN sv0 sv ON sv.entity = a.entity),
gs1 AS (SELECT entity, grp, max(CASE WHEN z = 0 THEN fired ELSE 0 END) AS h0, max(CASE WHEN z = 1 THEN fired ELSE 0 END) AS h1 FROM (SELECT entity, grp, fired, 0 AS z FROM k0 UNION ALL SELECT entity, grp, fired, 1 AS z FROM k1) w GROUP BY entity, grp),
sv1 AS (SELECT a.entity, max(CASE WHEN (coalesce(g.h0, 0) + coalesce(g.h1, 0) + (CASE WHEN (f2 + f3) >= 1 THEN 1 ELSE 0 END)) >= 3 THEN 1 ELSE 0 END) AS v FROM fl1 a LEFT JOIN gs1 g ON g.entity = a.entity GROUP BY a.entity),
fl AS (SELECT a.*, sv.v AS x1 FROM fl1 a JOIN sv1 sv ON sv.entity = a.entity)
SELECT entity, CAST('indicator' AS VARCHAR) AS kind, indicator AS name, period, figure, inf AS infinite, fired, CAST(NULL AS VARCHAR) AS severity FROM ind
UNION ALL SELECT entity, 'indicator', 'surveillance-ai', CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), 0, (CASE WHEN (f2 + f3) >= 1 THEN 1 ELSE 0 END), CAST(NULL AS VARCHAR) FROM fl
UNION ALL SELECT entity, 'indicator', 'storage-pattern', CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), 0, x0, CAST(NULL AS VARCHAR) FROM fl
UNION ALL SELECT entity, 'rule', 'mass-surveillance', CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), 0, 1, 'high' FROM fl WHERE x1 = 1
UNION ALL SELECT entity, 'rule', 'bulk-processing', CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), 0, 1, 'medium' FROM fl WHERE (CASE WHEN (f2 + f3 + (1 - x0)) >= 3 THEN 1 ELSE 0 END) = 1
ORDER BY entity, kind, name;
