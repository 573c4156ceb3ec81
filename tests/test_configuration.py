"""Start-up and secrets: the app fails loudly on bad settings and never shows the wallet key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECRET = "0x" + "5e" * 32  # a key that must never appear anywhere we can look
# What live mode needs besides the gateway, the chain and the wallet: DEBUG off, a key of its own.
LIVE_DJANGO = {"DEBUG": "0", "SECRET_KEY": "a-production-key-" + "x" * 40}


def run_django(code, **env):
    """Run `code` in a fresh interpreter with Django set up under the given environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLADO_", "TEMPO_", "DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"))
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="dashboard.settings", PYTHONPATH=str(ROOT))
    script = f"import django; django.setup()\n{code}"
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_live_mode_without_a_wallet_key_refuses_to_start_and_says_why():
    result = run_django(
        "", CLADO_MPP_URL="https://gateway.example", TEMPO_RPC_URL="https://rpc.example", **LIVE_DJANGO
    )
    assert result.returncode != 0
    assert "TEMPO_PRIVATE_KEY" in result.stderr


def test_live_mode_without_a_chain_refuses_to_start():
    result = run_django("", CLADO_MPP_URL="https://gateway.example", TEMPO_PRIVATE_KEY=SECRET, **LIVE_DJANGO)
    assert result.returncode != 0 and "TEMPO_RPC_URL" in result.stderr


def test_a_bad_number_in_the_environment_fails_loudly():
    result = run_django("", POLL_MIN_INTERVAL="soon")
    assert result.returncode != 0 and "POLL_MIN_INTERVAL must be an integer" in result.stderr


def test_sandbox_mode_needs_nothing_and_pays_from_a_throwaway_key():
    result = run_django(
        "from django.conf import settings; from research import wallet\n"
        "print(settings.SANDBOX_MODE, settings.CLADO_MPP_URL, wallet.payer_address())"
    )
    assert result.returncode == 0, result.stderr
    sandbox, url, address = result.stdout.split()
    assert sandbox == "True" and url == "http://127.0.0.1:8777" and address.startswith("0x")


def test_the_wallet_key_is_not_a_setting_and_not_in_any_settings_dump(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "\n")
    result = run_django(
        "from django.core.management import call_command; call_command('diffsettings', '--all')\n"
        "from research import wallet; print(wallet.payer_address())",
        CLADO_MPP_URL="https://gateway.example",
        TEMPO_RPC_URL="https://rpc.example",
        TEMPO_PRIVATE_KEY_FILE=str(key_file),
        **LIVE_DJANGO,
    )
    assert result.returncode == 0, result.stderr
    assert SECRET[2:] not in result.stdout + result.stderr
    assert "0x" in result.stdout.splitlines()[-1]  # it did sign-capable setup from the file


def test_pages_and_manage_py_do_not_import_the_slow_chain_libraries():
    result = run_django(
        "import sys\n"
        "from django.test import Client\n"
        "from django.core.management import call_command\n"
        "call_command('check')\n"
        "import dashboard.urls, research.views, research.admin, research.tasks\n"
        "print(sorted(m for m in ('pytempo', 'web3') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.django_db
def test_an_error_page_never_shows_the_wallet_key(rf, settings, monkeypatch):
    from django.views.debug import technical_500_response

    monkeypatch.setenv("TEMPO_PRIVATE_KEY", SECRET)
    request = rf.get("/jobs/", **{"TEMPO_PRIVATE_KEY": SECRET})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    assert b"boom" in response.content
    assert SECRET[2:].encode() not in response.content


# --- Live mode is safe by default ---------------------------------------------------------

LIVE = {
    "CLADO_MPP_URL": "https://gateway.example",
    "TEMPO_RPC_URL": "https://rpc.example",
    "TEMPO_PRIVATE_KEY": SECRET,
}


def test_live_mode_runs_with_debug_off_unless_told_otherwise():
    result = run_django(
        "from django.conf import settings; print(settings.DEBUG, settings.SANDBOX_MODE)",
        SECRET_KEY=LIVE_DJANGO["SECRET_KEY"],
        **LIVE,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_live_mode_refuses_to_start_with_debug_on():
    result = run_django("", DEBUG="1", SECRET_KEY=LIVE_DJANGO["SECRET_KEY"], **LIVE)
    assert result.returncode != 0
    assert "refuses to start with DEBUG on" in result.stderr


@pytest.mark.parametrize("key", [None, "dev-only-insecure-key-set-SECRET_KEY-in-production"])
def test_live_mode_refuses_to_start_without_a_secret_key_of_its_own(key):
    result = run_django("", DEBUG="0", **({"SECRET_KEY": key} if key else {}), **LIVE)
    assert result.returncode != 0
    assert "needs a SECRET_KEY of its own" in result.stderr


def test_sandbox_mode_still_starts_with_debug_on_and_the_development_key():
    result = run_django("from django.conf import settings; print(settings.DEBUG, bool(settings.SECRET_KEY))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


DB_PASSWORD = "db-hunter2-secret"
REDIS_PASSWORD = "redis-hunter2-secret"
CACHE_PASSWORD = "cache-hunter2-secret"


def error_page(request):
    """The debug error page for an error in a view that holds no secret itself."""
    from django.views.debug import technical_500_response

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info())


@pytest.mark.django_db
def test_the_error_page_masks_the_passwords_in_connection_urls(rf, settings):
    database_url = f"postgres://app:{DB_PASSWORD}@db.internal:5432/leads"
    redis_url = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
    settings.REDIS_URL = redis_url
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": redis_url}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://cache:{CACHE_PASSWORD}@cache.internal:6379/1",
        }
    }
    # runserver and most WSGI servers hand the process environment to the request as META.
    page = error_page(rf.get("/jobs/", DATABASE_URL=database_url, REDIS_URL=redis_url)).content.decode()
    assert "boom" in page and "DATABASE_URL" in page and "REDIS_URL" in page
    for secret in (DB_PASSWORD, REDIS_PASSWORD, CACHE_PASSWORD):
        assert secret not in page
    assert "cache.internal" in page, "only the password of a URL is masked, not where it points"


def test_the_settings_filter_masks_the_database_password_and_the_redis_broker():
    from dashboard.debug import SecretsFilter

    masked = SecretsFilter().cleanse_setting(
        "DATABASES", {"default": {"NAME": "leads", "PASSWORD": DB_PASSWORD, "HOST": "db"}}
    )
    assert masked["default"]["PASSWORD"] != DB_PASSWORD and masked["default"]["NAME"] == "leads"
    broker = SecretsFilter().cleanse_setting("Q_CLUSTER", {"redis": f"redis://:{REDIS_PASSWORD}@r/0"})
    assert REDIS_PASSWORD not in str(broker)
