#!/usr/bin/env bash
# The API contract, checked from outside: schemathesis (PyPI) reads /api/v1/openapi.json from a
# running demo server and sends generated requests with an administrator's token, running all
# its checks (no server error, status codes and content types documented, responses conforming
# to their schemas, valid data accepted and invalid rejected, authentication enforced …).
# Usage: scripts/api_contract_check.sh WHISTLE_BINARY PYTHON_VENV [MAX_EXAMPLES]
set -euo pipefail
whistle=$1; venv=$2; examples=${3:-10}
dir=target/api-contract
rm -rf "$dir"
"$whistle" demo --data-dir "$dir" --listen 127.0.0.1:0 --orders 20 --simulated-per-day 50 > "$dir.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 90); do grep -q "whistle listening on" "$dir.log" && break; sleep 1; done
address=$(grep -o "whistle listening on http://[0-9.:]*" "$dir.log" | awk '{print $4}')
# An integration token (a login session would be ended by the generated logout calls).
token=$("$whistle" --database-url "sqlite://$PWD/$dir/whistle.db" token create --name contract --scope admin --unit 11.center)
# The live feed never ends by itself: it is tested by the HTTP tests, not here.
timeout 900 "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$address/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" --max-examples "$examples" --workers 2 \
    --generation-deterministic --request-timeout 20 --exclude-path-regex '/feed$' \
    --no-color
