"""Playwright driving Debian's chromium against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, and the tests also use the ORM
there (to move a job along, to count charges): Django must be told that is fine.
"""

import os
import threading

import pytest
from django.db import connection

from research import jobs
from research.models import ResearchJob
from tests.browser.chromium import CHROMIUM, launch

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module. Not per session: Playwright's event loop must not outlive
    the browser tests, or later tests' async_to_sync calls would find it running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def _context(chromium, live_server, client, user, **options):
    client.force_login(user)
    context = chromium.new_context(base_url=live_server.url, accept_downloads=True, **options)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.set_default_timeout(10_000)
    # A launch is a paid call made while the form's POST waits (signing, the gateway, the chain):
    # on a loaded machine its redirect may take longer than a check of the page does.
    context.set_default_navigation_timeout(30_000)
    return context


@pytest.fixture
def page(chromium, live_server, client, user):
    """A logged-in tab."""
    context = _context(chromium, live_server, client, user)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_without_js(chromium, live_server, client, user):
    """A logged-in tab of a browser with JavaScript switched off."""
    context = _context(chromium, live_server, client, user, java_script_enabled=False)
    yield context.new_page()
    context.close()


def run_in_thread(function):
    """Run `function` in a thread of its own, as the worker would: the payment client bridges
    to asyncio with async_to_sync, which refuses to run under Playwright's event loop."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised in the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.fixture
def advance_job(clock, sandbox):
    """Move a launched job along: time passes at the sandbox, then the poller runs once."""

    def advance(job, seconds):
        clock.advance(seconds)
        ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
        assert run_in_thread(jobs.poll_due_jobs) == 1
        job.refresh_from_db()
        return job

    return advance


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report shows what the tab showed: its address and its text."""
    report = yield
    if report.when == "call" and report.failed:
        for name in ("page", "page_without_js"):
            tab = item.funcargs.get(name)
            if tab is None:
                continue
            try:
                report.sections.append((f"what {name} showed", f"{tab.url}\n{tab.inner_text('body')}"))
            except Exception as error:  # a closed tab says why it cannot be read
                report.sections.append((f"what {name} showed", f"unreadable: {error}"))
    return report
