"""The first paid call of a fresh process against the next ones, with and without the worker's warm-up.

    .venv/bin/python bench/first_call.py [--calls 6] [--runs 3]

The sandbox runs in its own process (`manage.py sandbox`: in this process it would import pympp's
server, and so web3, before the call we time). One job is launched there first. Then each run is a
fresh interpreter that sets Django up and makes `--calls` paid status calls on that job, timing
each; a "warm" run first calls `research.tasks.warm_worker()`, what a django-q2 worker does when
it spawns (`research.apps`), and times that apart. A throwaway SQLite file holds the ledger.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(mode, job_id, calls):
    """One fresh process: Django set up, optionally warmed, then `calls` paid status calls."""
    started = time.perf_counter()
    import django

    django.setup()
    from research import clado, tasks

    setup = time.perf_counter() - started
    warm = None
    if mode == "warm":
        began = time.perf_counter()
        tasks.warm_worker()
        warm = time.perf_counter() - began
    times, modules = [], []
    for index in range(calls):
        before = len(sys.modules)
        began = time.perf_counter()
        clado.status(job_id, page=1 + index % 3, page_size=100)
        times.append(time.perf_counter() - began)
        modules.append(len(sys.modules) - before)
    print(json.dumps({"setup": setup, "warm": warm, "times": times, "modules": modules}))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the sandbox did not listen on port {port}")


def run_python(env, *args):
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=6, help="paid status calls per process")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per mode")
    parser.add_argument("--child", choices=("cold", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.job, args.calls)

    tmp = tempfile.TemporaryDirectory(prefix="first-call-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLADO_", "TEMPO_", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DATABASE_URL=f"sqlite:///{tmp.name}/bench.sqlite3",
        SANDBOX_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=str(ROOT),
    )
    run_python(env, "manage.py", "migrate", "-v", "0")
    sandbox = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", str(port), "--job-seconds", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        launch = (
            "import django; django.setup()\n"
            "from research import clado\n"
            "print(clado.start('Bench first call [results=300] [seconds=1]', 300).clado_id)"
        )
        job_id = run_python(env, "-c", launch).strip().splitlines()[-1]
        time.sleep(2)  # the sandbox job completes: every status call answers a full page
        results = {"cold": [], "warm": []}
        for _ in range(args.runs):
            for mode in results:
                out = run_python(env, __file__, "--child", mode, "--job", job_id, "--calls", str(args.calls))
                results[mode].append(json.loads(out.strip().splitlines()[-1]))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    report(results, args)


def report(results, args):
    print(f"{args.runs} fresh processes per mode, {args.calls} paid status calls each (sandbox gateway)")
    print(
        f"{'mode':<6} {'django.setup':>12} {'warm-up':>8} {'1st call':>9} {'later (median)':>15}"
        f" {'1st / later':>11} {'modules on 1st':>14}"
    )
    for mode, runs in results.items():
        for run in runs:
            later = statistics.median(run["times"][1:])
            warm = f"{run['warm'] * 1000:6.0f} ms" if run["warm"] is not None else f"{'-':>8}"
            print(
                f"{mode:<6} {run['setup'] * 1000:9.0f} ms {warm} {run['times'][0] * 1000:6.0f} ms"
                f" {later * 1000:12.0f} ms {run['times'][0] / later:10.2f}x {run['modules'][0]:>14}"
            )


if __name__ == "__main__":
    sys.exit(main())
