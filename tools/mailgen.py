#!/usr/bin/env python3
"""mailgen.py - a deterministic synthetic mail archive for benchmarks.

usage: tools/mailgen.py OUT_DIR [--messages N] [--seed S] [--folders F]

Writes N messages as a maildir tree (OUT_DIR/fNNN/cur/<n>:2,), the form both
probity and notmuch read, so the two engines index the very same bytes. The
same seed always gives the same archive. Messages have threads (In-Reply-To
and References), Zipf-distributed words from a fixed vocabulary (so term and
phrase frequencies look like text), some HTML alternatives, some base64
attachments, and dates spread over two years. All names are invented.
"""
import argparse
import base64
import os
import random
import sys

SYLLABLES = ["ka", "lo", "mi", "ra", "ne", "to", "su", "vi", "de", "po", "an", "el", "or",
             "un", "is", "ba", "ce", "fi", "go", "hu", "jo", "ku", "le", "ma", "no", "pe",
             "qu", "ri", "sa", "tu", "ve", "wo", "xa", "yo", "ze"]
DOMAIN = ["storage", "capacity", "region", "petabytes", "terabytes", "quota", "invoice",
          "customer", "contract", "renewal", "expansion", "migration", "latency", "backup",
          "archive", "transcription", "translation", "speech", "cluster", "Europe",
          "West", "North", "datacenter", "approval", "forecast", "budget", "account",
          "escalation", "review", "policy", "compliance", "security", "network", "outage"]
PEOPLE = [("Ada", "Moreau"), ("Ben", "Okafor"), ("Chloe", "Nakamura"), ("Dmitri", "Varga"),
          ("Elena", "Silva"), ("Farid", "Haddad"), ("Greta", "Lind"), ("Hugo", "Brandt"),
          ("Ines", "Costa"), ("Jonas", "Berg"), ("Kira", "Tanaka"), ("Luca", "Romano"),
          ("Maya", "Cohen"), ("Nils", "Dahl"), ("Olga", "Petrov"), ("Pavel", "Novak"),
          ("Rosa", "Ortega"), ("Sami", "Khan"), ("Tara", "Walsh"), ("Umar", "Diallo")]


def vocabulary(rng, n=4000):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    words = sorted(words)
    rng.shuffle(words)
    return DOMAIN + words


def zipf_picker(rng, vocab):
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    import bisect

    def pick():
        return vocab[bisect.bisect_left(cum, rng.random() * total)]
    return pick


def person(rng):
    first, last = rng.choice(PEOPLE)
    return "%s %s <%s.%s@provider.example>" % (first, last, first.lower(), last.lower())


def sentence(pick, rng):
    words = [pick() for _ in range(rng.randint(6, 18))]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def body(pick, rng):
    paras = []
    for _ in range(rng.randint(1, 5)):
        paras.append(" ".join(sentence(pick, rng) for _ in range(rng.randint(1, 5))))
    return "\n\n".join(paras) + "\n"


def wrap(text, width=76):
    out = []
    for para in text.split("\n"):
        line = ""
        for w in para.split(" "):
            if line and len(line) + 1 + len(w) > width:
                out.append(line)
                line = w
            else:
                line = (line + " " + w) if line else w
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=20250301)
    ap.add_argument("--folders", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    vocab = vocabulary(rng)
    pick = zipf_picker(rng, vocab)
    folders = a.folders or max(1, a.messages // 1000)
    start = 1704067200  # 2024-01-01
    span = 2 * 365 * 86400
    threads = []  # (message-id, references, subject)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec"]
    import time as _t
    for i in range(a.messages):
        t = start + (span * i) // a.messages + rng.randint(0, 3600)
        tm = _t.gmtime(t)
        date = "%s, %02d %s %d %02d:%02d:%02d +0000" % (days[tm.tm_wday], tm.tm_mday,
                                                         months[tm.tm_mon - 1], tm.tm_year,
                                                         tm.tm_hour, tm.tm_min, tm.tm_sec)
        mid = "%d.%d@mailgen.provider.example" % (i, a.seed)
        hdr = ["From: " + person(rng), "To: " + person(rng)]
        if rng.random() < 0.4:
            hdr.append("Cc: " + ", ".join(person(rng) for _ in range(rng.randint(1, 3))))
        if threads and rng.random() < 0.35:
            parent, refs, subj = threads[rng.randrange(max(0, len(threads) - 200),
                                                       len(threads))]
            refs = (refs + [parent])[-10:]
            subject = subj if subj.startswith("Re: ") else "Re: " + subj
            hdr.append("In-Reply-To: <%s>" % parent)
            hdr.append("References: " + " ".join("<%s>" % r for r in refs))
        else:
            refs = []
            subject = sentence(pick, rng)[:-1]
            if len(subject) > 60:
                subject = subject[:60].rsplit(" ", 1)[0]
        threads.append((mid, refs, subject))
        hdr += ["Subject: " + subject, "Date: " + date, "Message-ID: <%s>" % mid,
                "MIME-Version: 1.0"]
        text = wrap(body(pick, rng))
        r = rng.random()
        if r < 0.10:
            html = "<html><body>" + "".join("<p>%s</p>" % p for p in text.split("\n\n")) + \
                   "</body></html>"
            parts = ("Content-Type: multipart/alternative; boundary=\"alt%d\"\n\n"
                     "--alt%d\nContent-Type: text/plain; charset=utf-8\n\n%s\n"
                     "--alt%d\nContent-Type: text/html; charset=utf-8\n\n%s\n--alt%d--\n"
                     % (i, i, text, i, html, i))
            msg = "\n".join(hdr) + "\n" + parts
        elif r < 0.15:
            blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(200, 2000)))
            b64 = base64.encodebytes(blob).decode()
            name = "%s-%d.pdf" % (pick(), i)
            parts = ("Content-Type: multipart/mixed; boundary=\"mix%d\"\n\n"
                     "--mix%d\nContent-Type: text/plain; charset=utf-8\n\n%s\n"
                     "--mix%d\nContent-Type: application/pdf; name=\"%s\"\n"
                     "Content-Disposition: attachment; filename=\"%s\"\n"
                     "Content-Transfer-Encoding: base64\n\n%s--mix%d--\n"
                     % (i, i, text, i, name, name, b64, i))
            msg = "\n".join(hdr) + "\n" + parts
        else:
            msg = "\n".join(hdr) + "\nContent-Type: text/plain; charset=utf-8\n\n" + text
        d = os.path.join(a.out, "f%03d" % (i % folders), "cur")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "%07d:2," % i), "w", encoding="utf-8") as f:
            f.write(msg)
    print("mailgen: %d messages in %d folders under %s (seed %d)"
          % (a.messages, folders, a.out, a.seed), file=sys.stderr)


if __name__ == "__main__":
    main()
