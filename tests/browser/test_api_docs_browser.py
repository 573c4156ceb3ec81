"""The API's interactive docs render in a real browser under a strict Content-Security-Policy.

Another part of the app sends a CSP on every page; the docs (django-ninja's Swagger UI) must not
need inline script or a CDN for it. The policy here is added to the docs' response by the test.
Swagger UI draws its icons as data: SVG images once an operation is opened: the docs page needs
`img-src data:` (and nothing looser for scripts or styles).
"""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def test_the_swagger_docs_render_under_a_csp_without_inline_script(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and violations.append(message.text),
    )

    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT})

    page.route("**/api/v1/docs", with_policy)
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/jobs/{job_pk}/leads")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/quote")).to_be_visible()
    page.locator(".opblock-summary-path", has_text="/api/v1/quote").click()  # open one: its schema renders
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.get_by_text("Available authorizations")).to_be_visible()
    assert violations == []
    context.close()
