"""A program drives jobs through the JSON API with only a token: the same jobs, budgets and ledger.

Every paid call below is a real MPP payment against the sandbox gateway and chain, made by the
app's wallet: the program never holds a key. It sees what the person sees, spends within their
budgets, and the spend it reads equals the ledger, which equals the chain.
"""

import csv
import hashlib
import hmac
import io
import json
import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from openapi_spec_validator import validate

from research import jobs, quotes, tasks
from research.api import endpoints
from research.models import AuditEvent, Charge, JobStatus, Lead, ResearchJob, WebhookDelivery
from tests.api_client import Program, Receiver, fresh_rate_limits, problem, program_for  # noqa: F401
from tests.conftest import (
    advance_to,
    assert_ledger_matches_chain,
    cap_jobs_at,
    finish,
    our_transfers,
    side_by_side,
    transfers_by_hash,
)
from tests.workspace_data import stored_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]

SEARCH = {"query": "Heads of sales at Series B fintechs in Berlin", "limit": 150}


def token_from_the_page(client):
    """What a person does: create a token on their page and copy the two secrets it shows once."""
    page = client.post(reverse("account:tokens"), {"name": "lead pipeline", "expires_in": 90})
    assert page.status_code == 201
    html = page.content.decode()
    token = re.search(r'id="new-token"[^>]*value="([^"]+)"', html).group(1)
    signing = re.search(r'id="new-webhook-secret"[^>]*value="([^"]+)"', html).group(1)
    return token, signing


def run_worker_cycle():
    """What the worker does each minute (no time left for a second tick)."""
    tasks.poll_cycle(seconds=0)


def test_a_program_quotes_launches_twice_waits_for_the_webhook_pages_every_lead_and_exports(
    logged_in, user, clock, sandbox
):
    secret, signing_secret = token_from_the_page(logged_in)
    program = Program(secret)
    since = len(sandbox.chain.transfers)

    quote = program.post("/quote", {"limit": 150}).json()
    assert quote["launch"] == {"base_units": 1_503_000, "usd": "$1.503"}
    assert quote["fits"] and quote["cap"] in ("team-day", "user-month", "job")

    sandbox.gateway.script(job_seconds=60, results=150)
    with Receiver(answers=[500]) as receiver:
        body = {**SEARCH, "max_price": quote["launch"]["base_units"], "webhook_url": receiver.url}
        first = program.post("/jobs", body, **{"Idempotency-Key": "pipeline-run-1"})
        again = program.post("/jobs", body, **{"Idempotency-Key": "pipeline-run-1"})

        assert first.status_code == 201 and first["Location"] == f"/api/v1/jobs/{first.json()['id']}"
        assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert ResearchJob.objects.count() == 1, "one key, one job"
        assert Charge.objects.filter(endpoint="deep-research").count() == 1, "one key, one charge"
        assert len(our_transfers(sandbox, since)) == 1, "and one payment on the chain"
        job = ResearchJob.objects.get()
        assert (job.owner, job.status, job.max_launch_price) == (user, JobStatus.PENDING, 1_503_000)
        assert AuditEvent.objects.filter(user=user, action="launch", job=job).count() == 1

        finish(job, clock, sandbox)
        advance_to(clock, job.next_poll_at)
        run_worker_cycle()  # the job completes; its webhook's first attempt meets a 500
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
        clock.advance(11)  # past the first back-off
        run_worker_cycle()
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 2, 200)

    assert len(receiver.received) == 2
    sent = receiver.received[-1]
    timestamp, signature = re.fullmatch(
        r"t=(\d+),v1=([0-9a-f]{64})", sent["headers"]["X-Webhook-Signature"]
    ).groups()
    expected = hmac.new(signing_secret.encode(), f"{timestamp}.{sent['body']}".encode(), hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest()), "signed with the token's webhook secret"
    assert abs(time.time() - int(timestamp)) < 60
    event = json.loads(sent["body"])
    assert event["type"] == "job.completed" and event["job"]["id"] == job.pk
    assert event["job"]["leads_stored"] == 150

    state = program.get(f"/jobs/{job.pk}").json()
    assert state["status"] == "completed" and state["counts"]["leads_stored"] == 150
    assert state["progress"]["checked_at"] is not None and state["progress"]["next_check_at"] is None

    seen, cursor = [], None
    while True:
        page = program.get(f"/jobs/{job.pk}/leads", {"limit": 40, **({"cursor": cursor} if cursor else {})})
        seen += [lead["id"] for lead in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 150 and set(seen) == set(job.leads.values_list("pk", flat=True))
    assert seen == list(job.leads.order_by("position", "pk").values_list("pk", flat=True))

    export = program.get(f"/jobs/{job.pk}/export.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 150 and {row["Name"] for row in rows} == set(job.leads.values_list("name", flat=True))

    spend = program.get("/spend").json()
    charges = list(Charge.objects.filter(user=user))
    ledger = sum(c.amount for c in charges if c.state in Charge.COUNTED_STATES)
    on_chain = sum(t.amount for t in our_transfers(sandbox, since))
    assert spend["all_time"]["total"]["base_units"] == ledger == on_chain
    assert spend["all_time"]["settled"]["base_units"] == ledger, "every charge settled"
    assert [row["job"] for row in spend["by_job"]] == [job.pk]
    assert state["spend"]["total"]["base_units"] == ledger
    assert_ledger_matches_chain(sandbox, charges)

    # The program can check it itself: every charge it is shown is one transfer on the chain.
    listed, cursor = [], None
    while True:
        page = program.get("/charges", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        listed += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert len(listed) == len(charges) == 3, "the launch, then the completed status and its second page"
    transfers = transfers_by_hash(sandbox)
    for charge in listed:
        transfer = transfers[charge["tx_hash"].lower()]
        assert (transfer.amount, transfer.recipient.lower()) == (
            charge["amount"]["base_units"],
            charge["recipient"].lower(),
        )
    assert (
        sum(charge["amount"]["base_units"] for charge in listed) == spend["all_time"]["total"]["base_units"]
    )


def test_a_launch_whose_price_is_above_max_price_pays_nothing(user, sandbox):
    program = program_for(user)
    since = len(sandbox.chain.transfers)
    refused = program.post("/jobs", {**SEARCH, "max_price": 1_502_999}, **{"Idempotency-Key": "k"})
    body = problem(refused, 422, "price-above-max")
    assert body["price"]["base_units"] == 1_503_000 and "Nothing was paid" in body["detail"]
    assert not ResearchJob.objects.exists() and not Charge.objects.exists()
    assert our_transfers(sandbox, since) == []


def test_the_wallet_refuses_a_challenge_above_max_price_even_within_the_table_s_tolerance(
    user, sandbox, settings
):
    # Our price table says $0.098 for 10 results; the gateway asks $0.103, which is inside the
    # table's 10% tolerance, but above what the program accepted: the wallet signs nothing.
    settings.PRICE_PER_RESULT = 9_500
    program = program_for(user)
    since = len(sandbox.chain.transfers)
    launched = program.post("/jobs", {**SEARCH, "limit": 10, "max_price": 98_000})
    assert launched.status_code == 201
    job = launched.json()
    assert job["status"] == "error" and "more than the $0.098" in job["message"]
    assert Charge.objects.count() == 0 and our_transfers(sandbox, since) == []


def test_a_revoked_expired_unknown_or_missing_token_gets_401(logged_in, user):
    program = program_for(user)
    assert program.get("/spend").status_code == 200
    logged_in.post(reverse("account:token_revoke", args=[program.token.pk]))
    assert "revoked" in problem(program.get("/spend"), 401, "unauthorized")["detail"]

    expired = program_for(user, expires_at=jobs.clock.now().replace(year=2000))
    assert "expired" in problem(expired.get("/spend"), 401, "unauthorized")["detail"]
    problem(Program("cdr_not-a-real-token").get("/spend"), 401, "unauthorized")
    missing = Program(None).post("/quote", {"limit": 5})
    problem(missing, 401, "unauthorized")
    assert missing["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db(transaction=True)
def test_the_same_launch_sent_twice_at_once_launches_one_job_and_pays_once(user, sandbox):
    secret = program_for(user).secret

    def send():  # each thread is a client of its own, with the same token
        return Program(secret).post("/jobs", {**SEARCH, "limit": 5}, **{"Idempotency-Key": "at-once"})

    answers = side_by_side(send, send)
    assert {answer.status_code for answer in answers} <= {200, 201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert ResearchJob.objects.count() == 1
    assert Charge.objects.filter(endpoint="deep-research").count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_the_same_search_again_is_refused_until_the_program_says_again(user, sandbox):
    program = program_for(user)
    first = program.post("/jobs", {**SEARCH, "limit": 5}).json()
    twice = program.post("/jobs", {**SEARCH, "query": SEARCH["query"].upper() + ".", "limit": 5})
    assert problem(twice, 409, "same-search-recently")["job"]["id"] == first["id"]
    assert Charge.objects.filter(endpoint="deep-research").count() == 1
    again = program.post("/jobs", {**SEARCH, "limit": 5, "again": True})
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert Charge.objects.filter(endpoint="deep-research").count() == 2


def test_an_idempotency_key_sent_with_another_search_is_refused(user, bob):
    program = program_for(user)
    program.post("/jobs", {**SEARCH, "limit": 5}, **{"Idempotency-Key": "same"})
    other = program.post("/jobs", {**SEARCH, "limit": 6}, **{"Idempotency-Key": "same"})
    problem(other, 422, "idempotency-key-reused")
    # Another person's same key is another job: keys are per person.
    theirs = program_for(bob)
    assert theirs.post("/jobs", {**SEARCH, "limit": 5}, **{"Idempotency-Key": "same"}).status_code == 201
    assert ResearchJob.objects.count() == 2


def test_a_launch_above_the_budget_is_refused_with_nothing_paid(user):
    cap_jobs_at(50_000)
    refused = problem(program_for(user).post("/jobs", {**SEARCH, "limit": 10}), 403, "budget")
    assert refused["cap"] == "job" and "Nothing was paid" in refused["detail"]
    assert not ResearchJob.objects.exists() and not Charge.objects.exists()


def test_the_long_poll_answers_as_soon_as_the_job_changes(user, monkeypatch):
    program = program_for(user)
    job = stored_job(user, "Growth leads", count=0, status=JobStatus.SEARCHING)
    looks = []

    def meanwhile(seconds):
        looks.append(seconds)
        if len(looks) == 2:  # the poller stores its latest reading
            ResearchJob.objects.filter(pk=job.pk).update(status=JobStatus.PROCESSING, leads_stored=12)

    monkeypatch.setattr(endpoints, "_pause", meanwhile)
    started = time.monotonic()
    answer = program.get(f"/jobs/{job.pk}", {"wait": 30}).json()
    assert answer["status"] == "processing" and answer["counts"]["leads_stored"] == 12
    assert len(looks) == 2 and time.monotonic() - started < 15, "it answered at the change, not at 30 s"
    assert Charge.objects.count() == 0, "waiting never calls the gateway"

    # A version the program saw earlier that is already stale: the answer comes at once.
    monkeypatch.setattr(endpoints, "_pause", lambda seconds: pytest.fail("should not wait"))
    stale = program.get(f"/jobs/{job.pk}", {"wait": 30, "version": "0" * 16}).json()
    assert stale["version"] == answer["version"]


def test_the_long_poll_gives_up_after_wait_seconds_with_the_same_state(user):
    program = program_for(user)
    job = stored_job(user, "Growth leads", count=0, status=JobStatus.SEARCHING)
    before = program.get(f"/jobs/{job.pk}").json()
    started = time.monotonic()
    after = program.get(f"/jobs/{job.pk}", {"wait": 1, "version": before["version"]}).json()
    assert 0.9 <= time.monotonic() - started < 10  # a loaded machine answers late, never early
    assert after["version"] == before["version"]


def test_cursor_pages_follow_the_table_s_sort_and_filters(user):
    program = program_for(user)
    job = stored_job(user, "Engineers", count=45)
    params = {"sort": "-name", "limit": 7}
    seen, cursor = [], None
    while True:
        page = program.get(
            f"/jobs/{job.pk}/leads", {**params, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [lead["id"] for lead in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == list(job.leads.order_by("-name", "pk").values_list("pk", flat=True))

    country = Lead.objects.filter(job=job).exclude(country="").values_list("country", flat=True).first()
    filtered = program.get(f"/jobs/{job.pk}/leads", {"country": country, "limit": 100}).json()
    assert {lead["country"] for lead in filtered["items"]} == {country}
    assert len(filtered["items"]) == job.leads.filter(country=country).count()

    first = program.get(f"/jobs/{job.pk}/leads", {"sort": "name", "limit": 5}).json()
    wrong = program.get(f"/jobs/{job.pk}/leads", {"sort": "company", "cursor": first["next_cursor"]})
    problem(wrong, 422, "validation")
    problem(program.get(f"/jobs/{job.pk}/leads", {"cursor": "not-a-cursor"}), 422, "validation")
    # The shortlist status is a team's, not a program's: asked for, it orders as position does.
    for sort in ("status", "-status", "bogus"):
        walked, cursor = [], None
        while True:
            page = program.get(
                f"/jobs/{job.pk}/leads", {"sort": sort, "limit": 20, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, (sort, page.content)
            walked += [lead["position"] for lead in page.json()["items"]]
            if not (cursor := page.json()["next_cursor"]):
                break
        assert walked == sorted(walked, reverse=sort == "-status") and len(walked) == 45, sort
    problem(program.get(f"/jobs/{job.pk}/leads", {"limit": 101}), 422, "validation")


def test_cancel_check_now_and_more_need_the_same_claims_and_confirmations_as_the_pages(user, clock, sandbox):
    program = program_for(user)
    sandbox.gateway.script(job_seconds=60, results=5)
    job = program.post("/jobs", {**SEARCH, "limit": 10}).json()

    checked = program.post(f"/jobs/{job['id']}/check")
    assert checked.status_code == 200 and checked.json()["message"].startswith("Checked")
    assert Charge.objects.filter(endpoint="deep-research-status").count() == 1

    remote = ResearchJob.objects.get(pk=job["id"])
    finish(remote, clock, sandbox)
    program.post(f"/jobs/{job['id']}/check")  # completed: 5 of the 10 asked for
    assert ResearchJob.objects.get(pk=job["id"]).status == JobStatus.COMPLETED
    problem(program.post(f"/jobs/{job['id']}/check"), 409, "conflict")
    problem(program.post(f"/jobs/{job['id']}/cancel"), 409, "conflict")

    paid = Charge.objects.count()
    asked = program.post(f"/jobs/{job['id']}/more", {"additional": 10})
    assert "found 5 of the 10" in problem(asked, 409, "needs-confirmation")["detail"]
    assert Charge.objects.count() == paid, "nothing paid without the flag"
    more = program.post(f"/jobs/{job['id']}/more", {"additional": 10, "confirm_exhausted": True})
    assert more.status_code == 200 and more.json()["job"]["status"] in ("pending", "searching", "processing")
    assert Charge.objects.filter(endpoint="deep-research-more").count() == 1

    cancelled = program.post(f"/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["job"]["status"] == "cancelled"
    assert AuditEvent.objects.filter(user=user, job_id=job["id"], action="cancel").exists()
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_another_person_s_job_is_not_found_and_costs_nothing(user, bob, sandbox):
    job = program_for(user).post("/jobs", {**SEARCH, "limit": 5}).json()
    theirs = program_for(bob)
    paid = Charge.objects.count()
    for answer in (
        theirs.get(f"/jobs/{job['id']}"),
        theirs.get(f"/jobs/{job['id']}/leads"),
        theirs.get(f"/jobs/{job['id']}/export.csv"),
        theirs.post(f"/jobs/{job['id']}/check"),
        theirs.post(f"/jobs/{job['id']}/cancel"),
    ):
        problem(answer, 404, "not-found")
    assert Charge.objects.count() == paid
    assert theirs.get("/spend").json()["all_time"]["calls"] == 0


def test_every_error_is_problem_json_with_a_stable_type_and_never_a_traceback(user, monkeypatch):
    program = program_for(user)
    body = problem(program.post("/jobs", {"query": "x", "limit": 5000}), 422, "validation")
    assert {tuple(e["loc"][-1:]) for e in body["errors"]} >= {("limit",), ("query",)}
    problem(program.get("/no-such-endpoint"), 404, "not-found")
    problem(program.get("/jobs/999999"), 404, "not-found")
    assert problem(program.get("/quote"), 405, "method-not-allowed")
    problem(program.post("/jobs", {**SEARCH, "webhook_url": "http://example.com/hook"}), 422, "validation")

    def broken(*args, **kwargs):
        raise RuntimeError("a secret detail that must not leak")

    monkeypatch.setattr(quotes, "quote", broken)
    crashed = problem(program.post("/quote", {"limit": 5}), 500, "server-error")
    assert "secret detail" not in json.dumps(crashed)
    described = Client().get("/api/v1/problems/budget").json()
    assert described["status"] == 403 and described["type"] == "/api/v1/problems/budget"


def test_each_token_has_its_own_rate_limit(user, settings):
    settings.API_RATE_LIMIT = "3/hour"  # no window boundary falls inside the test
    busy, calm = program_for(user), program_for(user, name="other")
    assert [busy.get("/spend").status_code for _ in range(3)] == [200, 200, 200]
    limited = busy.get("/spend")
    problem(limited, 429, "rate-limited")
    assert 1 <= int(limited["Retry-After"]) <= 3600
    assert calm.get("/spend").status_code == 200


def test_the_openapi_schema_validates_and_the_docs_are_served_without_inline_script():
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    validate(schema.json())
    paths = schema.json()["paths"]
    assert {"/api/v1/quote", "/api/v1/jobs", "/api/v1/jobs/{job_pk}", "/api/v1/jobs/{job_pk}/leads"} <= set(
        paths
    )
    assert {"/api/v1/jobs/{job_pk}/export.csv", "/api/v1/jobs/{job_pk}/more", "/api/v1/spend"} <= set(paths)
    assert {"/api/v1/jobs/{job_pk}/cancel", "/api/v1/jobs/{job_pk}/check", "/api/v1/charges"} <= set(paths)
    docs = Client().get("/api/v1/docs").content.decode()
    scripts = re.findall(r"<script([^>]*)>", docs)
    assert scripts and all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
    assert "cdn" not in docs.lower(), "served from our own static files"


def test_the_api_s_faces_never_reach_the_spending_side():
    from tests.test_architecture import FACES

    assert {"research.api", "research.api.endpoints", "research.api.reading", "research.api.auth"} <= set(
        FACES
    )
