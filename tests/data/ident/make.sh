#!/bin/sh
# make.sh - regenerates the OpenSSH test keys and signatures in this folder
# with the real ssh-keygen (Debian's openssh-client). The keys are TEST-ONLY:
# their private halves are public here; never register them anywhere real.
# Run from this folder: sh make.sh. The outputs are committed, so the tests
# never need ssh-keygen except the interop script, which makes its own.
set -eu
cd "$(dirname "$0")"
rm -f alice alice.pub bob bob.pub locked locked.pub ecdsa.pub msg.txt *.sig *.fp allowed_signers
ssh-keygen -q -t ed25519 -N '' -C 'alice@test' -f alice
ssh-keygen -q -t ed25519 -N '' -C 'bob@test' -f bob
ssh-keygen -q -t ed25519 -N 'secret' -C 'locked@test' -f locked
chmod 600 alice bob locked
ssh-keygen -q -t ecdsa -N '' -C 'ecdsa@test' -f ecdsa  # an unsupported type
rm ecdsa
ssh-keygen -l -E sha256 -f alice.pub | awk '{print $2}' > alice.fp
ssh-keygen -l -E sha256 -f bob.pub | awk '{print $2}' > bob.fp
printf '{"action":"case.open","actor":"alice","type":"probity statement","v":1}' > msg.txt
ssh-keygen -q -Y sign -f alice -n probity@v1 msg.txt  # writes msg.txt.sig
mv msg.txt.sig alice-msg.sig
ssh-keygen -q -Y sign -f bob -n probity-approve@v1 msg.txt
mv msg.txt.sig bob-approve.sig
printf 'alice %s\n' "$(cut -d' ' -f1,2 alice.pub)" > allowed_signers
ssh-keygen -Y verify -f allowed_signers -I alice -n probity@v1 -s alice-msg.sig < msg.txt
