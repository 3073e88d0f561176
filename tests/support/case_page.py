"""The case page as a student uses it in Chromium: type the code, read the thread."""

from __future__ import annotations

from playwright.sync_api import Page


def open_case(page: Page, url: str, typed: str) -> None:
    """Type a code on the case page and wait until the page has answered."""
    page.goto(url)
    page.fill("#code", typed)
    page.click("#open")
    page.wait_for_function(
        "() => !document.getElementById('thread').hidden"
        " || document.getElementById('code-error').textContent !== ''"
    )


def thread_items(page: Page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("#messages > li").all_inner_texts()]
