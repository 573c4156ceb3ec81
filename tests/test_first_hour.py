"""A newcomer's first hour at the command line: the README's commands work as written, and each
command says what happened on stdout and what to do next on stderr.

The README's examples run for real, through `python3 run.py manage`, against the test's sandbox
and a database of their own, in the order the README gives them.
"""

import argparse
import io
import os
import re
import shlex
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from research import jobs
from research.management.commands import research as research_command
from research.models import Hold, JobStatus, ResearchJob
from research.money import format_usd

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# Long-running or interactive: the README's line is checked through its --help instead.
HELP_ONLY = {"sandbox", "qcluster", "createsuperuser", "runserver"}


def readme_commands():
    """Every `python3 run.py manage …` line of the README's shell blocks, continuations joined,
    comments dropped, in the README's order."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:3] == ["python3", "run.py", "manage"]:
                commands.append(argv[3:])
    return commands


def run_py(*args, env, cwd):
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args], env=env, cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture
def fresh_env(tmp_path, sandbox):
    """A fresh clone's environment after `run.py app`: a migrated database with the demo login,
    the sandbox where SANDBOX_URL says, this interpreter instead of .venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLADO_MPP_URL", "REDIS_URL", "TEMPO_RPC_URL")}
    env.update(
        RUN_PYTHON=sys.executable,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SANDBOX_URL=sandbox.url,
        LAUNCH_RATE_LIMIT="off",
    )
    for args in (["migrate", "--no-input", "-v", "0"], ["demo_user"]):
        done = run_py("manage", *args, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return env


def test_the_readme_names_the_command_line_through_run_py():
    commands = readme_commands()
    assert len(commands) >= 10
    assert [c[:2] for c in commands if c[0] == "research"][0] == ["research", "start"]
    bare = re.findall(r"(?<![/\w])python3? manage\.py", README.read_text())
    assert bare == [], "a bare `python manage.py` needs the virtual environment's Python"


def test_every_readme_command_works_as_written(fresh_env, tmp_path):
    said = {}
    for argv in readme_commands():
        if argv[0] in HELP_ONLY:
            argv = [argv[0], "--help"]
        done = run_py("manage", *argv, env=fresh_env, cwd=tmp_path)
        assert done.returncode == 0, f"{shlex.join(argv)}:\n{done.stderr}"
        assert "Traceback" not in done.stderr, shlex.join(argv)
        said.setdefault(" ".join(argv[:3]), done.stdout)
    assert said["research start VPs of sales in Berlin"].strip() == "1", "the first job is the README's job 1"
    assert "VPs of sales in Berlin" in said["research status 1"]
    assert (tmp_path / "leads.csv").read_text(encoding="utf-8-sig").startswith("Name,"), (
        "-o lands where one is"
    )
    assert (tmp_path / "hubspot.csv").exists()


def test_run_py_help_explains_its_commands_and_exits_zero(tmp_path):
    done = run_py("--help", env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 0
    for word in ("app", "test", "manage", "PORT", "RUN_PYTHON", "TEST_POSTGRES_URL"):
        assert word in done.stdout
    assert run_py("nonsense", env=dict(os.environ), cwd=tmp_path).returncode == 2


def subcommand_parsers():
    parser = research_command.Command().create_parser("manage.py", "research")
    (choices,) = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return choices


def test_every_argument_of_every_research_subcommand_is_explained():
    unexplained = [
        f"{name} {action.dest}"
        for name, sub in subcommand_parsers().items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert unexplained == []
    help_text = subcommand_parsers()["start"].format_help()
    assert "Who to look for" in help_text and "How many results" in help_text


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("research", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_start_without_a_gateway_says_how_to_start_the_sandbox(settings, user):
    with socket.socket() as closed:  # a port nothing listens on: the sandbox was never started
        closed.bind(("127.0.0.1", 0))
        settings.CLADO_MPP_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"
    out, err = cli("start", "VPs of sales in Berlin", "--limit", "20", "--user", user.username)
    job = ResearchJob.objects.get()
    assert out.strip() == str(job.pk)
    assert job.hold == Hold.OUTAGE
    assert "Nothing was paid" in err
    assert "python3 run.py app" in err and "python3 run.py manage sandbox" in err


@pytest.mark.django_db
def test_start_says_a_worker_checks_the_job_or_research_poll_does(user):
    out, err = cli("start", "VPs of sales in Berlin", "--limit", "20", "--user", user.username)
    job = ResearchJob.objects.get()
    assert out.strip() == str(job.pk)
    assert "Launched and charged $0.203." in err
    assert "sandbox" not in err
    assert "worker" in err and "research poll" in err


@pytest.mark.django_db
def test_status_of_a_job_nobody_polls_says_no_worker_runs(user):
    job = jobs.launch(jobs.create_job(user, "VPs of sales in Berlin", 20), user)
    assert job.status == JobStatus.PENDING
    out, err = cli("status", str(job.pk))
    assert "Pending" in out and "worker" not in err, "a check not yet due needs nothing"
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(minutes=5))
    out, err = cli("status", str(job.pk))
    assert "Next poll" in out
    assert "was due 5 min ago: no worker seems to be running" in err
    assert "python3 run.py app" in err and "research poll" in err


@pytest.mark.django_db
def test_poll_says_what_it_did_on_stdout(user):
    job = jobs.launch(jobs.create_job(user, "VPs of sales in Berlin", 20), user)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
    out, err = cli("poll")
    assert "polled 1 job(s)" in out
    assert err == ""


def launch_from_the_form(client, **data):
    key = client.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    form = {"query": "CFOs in Lisbon", "limit": 20, "idempotency_key": key, **data}
    return form, client.post(reverse("research:job_new"), form, follow=True)


def banner(response):
    return [(m.level_tag, m.message) for m in response.context["messages"]]


@pytest.mark.django_db
def test_the_launch_banner_says_what_was_charged_once_and_not_on_a_resubmit(logged_in):
    form, launched = launch_from_the_form(logged_in)
    job = ResearchJob.objects.get()
    charged = job.charges.filter(endpoint="deep-research").get().amount
    assert banner(launched) == [("success", f"Launched and charged {format_usd(charged)}.")]
    assert banner(logged_in.get(job.get_absolute_url())) == [], "a reload says nothing more"
    resent = logged_in.post(reverse("research:job_new"), form, follow=True)
    assert banner(resent) == [("info", "This form was already sent: here is its job. Nothing more was paid.")]


@pytest.mark.django_db
def test_a_launch_that_waits_says_so_and_not_that_it_was_launched(logged_in, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.CLADO_MPP_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"
    _, waiting = launch_from_the_form(logged_in)
    ((level, text),) = banner(waiting)
    assert level == "warning"
    assert text.startswith("Waiting: ") and "Nothing was paid" in text and "Launched" not in text
