# Shared by the gateway examples' run.sh (nginx, Caddy): sourced, not run. It starts killswitch
# (wrangler dev, demo issuer) and the echo backend on free ports of 127.0.0.1, stops everything
# it started by PID on exit, and runs the checks once the caller has started its gateway:
#   source examples/lib/gateway.sh; start_killswitch_and_backend; <start the gateway on $LISTEN>; run_checks
# Exit 0 when every check passed; 1 when one failed; 2 when something could not start.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ADMIN_KEY="demo-admin-key-not-for-production" # dev/demo.env: local development only
WORK="$(mktemp -d "${TMPDIR:-/tmp}/killswitch-gateway-XXXXXX")"
PIDS=() # "pid" or "-pgid" entries, stopped in reverse order

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

# Sets KILLSWITCH and BACKEND (host:port) and LISTEN (a free host:port for the gateway).
start_killswitch_and_backend() {
  say "starting killswitch (wrangler dev)..."
  cd "$ROOT"
  WRANGLER_SEND_METRICS=false WRANGLER_LOG_PATH="$WORK" WRANGLER_REGISTRY_PATH="$WORK/registry" CI=1 NO_COLOR=1 \
    setsid node node_modules/wrangler/bin/wrangler.js dev \
    --ip 127.0.0.1 --port 0 --inspector-port 0 --env-file "$ROOT/dev/demo.env" --persist-to "$WORK/state" \
    --show-interactive-dev-session=false </dev/null >"$WORK/wrangler.log" 2>&1 &
  PIDS+=("-$!")
  KILLSWITCH="$(wait_for "$WORK/wrangler.log" 'Ready on http://[0-9.]+:[0-9]+' 60)" || die "wrangler dev did not start"
  KILLSWITCH="${KILLSWITCH#Ready on http://}"

  node "$ROOT/examples/lib/backend.mjs" 0 </dev/null >"$WORK/backend.log" 2>&1 &
  PIDS+=("$!")
  local port
  port="$(wait_for "$WORK/backend.log" 'listening on [0-9]+' 10)" || die "the backend did not start"
  BACKEND="127.0.0.1:${port#listening on }"
  LISTEN="127.0.0.1:$(free_port)"
}

failures=0
check() { # check NAME EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then say "ok   $1: $3"; else say "FAIL $1: expected $2, got $3"; failures=$((failures + 1)); fi
}
request() { # request [curl args...] → "<status>" and the body in $WORK/body
  curl -sS -o "$WORK/body" -w '%{http_code}' "$@"
}
# The X-Auth-* headers the backend received, as sorted JSON.
upstream_auth_headers() {
  node -e '
    const { headers } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const auth = Object.entries(headers).filter(([name]) => name.startsWith("x-auth-")).sort(([a], [b]) => (a < b ? -1 : 1));
    console.log(JSON.stringify(Object.fromEntries(auth)));
  ' "$WORK/body" 2>/dev/null || echo '{}'
}
field() { node -pe 'JSON.parse(process.argv[1])[process.argv[2]] ?? "(absent)"' "$1" "$2"; }

# Every X-Auth-* name killswitch answers, each forged by the client.
SPOOFED=(-H "X-Auth-Subject: mallory" -H "X-Auth-User: victim" -H "X-Auth-Issuer: https://evil.example" -H "X-Auth-Scope: admin"
  -H "X-Auth-Token-Id: forged" -H "X-Auth-Expires: 9999999999")

run_checks() {
  say "killswitch http://$KILLSWITCH  backend http://$BACKEND  gateway http://$LISTEN"
  local first token status upstream challenge
  first="$(node scripts/token.mjs --sub alice --scope 'read write')"
  token="$first"

  # Forged X-Auth-* headers are replaced by the verified values.
  status="$(request -H "Authorization: Bearer $token" "${SPOOFED[@]}" "http://$LISTEN/api/hello")"
  check "valid token + forged X-Auth-* → status" 200 "$status"
  upstream="$(upstream_auth_headers)"
  say "backend saw: $upstream"
  check "X-Auth-Subject upstream" alice "$(field "$upstream" x-auth-subject)"
  check "X-Auth-User upstream" alice "$(field "$upstream" x-auth-user)"
  check "X-Auth-Issuer upstream" https://demo.killswitch.local "$(field "$upstream" x-auth-issuer)"
  check "X-Auth-Scope upstream" 'read write' "$(field "$upstream" x-auth-scope)"

  # Our answer has no X-Auth-Scope or X-Auth-Token-Id: the client's must not get through either.
  token="$(node scripts/token.mjs --sub alice --no-jti)"
  status="$(request -H "Authorization: Bearer $token" "${SPOOFED[@]}" "http://$LISTEN/api/hello")"
  check "token without scope or jti + forged X-Auth-* → status" 200 "$status"
  upstream="$(upstream_auth_headers)"
  say "backend saw (no scope, no jti): $upstream"
  check "X-Auth-Scope upstream (none in the answer)" "(absent)" "$(field "$upstream" x-auth-scope)"
  check "X-Auth-Token-Id upstream (none in the answer)" "(absent)" "$(field "$upstream" x-auth-token-id)"
  check "X-Auth-User upstream (no scope, no jti)" alice "$(field "$upstream" x-auth-user)"

  status="$(request "${SPOOFED[@]}" "http://$LISTEN/api/hello")"
  check "no token → status" 401 "$status"

  status="$(request -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
    -d '{"reason":"gateway example"}' "http://$KILLSWITCH/v1/admin/users/alice/revoke")"
  check "revoke alice (admin) → status" 200 "$status"

  status="$(request -D "$WORK/headers" -H "Authorization: Bearer $first" "http://$LISTEN/api/hello")"
  check "revoked token → status" 401 "$status"
  challenge="$(grep -i '^www-authenticate:' "$WORK/headers" | tr -d '\r' | sed 's/^[^:]*:/WWW-Authenticate:/' || true)"
  check "revoked token → challenge" 'WWW-Authenticate: Bearer error="invalid_token", error_description="revoked_user"' "$challenge"

  if ((failures > 0)); then say "FAILED: $failures check(s)"; exit 1; fi
  say "PASS: all checks"
}
