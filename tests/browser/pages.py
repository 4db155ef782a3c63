"""Partner pages of the browser suite, served at ``/t/NAME`` on the partner origins.

Each records what its callbacks receive in ``window.__results`` so a test can read the exact
authorization objects. Inline scripts are allowed by hash (``demo_partner.csp_for``), as a
partner with a strict policy would do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from leadexec_signin.demo_partner import snippet

if TYPE_CHECKING:
    from support.live import Site

RECORDER = """<script>
window.__results = [];
function AuthorizeResult(result) { window.__results.push(result); }
</script>"""


def page(title: str, head: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title><link rel="icon" href="data:,">\n{head}\n</head>\n'
        f"<body>\n{body}\n</body></html>"
    )


def two_buttons(site: Site) -> str:
    head = """<script>
window.__results = [];
function onAcme(result) { window.__results.push(["acme", result]); }
function onBeta(result) { window.__results.push(["beta", result]); }
</script>"""
    body = f"""<p>Two applications, two buttons.</p>
<button id="leAppButton" data-btnId="{site.btn_a}"
  data-callback="onAcme">Sign in with LeadExec</button>
<p>And another one:</p>
<button data-btnId="{site.btn_b}" data-callback="onBeta">Sign in with LeadExec</button>"""
    return page("Two buttons", head + "\n" + snippet(site.idp_host), body)


def empty(site: Site) -> str:
    """The SDK and no button yet: a test inserts one later."""
    return page("Later", RECORDER + "\n" + snippet(site.idp_host), '<main id="slot"></main>')


def script_first(site: Site) -> str:
    """A plain, blocking script tag in the head: the SDK runs before the markup exists."""
    head = (
        RECORDER
        + f'\n<script src="{site.idp}/signin/button.js"></script>'
        + f'\n<link rel="stylesheet" href="{site.idp}/signin/button.css">'
    )
    body = f'<button id="leAppButton" data-btnId="{site.btn_a}">Sign in with LeadExec</button>'
    return page("Script first", head, body)


def jquery_disconnect(site: Site) -> str:
    """The seed's "Disconnecting your application" example, unchanged but for the URL."""
    head = (
        RECORDER
        + '\n<script src="/vendor/jquery.min.js"></script>\n'
        + snippet(site.idp_host)
        + f"""
<script type="text/javascript">
window.__revoked = [];
window.__revokeErrors = [];
function disconnectUser(refresh_token) {{
  var revokeUrl = 'http://{site.idp_host}/api/revoke?token=' +
      refresh_token;

  // Perform an asynchronous GET request.
  $.ajax({{
    type: 'GET',
    url: revokeUrl,
    async: false,
    contentType: "application/json",
    dataType: 'jsonp',
    success: function(result) {{
      // Do something now that user is disconnected
      window.__revoked.push(result);
    }},
    error: function(e) {{
      // Handle the error
      window.__revokeErrors.push(e.status);
    }}
  }});
}}
</script>"""
    )
    body = f"""<button id="leAppButton" data-btnId="{site.btn_a}">Sign in with LeadExec</button>
<button id="revokeButton" type="button">Disconnect</button>
<script>
// Could trigger the disconnect on a button click
$('#revokeButton').click(function () {{
  var last = window.__results[window.__results.length - 1];
  disconnectUser(last.refreshToken);
}});
</script>"""
    return page("jQuery disconnect", head, body)


def unregistered(site: Site) -> str:
    """A page on an origin registered for no application, using app A's button, that listens
    to every message and can open the popup or frame the silent check claiming the real
    partner's origin."""
    head = """<script>
window.__results = [];
window.__messages = [];
function AuthorizeResult(result) { window.__results.push(result); }
window.addEventListener("message", function (e) {
  window.__messages.push({ origin: e.origin, data: e.data });
});
</script>
""" + snippet(site.idp_host)
    lie = f"btnId={site.btn_a}&origin={site.partner}"
    body = f"""<button id="leAppButton" data-btnId="{site.btn_a}">Sign in with LeadExec</button>
<button id="lie-popup" type="button">Open the popup as the partner</button>
<button id="lie-frame" type="button">Frame the silent check as the partner</button>
<script>
document.getElementById("lie-popup").addEventListener("click", function () {{
  var url = "{site.idp}/signin/authorize?{lie}&state=lie-popup";
  window.open(url, "", "popup=yes,width=500,height=600");
}});
document.getElementById("lie-frame").addEventListener("click", function () {{
  var f = document.createElement("iframe");
  f.id = "lie-iframe";
  f.addEventListener("load", function () {{ f.setAttribute("data-loaded", "1"); }});
  f.src = "{site.idp}/signin/immediate?{lie}&state=lie-frame";
  document.body.appendChild(f);
}});
</script>"""
    return page("Not registered", head, body)


def gallery(site: Site) -> str:
    """Every look of the button, for screenshots."""
    head = RECORDER + "\n" + snippet(site.idp_host)
    b = site.buttons
    row = "display:flex;gap:24px;align-items:center;padding:14px 16px;width:max-content"
    body = f"""<div id="light" style="{row}">
<button id="leAppButton" data-btnId="{site.btn_a}">Sign in with LeadExec</button>
<button data-btnId="{b["small"]}">Sign in with LeadExec</button></div>
<div id="dark" style="{row};background:#eef1f5">
<button data-btnId="{b["dark"]}">Sign in with LeadExec</button>
<button data-btnId="{b["large"]}">Sign in with LeadExec</button></div>"""
    return page("Gallery", head, body)


def script_only(site: Site) -> str:
    """The seed's loader without its stylesheet lines, and a button asking for French."""
    loader = "\n".join(
        line
        for line in snippet(site.idp_host).splitlines()
        if "styles" not in line and "newSS" not in line
    )
    body = f"""<button id="leAppButton" data-btnId="{site.btn_a}"
  data-lang="fr">Sign in with LeadExec</button>"""
    return page("Script only", RECORDER + "\n" + loader, body)


PAGES: dict[str, Callable[[Site], str]] = {
    "two": two_buttons,
    "empty": empty,
    "script-first": script_first,
    "jquery": jquery_disconnect,
    "unregistered": unregistered,
    "gallery": gallery,
    "script-only": script_only,
}
