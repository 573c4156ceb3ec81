"""Build a demo workspace against the sandbox and capture the README's screenshots.

    .venv/bin/python docs/screenshots.py          # writes docs/*.png, logged in as demo / demo

Everything is real except time: a throwaway SQLite database, the built-in sandbox gateway and
chain (every launch and status check below is paid there), the app served over HTTP, and
Debian's chromium driven by Playwright. The sandbox's clock is moved instead of waiting.
"""

import datetime
import os
import pathlib
import sys
import tempfile
import threading

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/screens.sqlite3"


def build(sandbox, clock):
    """The team's workspace: finished, running, waiting and failed jobs, paid at the sandbox."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from research import jobs
    from research.models import ResearchJob

    # The README's login, made as `run.py app` makes it: demo / demo, staff, in the team Sales; so
    # the navigation shows what a newcomer sees (Spend, Admin).
    call_command("demo_user")
    users = get_user_model().objects
    demo = users.get(username="demo")
    maria = users.create_user("maria", password="maria")
    maria.groups.add(Group.objects.get(name="Sales"))
    now = timezone.now()

    def launch(owner, query, limit, results, seconds=60, error=False):
        sandbox.gateway.script(job_seconds=seconds, results=results, error=error)
        return jobs.launch(jobs.create_job(owner, query, limit), owner)

    def poll(job, seconds):
        clock.advance(seconds)
        ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
        jobs.poll_due_jobs()

    def backdate(job, started_minutes_ago, took_seconds=None):
        start = now - datetime.timedelta(minutes=started_minutes_ago)
        fields = {"created_at": start, "launched_at": start + datetime.timedelta(seconds=1)}
        if took_seconds is not None:
            fields["finished_at"] = start + datetime.timedelta(seconds=took_seconds)
        ResearchJob.objects.filter(pk=job.pk).update(**fields)

    growth = launch(maria, "Heads of growth at DTC brands in Paris", 60, 48)
    poll(growth, 30)
    poll(growth, 40)
    backdate(growth, 26 * 60, 212)

    failed = launch(demo, "Procurement leads at Tier-1 automotive suppliers", 40, 0, error=True)
    poll(failed, 70)
    backdate(failed, 5 * 60, 95)

    vps = launch(demo, "VPs of sales at Series B fintechs in Berlin", 150, 137)
    poll(vps, 25)
    poll(vps, 50)
    backdate(vps, 47, 251)

    again = launch(demo, "VPs of sales at Series B fintechs in Berlin", 20, 20)
    poll(again, 70)
    backdate(again, 12, 64)

    running = launch(demo, "CTOs at climate-tech startups in the Nordics", 80, 70, seconds=240)
    poll(running, 100)
    backdate(running, 2)

    waiting = launch(maria, "Founders of AI developer-tool companies in London", 30, 25, seconds=600)
    backdate(waiting, 0)
    return demo, vps, running


def serve():
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from whitenoise import WhiteNoise

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    from django.conf import settings

    app = WhiteNoise(WSGIHandler(), root=None)
    app.add_files(str(settings.STATICFILES_DIRS[0]), prefix=settings.STATIC_URL)
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def session_cookie(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def capture(url, cookie, vps, running):
    from playwright.sync_api import sync_playwright

    from tests.browser import chromium

    def shot(page, name, **options):
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(DOCS / name), **options)
        print("wrote", DOCS / name)

    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        laptop = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
        laptop.add_cookies([{"name": "sessionid", "value": cookie, "url": url}])
        page = laptop.new_page()

        page.goto("/jobs/?who=team")
        shot(page, "jobs-list.png")

        page.goto("/jobs/new/")
        page.get_by_label("Who are you looking for?").fill("Heads of RevOps at B2B SaaS companies in Munich")
        page.get_by_label("Number of results").fill("120")
        page.locator("#price-amount").filter(has_text="$1.203").wait_for()
        shot(page, "new-job.png")

        page.goto(running.get_absolute_url())
        shot(page, "job-running.png")

        page.goto(vps.get_absolute_url() + "?sort=company")
        page.locator("#results-body a.lead-open").nth(1).click()
        page.locator("#results-body tr.panel-row:not([hidden]) .lead-detail").wait_for()
        shot(page, "job-completed.png", full_page=True)

        page.goto("/jobs/leads/?decision_maker=yes")
        shot(page, "all-leads.png", full_page=True)

        phone = browser.new_context(
            base_url=url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
        )
        phone.add_cookies([{"name": "sessionid", "value": cookie, "url": url}])
        page = phone.new_page()
        page.goto(vps.get_absolute_url())
        shot(page, "phone-job.png")
        page.locator("#results").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('#results').scrollIntoView()")
        shot(page, "phone-results.png")
        browser.close()


def main():
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from research.sandbox import Sandbox, SimulatedClock

    call_command("migrate", verbosity=0)
    clock = SimulatedClock()
    with Sandbox(port=0, clock=clock, job_seconds=60.0) as sandbox:
        settings.CLADO_MPP_URL = sandbox.url
        settings.TEMPO_RPC_URL = sandbox.rpc_url
        settings.SANDBOX_MODE = True
        settings.LAUNCH_RATE_LIMIT = None  # the screenshots' jobs are launched at once
        demo, vps, running = build(sandbox, clock)
        cookie = session_cookie(demo)
        url = serve()
        capture(url, cookie, vps, running)


if __name__ == "__main__":
    main()
