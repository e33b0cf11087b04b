"""The browser console: server-rendered pages for staff, parties and auditors, mounted
into the HTTP API at ``/console`` (api/app.py ``create_app``) and served by its process.

Sign-in is OIDC authorization code with PKCE (authlib) against the API's issuer; the
session (server-side in PostgreSQL, shared by every API replica, behind a signed
HttpOnly SameSite=Lax cookie, Secure over https; see ``console.sessions``) holds the
access token, which is verified again by the API's own ``TokenVerifier`` on
every request. Every page is readable without JavaScript; no script runs at all.

Interfaces for pages (other modules add their own the same way):

- ``console.app.PAGES``: the page modules whose ``router`` (a FastAPI ``APIRouter``) the
  console includes; add a module there to add pages. Paths are relative to ``/console``.
- ``console.session.ViewerDep``: the signed-in person, as a dependency of a page
  handler. ``Viewer`` has ``principal`` (verified claims), ``role`` (the role acted in,
  one the token holds), ``actor`` (the domain ``Actor``, never taken from a form),
  ``csrf`` (the session's CSRF token), ``roles`` and ``record()`` (what commands carry).
  A request with no live session is redirected to sign in.
- ``console.session.checked_form(request, viewer)``: the POSTed form, after the CSRF
  check (every form has ``{{ csrf_field() }}``). Use it for every POST.
- ``console.render.render(request, viewer, "page.html", **context)``: a page from
  ``console/templates`` extending ``base.html`` (blocks ``title`` and ``main``);
  templates get ``viewer``, ``csrf_field()``, ``url(path)`` (a console URL) and
  ``nav`` (the navigation links, extend ``render.NAV``).
- ``console.state.services(request)``: the API's ``ApiServices`` (client, store, pool,
  policy); ``console.state.console(request)``: the console's own state.

Security headers on every response: a strict Content-Security-Policy (no scripts, styles
from ``/console/static`` only, forms to the console only), no framing, no referrer,
no caching of pages. No personal data goes into URLs (case ids are hashes) or logs.
"""
