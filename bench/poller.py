"""How many paid status calls the poller spends per job, and how late it stores results.

    python bench/poller.py [--jobs-per-duration 8] [--cold 4] [--seed 7] [--trace]

Many concurrent jobs run against the real sandbox gateway and chain (every status call a real
MPP payment), on a simulated clock shared by the sandbox and the app (`research.clock`), so
10-minute jobs take seconds. The same jobs are polled, in the same run, by three pollers:

- ours: `jobs.poll_due_jobs` every POLL_TICK seconds, as the django-q2 cycle runs it;
- naive: every active job every 10 s; fixed: every active job every 60 s (a cron-like tick).

Each poller fetches the remaining result pages at page_size=100 as soon as it sees a job
complete. The lower bound is one status call at the finish plus ceil(results/100) - 1 pages.
The sandbox reports chunk progress while a job searches and results as they arrive while it
processes, and ours stores them as they come.

Two tables: first a fresh install (cold start: each job sees no past run at all, as the very
first jobs of an install do; finished ones are hidden from the policy until the phase ends),
then the same mix again with those runs as history (warm). A throwaway SQLite database in a
temporary directory is used; db.sqlite3 is never touched.
"""

import argparse
import concurrent.futures
import math
import os
import random
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory(prefix="poller-bench-")
os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
os.environ["DATABASE_URL"] = f"sqlite:///{TMP.name}/bench.sqlite3"
os.environ.pop("CLADO_MPP_URL", None)  # the sandbox, always

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import F  # noqa: E402

from research import clado, clock, jobs, poller, wallet  # noqa: E402  # noqa: E402
from research.models import Charge, JobStatus, ResearchJob  # noqa: E402
from research.sandbox import Sandbox, SimulatedClock  # noqa: E402
from research.sandbox import server as sandbox_server  # noqa: E402

# The stdlib server writes headers and body separately: without this, Nagle's algorithm and
# delayed ACKs add ~40 ms to each of the sandbox's round trips (bench speed only).
sandbox_server._Handler.disable_nagle_algorithm = True

DURATIONS = (30, 90, 120, 600)  # nominal seconds; each job's own is within +-15%
RESULTS = (10, 35, 100, 180, 250, 420, 600, 1000)
LAUNCH_WINDOW = 900  # launches spread over the first 15 simulated minutes
BASELINES = (10, 60)


class Baseline:
    """Polls every active job every `interval` seconds on a fixed tick, like a cron job would."""

    def __init__(self, interval):
        self.interval = interval
        self.active = {}  # clado job id -> planned job
        self.calls = defaultdict(int)
        self.stored_at = {}

    def tick(self, now, pool):
        if int(now) % self.interval:
            return
        # Jobs are polled side by side (each one's calls in order) only to keep the bench quick.
        for job_id, done in zip(list(self.active), pool.map(self.poll, list(self.active)), strict=True):
            if done:
                self.stored_at[job_id] = now
                del self.active[job_id]

    def poll(self, job_id):
        page = clado.status(job_id, page=1, page_size=100)
        self.calls[job_id] += 1
        if page.status not in ("completed", "error", "cancelled"):
            return False
        while page.has_more_pages(100):
            page = clado.status(job_id, page=page.page + 1, page_size=100)
            self.calls[job_id] += 1
        return True


def plan(jobs_per_duration, rng):
    planned = []
    for duration in DURATIONS:
        for i in range(jobs_per_duration):
            planned.append(
                {
                    "nominal": duration,
                    "seconds": round(duration * rng.uniform(0.85, 1.15), 1),
                    "results": RESULTS[(i + duration) % len(RESULTS)],
                    "launch_at": rng.randrange(0, LAUNCH_WINDOW, 2),
                }
            )
    return sorted(planned, key=lambda p: p["launch_at"])


def drive(planned, baselines, sim, sandbox, user, pool, *, fresh=False):
    """Launch each planned job at its time and run every poller until all jobs are stored.

    `fresh`: every job sees an empty history, as on a new install (finished runs are hidden from
    the policy, which only learns from runs with a start time, until `unhide`).
    """
    start, step = sim(), settings.POLL_TICK
    pending = sorted(planned, key=lambda p: p["launch_at"])
    running = ResearchJob.objects.exclude(
        status__in=(JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED)
    )
    while pending or any(b.active for b in baselines) or running.exists():
        elapsed = sim() - start
        while pending and pending[0]["launch_at"] <= elapsed:
            p = pending.pop(0)
            sandbox.gateway.script(job_seconds=p["seconds"], results=p["results"])
            query = f"bench job {p['nominal']} s"
            job = jobs.launch(jobs.create_job(user, query, p["results"], again=True), user)
            assert job.clado_id, job.message
            p["job"] = job
            p["finish"] = sandbox.gateway.jobs[job.clado_id].started + p["seconds"]
            for baseline in baselines:
                baseline.active[job.clado_id] = p
        jobs.poll_due_jobs(now=sim.aware())
        if fresh:
            ResearchJob.objects.filter(status=JobStatus.COMPLETED).update(run_started_at=None)
        for baseline in baselines:
            baseline.tick(sim(), pool)
        sim.advance(step)


def unhide():
    """The runs of a fresh-install phase become history (their run started at their launch)."""
    ResearchJob.objects.filter(run_started_at__isnull=True).update(run_started_at=F("launched_at"))


def run(jobs_per_duration, cold, seed, trace=False):
    rng = random.Random(seed)
    sim = SimulatedClock()
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench")
    with (
        Sandbox(port=0, clock=sim) as sandbox,
        clock.use(sim.aware),
        concurrent.futures.ThreadPoolExecutor(4) as pool,
    ):
        # httpx drops idle keep-alive connections; the stdlib server would print each reset.
        sandbox.httpd.handle_error = lambda request, address: None
        settings.CLADO_MPP_URL = sandbox.url
        settings.TEMPO_RPC_URL = sandbox.rpc_url
        settings.SANDBOX_MODE = True
        settings.BUDGET_TEAM_DAILY = settings.BUDGET_USER_MONTHLY = settings.BUDGET_JOB = 10**15
        settings.LAUNCH_RATE_LIMIT = None  # one "person" launches every job of the benchmark
        sandbox.chain.fund(wallet.payer_address(), 10**15)

        traces = defaultdict(list)
        if trace:
            original = poller._apply_status

            def traced(job, page, now):
                traces[job.pk].append(now.timestamp() - job.launched_at.timestamp())
                return original(job, page, now)

            poller._apply_status = traced
        phases = []
        for name, count in (("cold", cold), ("warm", jobs_per_duration)):
            planned = plan(count, rng)
            baselines = [Baseline(interval) for interval in BASELINES]
            drive(planned, baselines, sim, sandbox, user, pool, fresh=name == "cold")
            unhide()
            phases.append((name, planned, baselines))
        if trace:
            for _, planned, _ in phases:
                for p in planned:
                    polls = " ".join(f"{t:.0f}" for t in traces[p["job"].pk])
                    print(f"{p['seconds']:6.1f} s, {p['results']:4} results: polled at {polls}")
        return phases


LABELS = {"ours": "ours", "10s": "naive, every 10 s", "60s": "fixed, every 60 s"}


def report(title, planned, baselines):
    rows = defaultdict(lambda: defaultdict(list))
    for p in planned:
        job = ResearchJob.objects.get(pk=p["job"].pk)
        assert job.status == JobStatus.COMPLETED and job.leads_stored == p["results"], job
        row = rows[p["nominal"]]
        row["bound"].append(math.ceil(p["results"] / 100))
        row["ours"].append(Charge.objects.filter(job=job, endpoint="deep-research-status").count())
        row["ours_delay"].append(job.finished_at.timestamp() - p["finish"])
        for b in baselines:
            row[f"{b.interval}s"].append(b.calls[job.clado_id])
            row[f"{b.interval}s_delay"].append(b.stored_at[job.clado_id] - p["finish"])

    def mean(values):
        return sum(values) / len(values)

    names = ["ours"] + [f"{b.interval}s" for b in baselines]
    print(title)
    print(f"{'duration':>9} {'jobs':>4} {'bound':>6}  " + "  ".join(f"{LABELS[n]:>26}" for n in names))
    print(f"{'':>9} {'':>4} {'':>6}  " + "  ".join(f"{'calls  median/worst delay':>26}" for _ in names))
    every = defaultdict(list)
    for nominal in DURATIONS:
        row = rows[nominal]
        cells = []
        for name in names:
            delays = row[f"{name}_delay"]
            every[name] += delays
            cells.append(f"{mean(row[name]):6.2f}  {statistics.median(delays):6.1f}s / {max(delays):5.1f}s")
        label = f"{nominal / 60:g} min" if nominal >= 60 else f"{nominal} s"
        print(
            f"{label:>9} {len(row['bound']):>4} {mean(row['bound']):6.2f}  "
            + "  ".join(f"{c:>26}" for c in cells)
        )
    for nominal in DURATIONS:
        row = rows[nominal]
        ours = mean(row["ours"])
        ratios = ", ".join(
            f"{b.interval} s poller / ours = {mean(row[f'{b.interval}s']) / ours:.2f}" for b in baselines
        )
        extra = mean(row["ours"]) - mean(row["bound"])
        worse = sum(o > f for o, f in zip(row["ours"], row["60s"], strict=True))
        print(
            f"{nominal:>4} s jobs: ours spends {extra:.2f} calls/job above the bound; {ratios}; "
            f"jobs where ours paid more than the 60 s poller: {worse}"
        )
    delays = every["ours"]
    print(f"ours, all jobs: median delay {statistics.median(delays):.1f} s, worst {max(delays):.1f} s\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs-per-duration", type=int, default=8, help="warm jobs per duration")
    parser.add_argument("--cold", type=int, default=4, help="fresh-install jobs per duration")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--trace", action="store_true", help="print when ours polled each job")
    args = parser.parse_args()
    phases = run(args.jobs_per_duration, args.cold, args.seed, args.trace)
    print(
        f"Concurrent jobs launched over {LAUNCH_WINDOW // 60} simulated minutes; durations within 15% "
        "of the nominal one.\nPaid status calls per completed job (pages included), and delay from "
        "finish to stored results.\n"
    )
    titles = {
        "cold": "Fresh install (cold start): no past runs to learn from",
        "warm": "With history (warm): the fresh-install runs above to learn from",
    }
    for name, planned, baselines in phases:
        report(titles[name], planned, baselines)


if __name__ == "__main__":
    main()
