"""What the console hands a partner to paste: the button markup and a complete page (loader,
button, a callback that shows the seed's "Success!" / "Failure!"), with the application's ids
and this provider's host filled in, so the first sign-in works without reading anything else.
"""

from __future__ import annotations

from html import escape

from leadexec_signin.core.apps import PENDING, Application, Button
from leadexec_signin.web.signin.snippet import snippet

# The seed's own messages, which its sample page showed after a click.
SUCCESS = "Success! You have accepted access to your account."
FAILURE = "Failure! You have denied access to your account."


def button_markup(button: Button) -> str:
    """The markup the SDK turns into a button: its text, and ``data-size`` / ``data-theme``
    when they are not the defaults, so the stylesheet draws the final button at first paint
    and the settings the SDK fetches change nothing visible."""
    size = f' data-size="{button.size}"' if button.size != "medium" else ""
    theme = f' data-theme="{button.theme}"' if button.theme != "light" else ""
    return (
        f'<button id="leAppButton" data-btnId="{escape(button.id)}"{size}{theme}>'
        f"{escape(button.text, quote=False)}</button>"
    )


CALLBACK = """<script>
  // Called once when the button renders (a silent check) and after each click.
  function AuthorizeResult(result) {
    var out = document.getElementById('le-result');
    if (result.valid) {
      out.textContent = 'SUCCESS';
      document.getElementById('leAppButton').setAttribute('style', 'display: none');
      // Send result.refreshToken (or result.code, with hardened delivery) to your backend.
    } else if (result.error === 'access_denied') {
      out.textContent = 'FAILURE';
    } else if (result.error && result.error !== 'immediate_failed') {
      // immediate_failed only means "show the button"; anything else is worth reading.
      out.textContent = 'Failure! ' + result.errorMessage + ' (' + result.error + ')';
    }
  }
</script>""".replace("SUCCESS", SUCCESS).replace("FAILURE", FAILURE)


# Development mode only: the authorization object as it came back, and the exchange a backend
# makes with it, ready to paste into a terminal (the appId filled in; appSecret when needed).
DETAILS = """<script>
  // Development mode: what came back, and your backend's exchange, ready to run.
  function showDetails(result) {
    var base = ('https:' == document.location.protocol ? 'https://' : 'http://') + 'HOST';
    var curl = 'curl -X POST ' + base + '/api/token --data-urlencode appId=APP_ID'SECRET +
      (result.code ? ' --data-urlencode code=' + result.code
                   : ' --data-urlencode refreshToken=' + result.refreshToken);
    document.getElementById('le-details').textContent =
      JSON.stringify(result, null, 2) + '\\n\\n' + curl;
  }
</script>"""


def complete_page(provider_host: str, app: Application, button: Button) -> str:
    """A whole HTML file: save it, serve it from one of the application's origins, click.
    In development mode it also shows what came back and the ``curl`` line of the exchange."""
    callback = CALLBACK
    details: list[str] = []
    if app.status == PENDING:
        secret = " + ' --data-urlencode appSecret=YOUR_APP_SECRET'" if app.requires_secret else ""
        details = [
            '<pre id="le-details"></pre>',
            DETAILS.replace("HOST", provider_host)
            .replace("APP_ID", app.id)
            .replace("SECRET", secret),
        ]
        callback = callback.replace(
            "      // Send result.refreshToken",
            "      showDetails(result);\n      // Send result.refreshToken",
        )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(app.name, quote=False)}: sign in with LeadExec</title>",
            snippet(provider_host),
            "</head>",
            "<body>",
            f"<h1>{escape(app.name, quote=False)}</h1>",
            button_markup(button),
            '<p id="le-result" role="status"></p>',
            *details,
            callback,
            "</body>",
            "</html>",
            "",
        ]
    )
