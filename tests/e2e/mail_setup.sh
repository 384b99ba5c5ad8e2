#!/bin/sh
# mail_setup.sh WS [N] - what a mail search needs: a customer, analysts (ann,
# rita, peer) and N open cases numbered 1..N (default 8), on a workspace whose
# default user is an admin.
set -eu
WS=$1
N=${2:-8}
"$PROBITY" customer add "$WS" "Mail review" --account MAIL-0001 >/dev/null
"$PROBITY" user add "$WS" ann --role analyst >/dev/null
# the reviewers the mail tests act as
"$PROBITY" user add "$WS" rita --role analyst >/dev/null
"$PROBITY" user add "$WS" peer --role analyst >/dev/null
"$PROBITY" user add "$WS" sam --role analyst >/dev/null
i=1
while [ "$i" -le "$N" ]; do
	"$PROBITY" case open "$WS" --as ann --customer "Mail review" --title "case $i" \
		--trigger "test" >/dev/null
	i=$((i + 1))
done
