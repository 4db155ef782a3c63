"""Print a one-line human summary of a WRKJSON object read from stdin."""

import json
import sys

d = json.load(sys.stdin)
sock = sum(d.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
print(
    f"{d.get('rps', 0):.0f} req/s  p50 {d.get('p50_ms', 0):.2f} ms  "
    f"p99 {d.get('p99_ms', 0):.2f} ms  >=400: {d.get('status_ge400', 0)}  sock-err: {sock}"
)
