# web_lib.sh - sourced by the web-*.sh scripts (after lib.sh): sign a user in
# to probity web with curl.
#
# web_signin WS BASE USER JAR [curl args]: invites USER of workspace WS with
# BASE as the link's base, enrols (password correct-horse-1) and signs in
# through BASE keeping cookies in JAR, then gets / into JAR.home and prints
# its status. Headers of the first answer go to JAR.h0, of the sign-in to JAR.h1.
web_signin() {
	local ws=$1 b=$2 u=$3 j=$4; shift 4
	local C=(curl -s -b "$j" -c "$j" "$@")
	local l tok pre
	l=$("$PROBITY" user invite "$ws" "$u" --url "$b" | tail -1)
	tok=${l#*token=}
	"${C[@]}" -D "$j.h0" -o "$j.e" "$b/enrol?token=$tok"
	pre=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$j.e" | sed 's/.*value="//;s/"//')
	"${C[@]}" -o /dev/null -H "Origin: $b" \
		--data "csrf=$pre&token=$tok&password=correct-horse-1&again=correct-horse-1" "$b/enrol"
	"${C[@]}" -D "$j.h1" -o /dev/null -H "Origin: $b" \
		--data "csrf=$pre&name=$u&password=correct-horse-1" "$b/signin"
	"${C[@]}" -o "$j.home" -w '%{http_code}' "$b/"
}
