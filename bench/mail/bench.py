#!/usr/bin/env python3
"""bench.py - mail indexing and query latency: probity against notmuch.

Called by bench/mail/run.sh (which builds, installs the peer, generates the
corpus). Both engines index the same maildir; runs alternate between the two
(one warm-up, then RUNS each); queries alternate too. Every run checks that
both sides computed the same answer: the same number of messages indexed,
the same Message-ID set for every query (except the queries queries.tsv marks
as differing by design, which are timed but reported as such).

Prints one line per figure, "name: probity X unit, peer Y unit, ratio R",
and writes the same as JSON to bench/results/mail-N.json.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

root, probity, corpus, work, n_msgs, runs, qreps = sys.argv[1:8]
n_msgs, runs, qreps = int(n_msgs), int(runs), int(qreps)
nmdb = os.path.join(work, "notmuch-db")
ws = os.path.join(work, "ws")
cfg = os.path.join(work, "notmuch-config")
env = dict(os.environ, NOTMUCH_CONFIG=cfg, TZ="UTC")
with open(cfg, "w") as f:
    f.write("[database]\npath=%s\nmail_root=%s\n[new]\ntags=\n[search]\nexclude_tags=\n"
            "[maildir]\nsynchronize_flags=false\n" % (nmdb, corpus))


def timed(cmd, **kw):
    """wall seconds and peak RSS (KiB) of one command"""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench: %s failed: %s" % (" ".join(cmd), p.stderr.decode()[-500:]))
    rss = int(p.stderr.decode().strip().splitlines()[-1])
    return dt, rss, p.stdout


def index_notmuch():
    shutil.rmtree(nmdb, ignore_errors=True)
    os.makedirs(nmdb)
    dt, rss, _ = timed(["notmuch", "new", "--quiet"])
    count = int(subprocess.run(["notmuch", "count", "*"], env=env, stdout=subprocess.PIPE,
                               check=True).stdout)
    return dt, rss, count


def index_probity():
    shutil.rmtree(ws, ignore_errors=True)
    subprocess.run([probity, "init", ws], stdout=subprocess.DEVNULL, check=True)
    dt, rss, out = timed([probity, "mail", "ingest", "--json", ws, corpus])
    return dt, rss, json.loads(out)["messages_new"]


def ms(x):
    return "%.1f" % (x * 1000)


def line(name, pb, peer, unit, ratio):
    print("%s: probity %s %s, peer %s %s, ratio %.2f" % (name, pb, unit, peer, unit, ratio))


results = {"messages": n_msgs, "runs": runs, "query_reps": qreps}

# ---- indexing, alternating, one warm-up --------------------------------------
nm_t, pb_t, nm_rss, pb_rss = [], [], [], []
for r in range(runs + 1):
    a = index_notmuch()
    b = index_probity()
    if a[2] != n_msgs or b[2] != n_msgs:
        sys.exit("bench: indexed %d (notmuch) and %d (probity) of %d messages"
                 % (a[2], b[2], n_msgs))
    if r == 0:
        continue  # warm-up
    nm_t.append(a[0]); nm_rss.append(a[1])
    pb_t.append(b[0]); pb_rss.append(b[1])
nm_rate = n_msgs / statistics.median(nm_t)
pb_rate = n_msgs / statistics.median(pb_t)
results["index"] = {
    "probity_seconds": pb_t, "notmuch_seconds": nm_t,
    "probity_msgs_per_s_median": pb_rate, "notmuch_msgs_per_s_median": nm_rate,
    "probity_msgs_per_s_min_max": [n_msgs / max(pb_t), n_msgs / min(pb_t)],
    "notmuch_msgs_per_s_min_max": [n_msgs / max(nm_t), n_msgs / min(nm_t)],
    "probity_peak_kib": max(pb_rss), "notmuch_peak_kib": max(nm_rss),
}
line("mail index rate (median of %d)" % runs, "%.0f" % pb_rate, "%.0f" % nm_rate,
     "msgs/s", pb_rate / nm_rate)
print("  min-max: probity %.0f-%.0f msgs/s, notmuch %.0f-%.0f msgs/s; peak RSS probity %d KiB,"
      " notmuch %d KiB" % (n_msgs / max(pb_t), n_msgs / min(pb_t), n_msgs / max(nm_t),
                          n_msgs / min(nm_t), max(pb_rss), max(nm_rss)))
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(nmdb) for f in fs)
results["index"]["notmuch_db_bytes"] = size
results["index"]["probity_db_bytes"] = os.path.getsize(os.path.join(ws, "probity.db"))

# ---- queries --------------------------------------------------------------------
queries = []
with open(os.path.join(root, "bench", "mail", "queries.tsv")) as f:
    for ln in f:
        ln = ln.rstrip("\n")
        if not ln or ln.startswith("#"):
            continue
        want, q = ln.split("\t")[:2]
        queries.append((want, q))


def q_notmuch(q):
    t0 = time.perf_counter()
    p = subprocess.run(["notmuch", "search", "--output=messages", "--", q], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode:
        sys.exit("bench: notmuch rejected %r: %s" % (q, p.stderr.decode()))
    return dt, sorted(set(x[3:] for x in p.stdout.decode().split("\n") if x))


def q_probity(q):
    t0 = time.perf_counter()
    p = subprocess.run([probity, "search", "--ids", "--as", "bench", "--", ws, "BENCH", q],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode:
        sys.exit("bench: probity rejected %r: %s" % (q, p.stderr.decode()))
    return dt, sorted(x for x in p.stdout.decode().split("\n") if x)


nm_lat, pb_lat, per_query, mismatched = [], [], [], []
for want, q in queries:
    q_notmuch(q), q_probity(q)  # warm-up
    a_t, b_t = [], []
    for _ in range(qreps):
        ta, sa = q_notmuch(q)
        tb, sb = q_probity(q)
        if (sa == sb) != (want == "same"):
            mismatched.append(q)
        a_t.append(ta)
        b_t.append(tb)
    nm_lat += a_t
    pb_lat += b_t
    per_query.append({"query": q, "expect": want, "hits_notmuch": len(sa),
                      "hits_probity": len(sb), "notmuch_ms_median": statistics.median(a_t) * 1e3,
                      "probity_ms_median": statistics.median(b_t) * 1e3})


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


results["queries"] = {
    "count": len(queries), "per_query": per_query, "mismatched": mismatched,
    "probity_p50_ms": pct(pb_lat, 50) * 1e3, "probity_p99_ms": pct(pb_lat, 99) * 1e3,
    "notmuch_p50_ms": pct(nm_lat, 50) * 1e3, "notmuch_p99_ms": pct(nm_lat, 99) * 1e3,
}
line("mail query latency p50 (%d queries x %d)" % (len(queries), qreps), ms(pct(pb_lat, 50)),
     ms(pct(nm_lat, 50)), "ms", pct(pb_lat, 50) / pct(nm_lat, 50))
line("mail query latency p99 (%d queries x %d)" % (len(queries), qreps), ms(pct(pb_lat, 99)),
     ms(pct(nm_lat, 99)), "ms", pct(pb_lat, 99) / pct(nm_lat, 99))
same = sum(1 for w, _ in queries if w == "same")
print("  answers: %d queries with the same Message-ID set every run, %d differing by design,"
      " %d unexpected" % (same - len([m for m in mismatched]), len(queries) - same,
                          len(mismatched)))
for pq in per_query:
    print("  %-60s hits %6d/%6d  probity %7.1f ms  notmuch %7.1f ms"
          % (pq["query"][:60], pq["hits_probity"], pq["hits_notmuch"], pq["probity_ms_median"],
             pq["notmuch_ms_median"]))
os.makedirs(os.path.join(root, "bench", "results"), exist_ok=True)
out = os.path.join(root, "bench", "results", "mail-%d.json" % n_msgs)
with open(out, "w") as f:
    json.dump(results, f, indent=2)
print("results: " + out)
if mismatched:
    sys.exit("bench: answers differ for: " + "; ".join(mismatched))
