"""The Content-Security-Policy of every student page: one definition for builder and relay.

The builder writes it into each page's meta tag; the relay sends it as a header
(with what only a header can say) on every page it serves.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def content_security_policy(relay_url: str) -> str:
    """Same-origin scripts, styles and images; network requests only to the relay."""
    parts = urlsplit(relay_url)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src {parts.scheme}://{parts.netloc}; base-uri 'none'; form-action 'none'"
    )


def header_policy(relay_url: str) -> str:
    """The page policy plus frame-ancestors, which a meta tag cannot carry."""
    return content_security_policy(relay_url) + "; frame-ancestors 'none'"


def course_header_policy(relay_url: str) -> str:
    """The staff course's policy as a header: nothing from another origin, no framing.

    mkdocs-material writes a few inline scripts and style attributes into every
    page, so this allows inline code; it still refuses every third-party origin.
    Completion records go to the relay, and nowhere else.
    """
    parts = urlsplit(relay_url)
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        f"connect-src 'self' {parts.scheme}://{parts.netloc}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
