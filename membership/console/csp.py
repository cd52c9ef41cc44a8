"""The console's Content-Security-Policy.

Scripts load only from the site itself (``/console/static``: htmx, ECharts, the console's own
scripts); no inline ``<script>`` runs. The few inline event handlers the templates carry
(``onchange="this.form.submit()"``) are allowed one by one, by the SHA-256 of their exact text
(CSP's ``'unsafe-hashes'``), read from the templates when the app starts, so an injected handler
or script is still refused. A handler whose text is built by Jinja (``{{ … }}``) cannot be
hashed ahead: write it as a ``data-`` attribute read by a static script instead.
Styles may be inline (htmx and ECharts set them); frames, plugins and ``<base>`` are refused.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re

import jinja2

log = logging.getLogger(__name__)
_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def inline_handler_hashes(env: jinja2.Environment) -> list[str]:
    """CSP sources (``'sha256-…'``) for the inline event handlers of every HTML template ``env``
    can load."""
    found = set()
    for name in env.list_templates(extensions=["html"]):
        source = env.loader.get_source(env, name)[0] if env.loader else ""
        for match in _HANDLER.finditer(source):
            code = html.unescape(match[1] if match[1] is not None else match[2])
            if "{{" in code or "{%" in code:
                log.warning("template %s: an inline handler built by Jinja is refused by the CSP: %s", name, code)
                continue
            digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
            found.add(f"'sha256-{digest}'")
    return sorted(found)


def console_policy(env: jinja2.Environment) -> str:
    """The ``Content-Security-Policy`` of console pages rendered from ``env``."""
    hashes = inline_handler_hashes(env)
    scripts = " ".join(["'self'", *(["'unsafe-hashes'", *hashes] if hashes else [])])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
