#!/usr/bin/env bash
# The nginx auth_request example, end to end, on 127.0.0.1 with free ports:
#   killswitch (wrangler dev, demo issuer) + a backend that echoes headers + nginx in front.
# Then: a valid token → 200 and X-Auth-Subject: alice at the backend; no token → 401;
# alice revoked → her token 401. Everything it started is stopped by PID on exit.
#
#   bash examples/nginx/run.sh          (from anywhere; needs nginx with auth_request, e.g. Debian's nginx-light)
#
# Exit 0 when every check passed; 1 when one failed; 2 when something could not start.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/examples/nginx"
ADMIN_KEY="demo-admin-key-not-for-production"   # dev/demo.env: local development only
WORK="$(mktemp -d "${TMPDIR:-/tmp}/killswitch-nginx-XXXXXX")"
PIDS=()   # "pid" or "-pgid" entries, stopped in reverse order

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

cleanup() {
  local status=$?
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM -- "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 -- "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [[ $status -ne 0 && -z "${KEEP_LOGS:-}" ]]; then
    for log in "$WORK"/*.log "$WORK"/prefix/logs/error.log; do
      [[ -s $log ]] && { printf -- '--- %s (last lines)\n' "${log#"$WORK"/}" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- nginx: Debian's nginx-light (this script installs nothing; .ci/run installs it) --------
NGINX="$(command -v nginx || true)"
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n $NGINX ]] || die "nginx is not installed: install nginx-light to run this example (the Debian package nginx-light)"
"$NGINX" -V 2>&1 | grep -q -- '--with-http_auth_request_module' || die "$NGINX lacks the auth_request module"

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# wait_for FILE REGEX SECONDS: prints the first match of REGEX in FILE.
wait_for() {
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    if grep -Eo "$2" "$1" 2>/dev/null | head -n 1 | grep .; then return 0; fi
    sleep 0.2
  done
  return 1
}

# --- killswitch under wrangler dev, the demo configuration ------------------------------------
say "starting killswitch (wrangler dev)..."
cd "$ROOT"
WRANGLER_SEND_METRICS=false WRANGLER_LOG_PATH="$WORK" WRANGLER_REGISTRY_PATH="$WORK/registry" CI=1 NO_COLOR=1 \
  setsid node node_modules/wrangler/bin/wrangler.js dev \
  --ip 127.0.0.1 --port 0 --inspector-port 0 --env-file "$ROOT/dev/demo.env" --persist-to "$WORK/state" \
  --show-interactive-dev-session=false </dev/null >"$WORK/wrangler.log" 2>&1 &
PIDS+=("-$!")
KILLSWITCH="$(wait_for "$WORK/wrangler.log" 'Ready on http://[0-9.]+:[0-9]+' 60)" || die "wrangler dev did not start"
KILLSWITCH="${KILLSWITCH#Ready on http://}"

# --- the backend ----------------------------------------------------------------------------
node "$HERE/backend.mjs" 0 </dev/null >"$WORK/backend.log" 2>&1 &
PIDS+=("$!")
BACKEND_PORT="$(wait_for "$WORK/backend.log" 'listening on [0-9]+' 10)" || die "the backend did not start"
BACKEND="127.0.0.1:${BACKEND_PORT#listening on }"

# --- nginx ----------------------------------------------------------------------------------
LISTEN="127.0.0.1:$(free_port)"
mkdir -p "$WORK/prefix/logs" "$WORK/prefix/tmp"
sed -e "s/__LISTEN__/$LISTEN/; s/__KILLSWITCH__/$KILLSWITCH/; s/__BACKEND__/$BACKEND/" \
  "$HERE/nginx.conf" >"$WORK/prefix/nginx.conf"
# user root only so the worker process can write its temp dirs under $WORK (a demo, not production).
[[ $(id -u) -eq 0 ]] && sed -i '1i user root;' "$WORK/prefix/nginx.conf"
"$NGINX" -t -q -p "$WORK/prefix/" -c "$WORK/prefix/nginx.conf" -e stderr || die "nginx -t failed"
"$NGINX" -p "$WORK/prefix/" -c "$WORK/prefix/nginx.conf" -e stderr </dev/null >"$WORK/nginx.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

say "killswitch http://$KILLSWITCH  backend http://$BACKEND  nginx http://$LISTEN"

# --- the checks -----------------------------------------------------------------------------
failures=0
check() { # check NAME EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then say "ok   $1: $3"; else say "FAIL $1: expected $2, got $3"; failures=$((failures + 1)); fi
}
request() { # request [curl args...] → "<status>" and the body in $WORK/body
  curl -sS -o "$WORK/body" -w '%{http_code}' "$@"
}

TOKEN="$(node scripts/token.mjs --sub alice --scope 'read write')"

# A client-sent X-Auth-Subject is replaced by the verified one.
status="$(request -H "Authorization: Bearer $TOKEN" -H "X-Auth-Subject: mallory" "http://$LISTEN/api/hello")"
check "valid token → status" 200 "$status"
upstream="$(node -e '
  const { headers } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(JSON.stringify(Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("x-auth-")))));
' "$WORK/body" 2>/dev/null || echo '{}')"
say "backend saw: $upstream"
subject="$(node -pe 'JSON.parse(process.argv[1])["x-auth-subject"] ?? ""' "$upstream")"
check "valid token → X-Auth-Subject upstream" alice "$subject"

status="$(request -H "X-Auth-Subject: mallory" "http://$LISTEN/api/hello")"
check "no token → status" 401 "$status"

status="$(request -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
  -d '{"reason":"nginx example"}' "http://$KILLSWITCH/v1/admin/users/alice/revoke")"
check "revoke alice (admin) → status" 200 "$status"

status="$(request -D "$WORK/headers" -H "Authorization: Bearer $TOKEN" "http://$LISTEN/api/hello")"
check "revoked token → status" 401 "$status"
challenge="$(grep -i '^www-authenticate:' "$WORK/headers" | tr -d '\r' || true)"
check "revoked token → challenge" 'WWW-Authenticate: Bearer error="invalid_token", error_description="revoked_user"' "$challenge"

if ((failures > 0)); then say "FAILED: $failures check(s)"; exit 1; fi
say "PASS: all checks"
