"""Headers every answer carries, so that a browser keeps the app's pages to the app.

The rules, for every response (pages, API, files):
- ``X-Content-Type-Options: nosniff``: a file is read only as the type it is served with;
- ``Referrer-Policy: same-origin``: an NC's address never leaves the app in a Referer;
- ``X-Frame-Options: DENY`` and ``Content-Security-Policy: frame-ancestors 'none'`` (unless the answer sets a
  policy of its own): no other site frames a page to trick a click;
- ``Strict-Transport-Security`` when the request came over HTTPS;
- caching: everything but the static assets is private to the person who asked for it. An answer that does not
  say ``private`` itself (a photo served with a lifetime, a page) gets ``Cache-Control: private, no-store``, so
  no shared cache and no back button of a shared workstation keeps a record after logout.
"""

from flask import Flask, Response, request

#: A year, as browsers expect of HSTS.
HSTS_SECONDS = 31_536_000


def secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    if request.endpoint != "static" and "private" not in (headers.get("Cache-Control") or ""):
        headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
