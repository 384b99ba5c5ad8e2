#!/bin/bash
# bench/serve/mhd.sh - libmicrohttpd (Debian) vs nginx `return 204`, 2 threads/
# workers each, wrk -t2 -c50: the measurement behind writing server/ ourselves.
# mhd_probe answers / with an empty 204 and /v1/decide with the shape of a real
# answer (four inputs read, a JSON body, extra headers).
set -eu
cd "$(dirname "$0")"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
dpkg -s libmicrohttpd-dev >/dev/null 2>&1 || apt-get install -y -qq libmicrohttpd-dev >/dev/null
T=$(mktemp -d)
gcc -O2 -o "$T/mhd_probe" mhd_probe.c $(pkg-config --cflags --libs libmicrohttpd)
mkdir -p "$T/ng/logs"
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$T/ng/nginx.conf" <<NG
$USER_LINE
worker_processes 2; pid $T/ng/nginx.pid; error_log $T/ng/logs/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $T/ng/b; proxy_temp_path $T/ng/p; fastcgi_temp_path $T/ng/f;
  uwsgi_temp_path $T/ng/u; scgi_temp_path $T/ng/s;
  server { listen 127.0.0.1:18283; location / { return 204; } } }
NG
nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
"$T/mhd_probe" 18282 2 & MPID=$!
trap 'kill $MPID; kill $(cat $T/ng/nginx.pid); rm -rf $T' EXIT
sleep 0.5
for i in 1 2 3; do
	n=$(timeout 20 wrk -t2 -c50 -d5s http://127.0.0.1:18283/ | sed -nE 's/^Requests\/sec: +//p')
	m=$(timeout 20 wrk -t2 -c50 -d5s http://127.0.0.1:18282/ | sed -nE 's/^Requests\/sec: +//p')
	r=$(timeout 20 wrk -t2 -c50 -d5s 'http://127.0.0.1:18282/v1/decide?account=A1&service=Storage%20Accounts&region=westeurope' | sed -nE 's/^Requests\/sec: +//p')
	echo "run $i: nginx return 204 $n req/s; libmicrohttpd 204 $m (ratio $(python3 -c "print(round($m/$n,3))")); libmicrohttpd realistic $r (ratio $(python3 -c "print(round($r/$n,3))"))"
done
