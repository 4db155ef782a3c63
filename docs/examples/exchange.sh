#!/bin/sh
# Needs curl and jq. Trade the refresh token for a 1-hour access token, then call the LeadExec API with it.
set -eu
answer=$(curl -sS -X POST "$LEADEXEC_URL/api/token" \
  --data-urlencode "appId=$LEADEXEC_APP_ID" \
  --data-urlencode "appSecret=$LEADEXEC_APP_SECRET" \
  --data-urlencode "refreshToken=$LEADEXEC_REFRESH_TOKEN")
# {"valid": true, "authToken": "lea_...", "expireDate": "...", ...}; on failure "valid": false
# with "error" (invalid_client, invalid_grant, rate_limited, ...) and "errorMessage".
auth_token=$(printf '%s' "$answer" | jq -r '.authToken // empty')
if [ -z "$auth_token" ]; then
  echo "exchange refused: $answer" >&2
  exit 1
fi
curl -sS --fail-with-body "$LEADEXEC_URL/api/v1/me" -H "Authorization: Bearer $auth_token"
