#!/usr/bin/env python3
"""webauthn_seeds.py - writes fuzz/corpus/webauthn/ (the framing is
fuzz/fuzz_webauthn.c's) from softauthn's ceremonies and the Chromium vectors
in tests/data/webauthn/. Run from the repository root after `make test-tools`:
    python3 fuzz/webauthn_seeds.py [build/debug]
"""
import base64, json, os, struct, subprocess, sys, tempfile

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/debug"
SA = os.path.join(BUILD, "tests/tools/softauthn")
OUT = "fuzz/corpus/webauthn"
RP, ORIGIN = "localhost", "http://localhost:8080"
ZERO32 = "A" * 43  # base64url of 32 zero bytes: the fuzz target's challenge


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def frame(*parts):
    out = b""
    for p in parts[:-1]:
        out += struct.pack(">H", len(p)) + p
    return out + parts[-1]


def cose_of(att):
    # authData is the attestation object's last member; its COSE key is what
    # follows the credential id (no extensions in these seeds)
    ad = att[att.index(b"hauthData") + 9:]
    hdr = ad[0]
    ad = ad[3:] if hdr == 0x59 else ad[2:]  # bstr with a 2- or 1-byte length
    n = ad[53] << 8 | ad[54]
    return ad, ad[55 + n:]


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    for alg in ("es256", "eddsa"):
        for fmt in ("none", "packed"):
            cred = os.path.join(tmp, alg + fmt + ".json")
            reg = json.loads(subprocess.check_output(
                [SA, "new", "--alg", alg, "--rp-id", RP, "--origin", ORIGIN, "--challenge",
                 ZERO32, "--out", cred, "--fmt", fmt]))
            att = unb64(reg["response"]["attestationObject"])
            cdj = unb64(reg["response"]["clientDataJSON"])
            write("reg-%s-%s" % (alg, fmt), b"\x00" + frame(att, cdj))
            authdata, cose = cose_of(att)
            write("cose-" + alg, b"\x02" + cose)
            write("authdata-reg-" + alg, b"\x03" + authdata)
        a = json.loads(subprocess.check_output(
            [SA, "get", cred, "--rp-id", RP, "--origin", ORIGIN, "--challenge", ZERO32]))
        r = a["response"]
        ad, sig, cdj = (unb64(r[k]) for k in ("authenticatorData", "signature", "clientDataJSON"))
        write("assert-" + alg, b"\x01" + frame(cose, ad, sig, cdj))
        write("authdata-get-" + alg, b"\x03" + ad)
    for alg in ("es256", "eddsa"):
        v = json.load(open("tests/data/webauthn/chromium-%s.json" % alg))
        reg, asr = v["registration"]["response"], v["assertion"]["response"]
        att = unb64(reg["attestationObject"])
        write("chromium-reg-" + alg, b"\x00" + frame(att, unb64(reg["clientDataJSON"])))
        _, cose = cose_of(att)
        write("chromium-assert-" + alg, b"\x01" + frame(
            cose, unb64(asr["authenticatorData"]), unb64(asr["signature"]),
            unb64(asr["clientDataJSON"])))
    write("b64url", b"\x04" + v["registration"]["id"].encode())


main()
