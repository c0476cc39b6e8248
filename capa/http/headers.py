"""Headers every answer carries, so that a browser keeps the app's pages to the app, and the cookies it sets.

The rules, for every response (pages, API, files):
- ``X-Content-Type-Options: nosniff``: a file is read only as the type it is served with;
- ``Referrer-Policy: same-origin``: an NC's address never leaves the app in a Referer;
- ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'`` in every Content-Security-Policy: no other site
  frames a page to trick a click;
- a Content-Security-Policy (unless the answer sets one of its own, as an evidence download does):
  - an HTML page gets :data:`PAGE_POLICY`: scripts, stylesheets, images, fonts and requests from the app itself
    only, and no inline script, event handler (``onclick=``), ``style=`` attribute or ``<style>`` element at
    all: every page's behaviour is in ``capa/static/*.js`` and its looks in ``app.css`` / ``report.css``, so an
    injected ``<script>`` or attribute would not run. ``blob:`` images are the photos the filing form shows
    before they are sent (photos.js); forms post only to the app; no ``<base>``, no plugins. A data block
    (``<script type="application/json">``, the outbox's texts) is not a script: it runs nothing and is allowed;
  - the API documentation page (Swagger UI, whose HTML is APIFlask's, not the app's: :data:`LIBRARY_PAGES`) gets
    the same policy with its own inline script and style allowed by their SHA-256 hashes, computed from the
    answer itself (nothing else inline runs there either), and ``data:`` images (Swagger UI's icons);
  - every other answer (JSON, CSV, XLSX, PDF, photos, the SVG charts) gets :data:`FILE_POLICY`,
    ``default-src 'none'``: a file opened on its own in a tab runs and loads nothing (the browser's own PDF
    and image viewers are not affected; the charts draw with presentation attributes, no inline style);
- ``Strict-Transport-Security`` when the request came over HTTPS;
- caching: everything but the static assets is private to the person who asked for it. An answer that does not
  say ``private`` itself (a photo served with a lifetime, a page) gets ``Cache-Control: private, no-store``, so
  no shared cache and no back button of a shared workstation keeps a record after logout.

Cookies: the session cookie is ``HttpOnly`` and ``SameSite=Lax`` (``capa/config.py``), and ``Secure`` when the
request came over HTTPS or ``SESSION_COOKIE_SECURE`` is set (:class:`SessionCookies`).

Behind a reverse proxy that terminates HTTPS, ``CAPA_PROXY_FIX`` (the number of proxies in front, 0 by default)
makes the app believe their ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``-Prefix`` headers (werkzeug's
ProxyFix): ``request.is_secure`` is then true for an HTTPS visit (HSTS, Secure cookies) and client addresses
are the real ones. Without it those headers are ignored, as anyone can send them. A negative or unreadable
value stops the start with :class:`ValueError`.
"""

import base64
import hashlib
import re

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

#: A year, as browsers expect of HSTS.
HSTS_SECONDS = 31_536_000

#: The policy of every HTML page of the app: nothing inline, everything from the app itself.
PAGE_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
)
PAGE_POLICY = "; ".join(PAGE_DIRECTIVES)
#: The policy of every answer that is not a page: a file opened on its own runs and loads nothing.
FILE_POLICY = "default-src 'none'; frame-ancestors 'none'"
#: Pages whose HTML a library writes (APIFlask's Swagger UI page and its OAuth redirect), with inline parts.
LIBRARY_PAGES = frozenset({"openapi.docs", "openapi.swagger_ui_oauth_redirect"})

_INLINE = re.compile(r"<(script|style)(?![^>]*\bsrc=)[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def library_page_policy(html: str) -> str:
    """:data:`PAGE_POLICY` allowing exactly the inline scripts and styles of ``html`` (by hash) and ``data:``
    images: for a page the app serves but does not write."""
    hashes = {"script": [], "style": []}
    for kind, body in _INLINE.findall(html):
        hashes[kind.lower()].append(_digest(body))
    extra = {
        "script-src": " ".join(dict.fromkeys(hashes["script"])),
        "style-src": " ".join(dict.fromkeys(hashes["style"])),
        "img-src": "data:",
    }
    directives = []
    for directive in PAGE_DIRECTIVES:
        name = directive.split(" ", 1)[0]
        directives.append(f"{directive} {extra[name]}".rstrip() if extra.get(name) else directive)
    return "; ".join(directives)


def _policy(response: Response) -> str:
    if response.mimetype != "text/html":
        return FILE_POLICY
    if request.endpoint in LIBRARY_PAGES and not response.is_streamed:
        return library_page_policy(response.get_data(as_text=True))
    return PAGE_POLICY


def secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = _policy(response)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    if request.endpoint != "static" and "private" not in (headers.get("Cache-Control") or ""):
        headers["Cache-Control"] = "private, no-store"
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, ``Secure`` whenever the request came over HTTPS (behind a proxy: with
    ``CAPA_PROXY_FIX``), not only when ``SESSION_COOKIE_SECURE`` says so: a cookie set over HTTPS is never
    sent back over plain HTTP."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def proxies_in_front(app: Flask) -> int:
    """``CAPA_PROXY_FIX`` as a number of proxies. Raises ValueError for a negative or unreadable value."""
    raw = app.config.get("CAPA_PROXY_FIX") or 0
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"CAPA_PROXY_FIX must be a whole number of proxies (0 or more), not {raw!r}") from None
    if count < 0:
        raise ValueError(f"CAPA_PROXY_FIX must be a whole number of proxies (0 or more), not {raw!r}")
    return count


def init_app(app: Flask) -> None:
    app.after_request(secure)
    app.session_interface = SessionCookies()
    count = proxies_in_front(app)
    if count:
        # The proxy (or chain of proxies) says how the visitor reached it: trust exactly that many hops.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_prefix=count)
