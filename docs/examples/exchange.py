"""Trade the refresh token for a 1-hour access token, then call the LeadExec API with it.

Only the standard library; keep the access token until its expireDate and exchange again then.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ["LEADEXEC_URL"]


def exchange(app_id: str, app_secret: str, refresh_token: str) -> dict:
    form = {"appId": app_id, "refreshToken": refresh_token}
    if app_secret:
        form["appSecret"] = app_secret
    request = urllib.request.Request(
        f"{BASE}/api/token", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as refused:  # 4xx and 5xx answers have the same JSON shape
        return json.load(refused)


def me(auth_token: str) -> dict:
    request = urllib.request.Request(
        f"{BASE}/api/v1/me", headers={"Authorization": f"Bearer {auth_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


answer = exchange(
    os.environ["LEADEXEC_APP_ID"],
    os.environ.get("LEADEXEC_APP_SECRET", ""),
    os.environ["LEADEXEC_REFRESH_TOKEN"],
)
if not answer["valid"]:
    # invalid_grant: the user removed access or the partner disconnected; sign in again.
    sys.exit(f"exchange refused: {answer['error']}: {answer['errorMessage']}")
print(json.dumps(me(answer["authToken"])))
