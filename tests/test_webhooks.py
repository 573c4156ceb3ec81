"""When a job launched through the API ends, its program is told: a signed event, sent from an
outbox by the worker, retried with back-off, each attempt recorded. A receiver that is down never
stops polling."""

import json
import re
import time
from pathlib import Path

import pytest

from research import jobs, outcomes, tasks, webhooks
from research.models import ApiToken, Charge, JobStatus, JobWebhook, ResearchJob, WebhookDelivery
from tests.api_client import Receiver, fresh_rate_limits, program_for  # noqa: F401
from tests.conftest import advance_to, finish
from tests.workspace_data import stored_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://hooks.example.com/clado", True),
        ("http://127.0.0.1:9000/hook", True),  # loopback: development and the sandbox
        ("http://localhost:9000/hook", True),
        ("http://[::1]:9000/hook", True),
        ("http://hooks.example.com/clado", False),  # plain http anywhere else
        ("https://10.0.0.5/hook", False),  # a private address
        ("https://169.254.169.254/latest/meta-data", False),  # link-local: cloud metadata
        ("https://user:pass@hooks.example.com/", False),
        ("ftp://hooks.example.com/", False),
        ("not a url", False),
    ],
)
def test_webhook_urls_are_https_or_loopback_in_development(url, allowed):
    if allowed:
        assert webhooks.validate_url(url) == url
    else:
        with pytest.raises(webhooks.BadWebhookUrl):
            webhooks.validate_url(url)


def test_loopback_webhooks_are_refused_outside_development(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(webhooks.BadWebhookUrl, match="development"):
        webhooks.validate_url("http://127.0.0.1:9000/hook")


def hooked_job(user, url, **fields):
    program = program_for(user)
    job = stored_job(user, "Growth leads", count=3, **fields)
    JobWebhook.objects.create(job=job, token=program.token, url=url)
    return job, program.token


def test_an_ended_job_queues_one_event_per_end_signed_with_its_token_s_secret(user):
    with Receiver() as receiver:
        job, token = hooked_job(user, "http://127.0.0.1:1/unused")
        JobWebhook.objects.filter(job=job).update(url=receiver.url)
        webhooks.job_ended(job)
        webhooks.job_ended(job)  # the same end seen twice is one event
        assert WebhookDelivery.objects.count() == 1
        assert tasks.deliver_webhooks() == 1
    sent = receiver.received[0]
    assert sent["headers"]["X-Webhook-Event"] == "job.completed"
    assert webhooks.verify(token.webhook_secret, sent["headers"]["X-Webhook-Signature"], sent["body"])
    assert not webhooks.verify("whsec_another", sent["headers"]["X-Webhook-Signature"], sent["body"])
    tampered = sent["body"].replace('"completed"', '"error"')
    assert not webhooks.verify(token.webhook_secret, sent["headers"]["X-Webhook-Signature"], tampered)
    stale = time.time() + webhooks.TOLERANCE_SECONDS + 5
    assert not webhooks.verify(
        token.webhook_secret, sent["headers"]["X-Webhook-Signature"], sent["body"], stale
    )
    assert json.loads(sent["body"])["job"]["links"]["leads"] == f"/api/v1/jobs/{job.pk}/leads"


def test_a_job_without_a_webhook_and_a_running_job_queue_nothing(user):
    webhooks.job_ended(stored_job(user, "No hook", count=1))
    running, _ = hooked_job(user, "http://127.0.0.1:9/hook", status=JobStatus.SEARCHING)
    webhooks.job_ended(running)
    assert not WebhookDelivery.objects.exists()


def test_a_cancelled_job_and_a_failed_launch_send_their_own_events(user, sandbox):
    program = program_for(user)
    with Receiver() as receiver:
        sandbox.gateway.inject("deep-research", "overprice")  # the wallet refuses: the launch fails
        failed = program.post(
            "/jobs", {"query": "CFOs in Lisbon", "limit": 5, "webhook_url": receiver.url}
        ).json()
        assert failed["status"] == "error"
        waiting = jobs.create_job(user, "CTOs in Oslo", 5)
        JobWebhook.objects.create(job=waiting, token=program.token, url=receiver.url)
        jobs.cancel(waiting, user)  # before launch: free
        assert tasks.deliver_webhooks() == 2
    kinds = {
        json.loads(sent["body"])["job"]["id"]: sent["headers"]["X-Webhook-Event"]
        for sent in receiver.received
    }
    assert kinds == {failed["id"]: "job.error", waiting.pk: "job.cancelled"}
    assert not Charge.objects.exists()


def test_a_receiver_that_is_down_is_retried_with_back_off_then_given_up_and_polling_goes_on(
    user, clock, sandbox, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    program = program_for(user)
    sandbox.gateway.script(job_seconds=30, results=4)
    launched = program.post(
        "/jobs", {"query": "Founders in Porto", "limit": 4, "webhook_url": "http://127.0.0.1:9/"}
    )
    job = ResearchJob.objects.get(pk=launched.json()["id"])
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    tasks.poll_cycle(seconds=0)  # nothing listens on port 9: the first attempt fails
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 4, "polling went on"

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, None)
    assert delivery.last_error
    gaps = []
    while delivery.state == WebhookDelivery.State.PENDING:
        gaps.append((delivery.next_attempt_at - jobs.clock.now()).total_seconds())
        assert tasks.deliver_webhooks() == 0, "not due yet: nothing is sent"
        advance_to(clock, delivery.next_attempt_at)
        tasks.deliver_webhooks()
        delivery.refresh_from_db()
    assert gaps == [10, 30], "back-off triples"
    assert (delivery.state, delivery.attempts) == ("failed", 3)


def test_two_cycles_never_send_the_same_attempt_twice(user):
    with Receiver() as receiver:
        job, _ = hooked_job(user, "http://127.0.0.1:1/")
        JobWebhook.objects.filter(job=job).update(url=receiver.url)
        delivery = webhooks.job_ended(job)
        now = jobs.clock.now()
        claimed = WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now)
        assert claimed == 1
        assert webhooks.attempt(delivery.pk, now) is True
        assert webhooks.attempt(delivery.pk, now) is False
    assert len(receiver.received) == 1


def test_queueing_an_event_never_breaks_the_state_change_that_called_it(user, monkeypatch):
    job, _ = hooked_job(user, "http://127.0.0.1:9/")

    def broken(job):
        raise RuntimeError("boom")

    monkeypatch.setattr(webhooks, "event_for", broken)
    assert webhooks.job_ended(job) is None
    assert not WebhookDelivery.objects.exists()
    ResearchJob.objects.filter(pk=job.pk).update(status=JobStatus.SEARCHING)
    ended = outcomes.end(job, JobStatus.CANCELLED, "Cancelled.")  # the end it rides on still happens
    assert ended.status == JobStatus.CANCELLED and ended.finished_at is not None


def test_the_receiver_code_in_the_api_guide_accepts_our_signatures_and_nothing_else():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", guide, re.S).group(1)
    namespace = {}
    exec(code, namespace)  # the guide's own example, as a receiver would paste it
    body = '{"id":"evt_1","type":"job.completed"}'
    header = webhooks.signature_header("whsec_test", body)
    assert namespace["verify"]("whsec_test", header, body.encode())
    assert not namespace["verify"]("whsec_other", header, body.encode())
    old = webhooks.signature_header("whsec_test", body, timestamp=time.time() - 3600)
    assert not namespace["verify"]("whsec_test", old, body.encode())


def test_a_revoked_token_s_events_are_not_sent(user):
    with Receiver() as receiver:
        job, token = hooked_job(user, "http://127.0.0.1:1/")
        JobWebhook.objects.filter(job=job).update(url=receiver.url)
        delivery = webhooks.job_ended(job)
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=jobs.clock.now())
        assert tasks.deliver_webhooks() == 0
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 0) and "revoked" in delivery.last_error
    assert receiver.received == []
