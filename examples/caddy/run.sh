#!/usr/bin/env bash
# The Caddy forward_auth example, end to end, on 127.0.0.1 with free ports:
#   killswitch (wrangler dev, demo issuer) + a backend that echoes headers + Caddy in front.
# Then (examples/lib/gateway.sh): a valid token sent with forged X-Auth-* headers → 200, and the
# backend sees only killswitch's values; no token → 401; alice revoked → her token 401. Plus
# here: a client header under another X-Auth-* name is removed too.
#
#   bash examples/caddy/run.sh          (from anywhere; needs caddy ≥ 2.6, e.g. Debian's caddy)
#
# Exit 0 when every check passed; 1 when one failed; 2 when something could not start.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/gateway.sh"

# This script installs nothing; .ci/run installs Debian's caddy.
CADDY="$(command -v caddy || true)"
[[ -n $CADDY ]] || die "caddy is not installed: install caddy ≥ 2.6 (Debian's caddy package) to run this example"

start_killswitch_and_backend

sed -e "s/__LISTEN__/$LISTEN/; s/__KILLSWITCH__/$KILLSWITCH/; s/__BACKEND__/$BACKEND/" \
  "$ROOT/examples/caddy/Caddyfile" >"$WORK/Caddyfile"
# Caddy's data and config folders (certificates, autosave) under $WORK, not the user's home.
XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" \
  "$CADDY" run --config "$WORK/Caddyfile" --adapter caddyfile </dev/null >"$WORK/caddy.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

status="$(request -H "Authorization: Bearer $(node scripts/token.mjs --sub alice)" -H "X-Auth-Role: admin" "http://$LISTEN/api/hello")"
check "valid token + forged X-Auth-Role → status" 200 "$status"
check "X-Auth-Role upstream (a name killswitch never sends)" "(absent)" "$(field "$(upstream_auth_headers)" x-auth-role)"

run_checks
