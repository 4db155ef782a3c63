"""What every route gets without asking, one module a job:

- ``middleware.py``   the request id, and the one pure-ASGI middleware that applies the rest
- ``headers.py``      default security headers (CSP, framing, caching, HSTS)
- ``body_limit.py``   the request body's size limit (413)
- ``access_log.py``   one line a request, secrets redacted
- ``client_ip.py``    the client's address, behind a trusted proxy or not
- ``cookies.py``      the session cookies (and the Login Status API's ``Set-Login``)
- ``csrf.py``         double-submit cookie plus an ``Origin`` check for every form

The request's latency in the metrics is ``web/metrics.py``'s, observed by the middleware.
"""
