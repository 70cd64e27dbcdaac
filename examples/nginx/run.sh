#!/usr/bin/env bash
# The nginx auth_request example, end to end, on 127.0.0.1 with free ports:
#   killswitch (wrangler dev, demo issuer) + a backend that echoes headers + nginx in front.
# Then (examples/lib/gateway.sh): a valid token sent with forged X-Auth-* headers → 200, and the
# backend sees only killswitch's values; no token → 401; alice revoked → her token 401.
# Everything it started is stopped by PID on exit.
#
#   bash examples/nginx/run.sh          (from anywhere; needs nginx with auth_request, e.g. Debian's nginx-light)
#
# Exit 0 when every check passed; 1 when one failed; 2 when something could not start.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/gateway.sh"
HERE="$ROOT/examples/nginx"

# This script installs nothing; .ci/run installs Debian's nginx-light.
NGINX="$(command -v nginx || true)"
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n $NGINX ]] || die "nginx is not installed: install nginx-light to run this example (the Debian package nginx-light)"
"$NGINX" -V 2>&1 | grep -q -- '--with-http_auth_request_module' || die "$NGINX lacks the auth_request module"

start_killswitch_and_backend

mkdir -p "$WORK/prefix/logs" "$WORK/prefix/tmp"
sed -e "s/__LISTEN__/$LISTEN/; s/__KILLSWITCH__/$KILLSWITCH/; s/__BACKEND__/$BACKEND/" \
  "$HERE/nginx.conf" >"$WORK/prefix/nginx.conf"
# user root only so the worker process can write its temp dirs under $WORK (a demo, not production).
[[ $(id -u) -eq 0 ]] && sed -i '1i user root;' "$WORK/prefix/nginx.conf"
"$NGINX" -t -q -p "$WORK/prefix/" -c "$WORK/prefix/nginx.conf" -e stderr || die "nginx -t failed"
"$NGINX" -p "$WORK/prefix/" -c "$WORK/prefix/nginx.conf" -e stderr </dev/null >"$WORK/nginx.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

run_checks
