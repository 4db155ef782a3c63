"""The use cases, one module each (node-oidc-provider ``lib/actions/``, fosite ``handler/``).

Each takes only the ports it declares and answers a typed outcome; a surface (the seed's
protocol, the pages, the command line) parses a request, makes one call and renders the answer.
``compose.py`` builds them all from settings.
"""
