#!/bin/bash
# ident-interop.sh - lib/ident's SSHSIG against the real OpenSSH, both ways,
# through tests/tools/pb-sshsig: signatures made by probity (from a key file
# and through a real ssh-agent started here) verify with ssh-keygen -Y verify
# and an allowed_signers file; signatures made by ssh-keygen -Y sign (from a
# key file and through the agent) verify with probity; and a wrong namespace,
# another key, a changed message, a flipped bit and truncated armour are each
# refused with their reason. Keys are made here, fresh, with ssh-keygen.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=ident-interop
SIG=$PB_BUILD/tests/tools/pb-sshsig
cd "$TMP" || exit 1
if ! command -v ssh-keygen >/dev/null || ! command -v ssh-agent >/dev/null; then
	fail "ssh-keygen and ssh-agent are needed (apt-get install openssh-client; make deps)"
	finish ident-interop
	exit 0
fi
check "pb-sshsig is built (make test-tools)" test -x "$SIG"

ssh-keygen -q -t ed25519 -N '' -C alice -f alice
ssh-keygen -q -t ed25519 -N '' -C bob -f bob
printf 'alice %s\nbob %s\n' "$(cut -d' ' -f1,2 alice.pub)" "$(cut -d' ' -f1,2 bob.pub)" > allowed
printf '{"action":"plan.approve","actor":"alice","v":1}' > msg
: > empty
head -c 1048577 /dev/urandom > big
ALICE=$(cat alice.pub)
BOB=$(cat bob.pub)

# a real agent on a socket here, killed at exit; bounded waits only
AGENT_SOCK=$TMP/agent.sock
eval "$(ssh-agent -s -a "$AGENT_SOCK")" >/dev/null
trap 'kill "$SSH_AGENT_PID" 2>/dev/null' EXIT
export SSH_AUTH_SOCK=$AGENT_SOCK
check "ssh-add loads alice's key into the agent" ssh-add -q alice

kverify() { # NS FILE SIG [ID]: ssh-keygen -Y verify
	ssh-keygen -Y verify -f allowed -I "${4:-alice}" -n "$1" -s "$3" < "$2" >/dev/null 2>&1
}

# ---- probity signs, ssh-keygen verifies --------------------------------------
for f in msg empty big; do
	"$SIG" sign -i alice -n probity@v1 "$f" > "$f.pb.sig"
	check "key file: probity's signature of $f verifies with ssh-keygen" kverify probity@v1 "$f" "$f.pb.sig"
	"$SIG" sign --agent "$AGENT_SOCK" --key alice.pub -n probity-approve@v1 "$f" > "$f.pba.sig"
	check "agent: probity's signature of $f verifies with ssh-keygen" kverify probity-approve@v1 "$f" "$f.pba.sig"
done
check "ssh-keygen refuses probity's signature in another namespace" \
	bash -c '! ssh-keygen -Y verify -f allowed -I alice -n probity-approve@v1 -s msg.pb.sig < msg >/dev/null 2>&1'
check "ssh-keygen refuses probity's signature for another principal" \
	bash -c '! ssh-keygen -Y verify -f allowed -I bob -n probity@v1 -s msg.pb.sig < msg >/dev/null 2>&1'
# Ed25519 is deterministic: the key file and the agent make the same bytes
"$SIG" sign --agent "$AGENT_SOCK" --key alice.pub -n probity@v1 msg > msg.pba1.sig
check "key file and agent signatures are byte for byte the same" cmp -s msg.pb.sig msg.pba1.sig
check "bob's key is not in the agent: refused" \
	bash -c "! '$SIG' sign --agent '$AGENT_SOCK' --key bob.pub -n probity@v1 msg > /dev/null 2> nobob.err"
check "... saying the agent does not hold it" grep -q "does not hold the key" nobob.err

# ---- ssh-keygen signs, probity verifies --------------------------------------
for f in msg empty big; do
	ssh-keygen -q -Y sign -f alice -n probity@v1 "$f" && mv "$f.sig" "$f.k.sig"
	check "ssh-keygen's signature of $f (key file) verifies with probity" \
		"$SIG" verify --key "$ALICE" -n probity@v1 "$f" "$f.k.sig"
	# with a public key file, ssh-keygen signs through the agent
	ssh-keygen -q -Y sign -f alice.pub -n probity-approve@v1 "$f" && mv "$f.sig" "$f.ka.sig"
	check "ssh-keygen's signature of $f (agent) verifies with probity" \
		"$SIG" verify --key "$ALICE" -n probity-approve@v1 "$f" "$f.ka.sig"
done
out=$("$SIG" verify --key "$ALICE" -n probity@v1 msg msg.k.sig)
check "probity names the signer's fingerprint" test "$out" = "good signature by $(ssh-keygen -l -f alice.pub | cut -d' ' -f2)"
check "probity's armour of a signature is ssh-keygen's" cmp -s msg.k.sig msg.pb.sig

# ---- refusals, each with its reason ------------------------------------------
refused() { # DESCRIPTION REASON ARGS...: pb-sshsig verify fails, stderr has REASON
	local d=$1 reason=$2
	shift 2
	if "$SIG" verify "$@" > refused.out 2> refused.err; then
		fail "$d: accepted"
	elif grep -qF -- "$reason" refused.err; then
		ok
	else
		fail "$d: expected '$reason', got: $(cat refused.err)"
	fi
}
refused "wrong namespace (a note signature as an approval)" \
	"namespace 'probity@v1', expected 'probity-approve@v1'" \
	--key "$ALICE" -n probity-approve@v1 msg msg.k.sig
refused "another key" "signature is by another key" --key "$BOB" -n probity@v1 msg msg.k.sig
printf 'x' >> msg2 && cat msg >> msg2
refused "a changed message" "bad signature" --key "$ALICE" -n probity@v1 msg2 msg.k.sig
python3 - msg.k.sig flipped.sig <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
body = base64.b64decode("".join(lines[1:-2]))
b = bytearray(body)
b[-10] ^= 0x01            # inside the Ed25519 signature
t = base64.b64encode(bytes(b)).decode()
out = [lines[0]] + [t[i:i + 70] for i in range(0, len(t), 70)] + [lines[-2], ""]
open(sys.argv[2], "w").write("\n".join(out))
PY
refused "a flipped bit" "bad signature" --key "$ALICE" -n probity@v1 msg flipped.sig
check "ssh-keygen refuses the flipped bit too" bash -c '! ssh-keygen -Y verify -f allowed -I alice -n probity@v1 -s flipped.sig < msg >/dev/null 2>&1'
head -n 3 msg.k.sig > truncated.sig
refused "truncated armour" "truncated" --key "$ALICE" -n probity@v1 msg truncated.sig
head -n 3 msg.k.sig > cutline.sig && tail -n 1 msg.k.sig >> cutline.sig
refused "armour missing a line" "signature" --key "$ALICE" -n probity@v1 msg cutline.sig
refused "not a signature" "expected '-----BEGIN SSH SIGNATURE-----'" --key "$ALICE" -n probity@v1 msg msg
refused "not a key" "expected 'TYPE BASE64 [COMMENT]'" --key "nonsense" -n probity@v1 msg msg.k.sig

# a dead agent is an error, not a hang
kill "$SSH_AGENT_PID" 2>/dev/null
for _ in $(seq 50); do [ -e "$AGENT_SOCK" ] || break; sleep 0.1; done
start=$(date +%s)
check "a dead agent: refused" bash -c "! timeout 20 '$SIG' sign --agent '$AGENT_SOCK' --key alice.pub -n probity@v1 msg > /dev/null 2> dead.err"
check "... quickly, naming the socket" grep -q "cannot connect to ssh-agent at '$AGENT_SOCK'" dead.err
check "... within 15 s" test $(($(date +%s) - start)) -le 15

finish ident-interop
