-- peer.sql - the eight tables of the transparency report for 2025, by the
-- sqlite3 shell alone (bench/reports/run.sh compares its rows with probity's).
WITH t(kind) AS (VALUES ('public-report'), ('other'))
SELECT t.kind, (SELECT count(*) FROM review_case c WHERE c.opened_at >= '2025-01-01' AND c.opened_at < '2026-01-01'
  AND (CASE WHEN c.trigger_url IS NOT NULL AND c.trigger_url != '' THEN 'public-report' ELSE 'other' END) = t.kind) FROM t;

WITH o(outcome, ord) AS (VALUES ('no-action', 1), ('partial-suspension', 2), ('total-suspension', 3), ('termination', 4)),
pc AS (SELECT p.case_id, max(json_array_length(p.body, '$.keep') = 0 AND EXISTS (SELECT 1 FROM json_each(p.body, '$.rules') r
    WHERE json_extract(r.value, '$.effect') = 'disable' AND json_extract(r.value, '$.category') IS NULL
    AND json_extract(r.value, '$.subcategory') IS NULL AND json_extract(r.value, '$.service') IS NULL
    AND json_extract(r.value, '$.capability') IS NULL AND json_extract(r.value, '$.region') IS NULL
    AND json_extract(r.value, '$.country') IS NULL)) AS total
  FROM plan p WHERE p.applied_version IS NOT NULL GROUP BY p.case_id),
k AS (SELECT CASE WHEN pc.case_id IS NULL THEN 'no-action' WHEN pc.total THEN 'total-suspension' ELSE 'partial-suspension' END AS outcome
  FROM review_case c LEFT JOIN pc ON pc.case_id = c.id
  WHERE c.status = 'closed' AND c.closed_at >= '2025-01-01' AND c.closed_at < '2026-01-01')
SELECT o.outcome, (SELECT count(*) FROM k WHERE k.outcome = o.outcome) FROM o ORDER BY o.ord;

WITH a AS (SELECT DISTINCT plan_id AS id FROM plan_event WHERE kind = 'apply' AND at >= '2025-01-01' AND at < '2026-01-01'),
d(dim, value, plan) AS (SELECT DISTINCT k.key, v.value, p.id FROM a JOIN plan p ON p.id = a.id, json_each(p.body, '$.rules') r,
  json_each(r.value) k, json_each(k.value) v
  WHERE json_extract(r.value, '$.effect') = 'disable' AND k.key IN ('category', 'subcategory', 'service', 'capability'))
SELECT dim, value, count(*) FROM d GROUP BY dim, value ORDER BY count(*) DESC, dim, value;

WITH a AS (SELECT DISTINCT plan_id AS id FROM plan_event WHERE kind = 'apply' AND at >= '2025-01-01' AND at < '2026-01-01'),
d(country, plan) AS (SELECT DISTINCT CASE WHEN json_extract(r.value, '$.country') IS NOT NULL THEN v.value
    WHEN json_extract(r.value, '$.region') IS NOT NULL THEN '(regions)' ELSE '(all)' END, p.id
  FROM a JOIN plan p ON p.id = a.id, json_each(p.body, '$.rules') r,
  json_each(CASE WHEN json_extract(r.value, '$.country') IS NOT NULL THEN json_extract(r.value, '$.country') ELSE '[0]' END) v
  WHERE json_extract(r.value, '$.effect') = 'disable')
SELECT country, count(*) FROM d GROUP BY country ORDER BY count(*) DESC, country;

WITH a AS (SELECT DISTINCT plan_id AS id FROM plan_event WHERE kind = 'apply' AND at >= '2025-01-01' AND at < '2026-01-01')
SELECT 'customers-affected', count(DISTINCT p.customer_id) FROM a JOIN plan p ON p.id = a.id
UNION ALL SELECT 'plans-applied', count(*) FROM a;

WITH a AS (SELECT DISTINCT plan_id AS id FROM plan_event WHERE kind = 'apply' AND at >= '2025-01-01' AND at < '2026-01-01'),
ap AS (SELECT plan_id AS id, min(at) AS applied FROM plan_event WHERE kind = 'apply' GROUP BY plan_id),
dec AS (SELECT ap.id, max(e.at) AS decided FROM ap JOIN plan_event e ON e.plan_id = ap.id AND e.kind = 'approve' AND e.at <= ap.applied GROUP BY ap.id),
x AS (SELECT julianday(dec.decided) - julianday(coalesce(c.trigger_date, substr(c.opened_at, 1, 10))) AS td,
  julianday(ap.applied) - julianday(dec.decided) AS de
  FROM a JOIN ap ON ap.id = a.id JOIN plan p ON p.id = a.id JOIN review_case c ON c.id = p.case_id LEFT JOIN dec ON dec.id = a.id),
m(name, ord, v) AS (SELECT 'trigger-to-decision', 1, td FROM x WHERE td IS NOT NULL
  UNION ALL SELECT 'decision-to-enforcement', 2, de FROM x WHERE de IS NOT NULL),
r AS (SELECT name, ord, v, row_number() OVER (PARTITION BY name ORDER BY v) AS rn, count(*) OVER (PARTITION BY name) AS n FROM m)
SELECT name, n, printf('%.1f', max(CASE WHEN rn = (n + 1) / 2 THEN v END)), printf('%.1f', max(CASE WHEN rn = (9 * n + 9) / 10 THEN v END))
FROM r GROUP BY name ORDER BY ord;

WITH o(outcome, ord) AS (VALUES ('received', 0), ('upheld', 1), ('partly-upheld', 2), ('rejected', 3), ('open', 4)),
op AS (SELECT json_extract(data, '$.details.plan') AS plan, json_extract(data, '$.details.appeal') AS n FROM audit_entry
  WHERE action = 'appeal.open' AND json_extract(data, '$.details.received') >= '2025-01-01' AND json_extract(data, '$.details.received') < '2026-01-01'),
dc AS (SELECT json_extract(data, '$.details.plan') AS plan, json_extract(data, '$.details.appeal') AS n,
  json_extract(data, '$.details.outcome') AS outcome FROM audit_entry WHERE action = 'appeal.decide'),
k AS (SELECT coalesce(dc.outcome, 'open') AS outcome FROM op LEFT JOIN dc ON dc.plan = op.plan AND dc.n = op.n)
SELECT o.outcome, CASE o.outcome WHEN 'received' THEN (SELECT count(*) FROM k) ELSE (SELECT count(*) FROM k WHERE k.outcome = o.outcome) END
FROM o ORDER BY o.ord;

SELECT 'plans-rolled-back', count(DISTINCT plan_id) FROM plan_event WHERE kind = 'rollback' AND at >= '2025-01-01' AND at < '2026-01-01';
