"""Word when a job ends: one email to its owner per ending, from where the state changes.

Through Django's email framework (the test outbox); real payments against the sandbox.
"""

import pytest
from django.urls import reverse

from research import jobs, notify
from research.models import JobStatus, Preferences, ResearchJob
from tests.conftest import advance_to, cap_jobs_at, finish, side_by_side, start, when_due
from tests.test_configuration import run_django

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]


@pytest.fixture
def owner(user):
    user.email = "alice@example.com"
    user.save()
    return user


def poll_until_ended(job, clock):
    while job.is_active:
        advance_to(clock, when_due(job))
        jobs.poll_due_jobs()
        job.refresh_from_db()
    return job


def test_a_completed_job_emails_its_owner_once_with_a_link_to_its_profiles(owner, sandbox, clock, mailoutbox):
    job = start(owner, sandbox, seconds=30, results=12)
    finish(job, clock, sandbox)
    poll_until_ended(job, clock)

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["alice@example.com"]
    assert email.subject == f"Completed: Heads of sales in Berlin (job #{job.pk})"
    assert "has completed: 12 profiles stored." in email.body
    assert f"http://127.0.0.1:8000/jobs/{job.pk}/" in email.body
    assert "http://127.0.0.1:8000/jobs/settings/" in email.body, "how to turn it off"

    # The end seen again (a second poller, a stray schedule, a person's "check now"): no second email.
    assert notify.job_ended(job) is False
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.finished_at)
    jobs.poll_due_jobs()
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_pollers_that_see_the_same_end_at_once_send_one_email(owner, sandbox, clock, mailoutbox):
    job = start(owner, sandbox, seconds=30, results=3)
    ResearchJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
    job.refresh_from_db()
    sent = side_by_side(*[lambda: notify.job_ended(ResearchJob.objects.get(pk=job.pk))] * 4)
    assert sorted(sent) == [False, False, False, True]
    assert len(mailoutbox) == 1


def test_a_job_the_gateway_reports_failed_emails_why(owner, sandbox, clock, mailoutbox):
    sandbox.gateway.script(job_seconds=40, results=10, error=True)
    job = jobs.launch(jobs.create_job(owner, "CTOs in Oslo", 10), owner)
    clock.advance(60)
    poll_until_ended(job, clock)
    assert job.status == JobStatus.ERROR
    assert [email.subject for email in mailoutbox] == [f"Failed: CTOs in Oslo (job #{job.pk})"]
    assert "Clado reported an error" in mailoutbox[0].body


def test_a_cancelled_job_emails_once(owner, sandbox, clock, mailoutbox):
    job = start(owner, sandbox, seconds=120)
    clock.advance(20)
    jobs.cancel(job, owner)
    jobs.cancel(job, owner)  # already ended: nothing more
    assert [email.subject for email in mailoutbox] == [f"Cancelled: Heads of sales in Berlin (job #{job.pk})"]


def test_a_pause_for_budget_is_told_once_however_often_it_is_retried_then_the_end_too(
    owner, sandbox, clock, mailoutbox
):
    job = start(owner, sandbox, seconds=30, results=10)
    cap_jobs_at(job.spend() + 1_000)  # less than one status call
    finish(job, clock, sandbox)
    for _ in range(3):  # the held check is retried every POLL_BUDGET_RETRY seconds, paying nothing
        advance_to(clock, when_due(job))
        jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.hold == "budget"
    assert [email.subject for email in mailoutbox] == [
        f"Paused for budget: Heads of sales in Berlin (job #{job.pk})"
    ]
    assert "a budget cap refused its next paid call" in mailoutbox[0].body

    cap_jobs_at(25_000_000)
    poll_until_ended(job, clock)
    assert [email.subject.split(":")[0] for email in mailoutbox] == ["Paused for budget", "Completed"]


def test_more_results_are_a_new_run_whose_end_is_told_again(owner, sandbox, clock, mailoutbox):
    job = start(owner, sandbox, seconds=30, results=10)
    finish(job, clock, sandbox)
    poll_until_ended(job, clock)
    jobs.more(job, owner, 10, confirmed=True)
    job.refresh_from_db()
    clock.advance(sandbox.gateway.jobs[job.clado_id].extensions[0].duration + 1)
    poll_until_ended(job, clock)
    assert [email.subject.split(":")[0] for email in mailoutbox] == ["Completed", "Completed"]


def test_a_person_who_turned_email_off_gets_none(owner, sandbox, clock, mailoutbox):
    Preferences.objects.create(user=owner, email_when_done=False)
    job = start(owner, sandbox, seconds=30, results=2)
    finish(job, clock, sandbox)
    poll_until_ended(job, clock)
    assert job.status == JobStatus.COMPLETED and mailoutbox == []
    assert job.notified_as == "completed", (
        "the ending counts as told: turning email on later sends nothing old"
    )


def test_a_login_without_an_email_address_gets_none(user, sandbox, clock, mailoutbox):
    job = start(user, sandbox, seconds=30, results=2)
    finish(job, clock, sandbox)
    poll_until_ended(job, clock)
    assert mailoutbox == []


def test_a_mail_server_that_fails_never_stops_the_poller(owner, sandbox, clock, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens
    job = start(owner, sandbox, seconds=30, results=4)
    finish(job, clock, sandbox)
    poll_until_ended(job, clock)
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 4


def test_the_settings_page_turns_the_email_off_and_on(client, owner):
    client.force_login(owner)
    url = reverse("research:settings")
    page = client.get(url).content.decode()
    assert "alice@example.com" in page and "checked" in page, "on unless turned off"

    response = client.post(url, {})  # the box unticked
    assert response.status_code == 302
    assert Preferences.objects.get(user=owner).email_when_done is False
    assert notify.email_choice(owner) == "off"
    assert "Email when a job ends: off" in client.get(reverse("research:job_list")).content.decode()

    client.post(url, {"email_when_done": "on"})
    assert notify.email_choice(owner) == "on"


def test_email_goes_where_email_url_says_the_console_by_default_and_a_bad_one_fails_loudly():
    show = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_USE_TLS)"
    assert run_django(show).stdout.split()[0] == "django.core.mail.backends.console.EmailBackend"
    smtp = run_django(show, EMAIL_URL="submission://sales:secret@mail.example.com:587")
    assert smtp.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "mail.example.com", "True"]
    bad = run_django("", EMAIL_URL="carrier-pigeon://loft")
    assert bad.returncode != 0 and "EMAIL_URL must start with one of" in bad.stderr
