"""Shared fixtures: a real sandbox gateway and chain on a loopback port, a clock the tests move.

Every paid call in the tests is a real MPP payment: pympp's client (in the app) against
pympp's server (in the sandbox) over a socket, settled on the sandbox chain.
"""

import pytest

from research.sandbox import Sandbox, SimulatedClock


@pytest.fixture(scope="session")
def sandbox_clock():
    """Simulated time for the sandbox's job progress: tests advance it instead of sleeping."""
    return SimulatedClock()


@pytest.fixture
def clock(sandbox_clock):
    return sandbox_clock


@pytest.fixture(scope="session")
def sandbox(sandbox_clock):
    with Sandbox(port=0, clock=sandbox_clock, job_seconds=60.0) as sb:
        yield sb


@pytest.fixture(autouse=True)
def gateway_settings(settings, sandbox):
    """Point the app at the test sandbox; keep timeouts short so fault tests stay quick."""
    settings.CLADO_MPP_URL = sandbox.url
    settings.TEMPO_RPC_URL = sandbox.rpc_url
    settings.SANDBOX_MODE = True
    settings.GATEWAY_TIMEOUT = 5.0
    settings.GATEWAY_PAID_TIMEOUT = 3.0
    sandbox.gateway.hang_seconds = 4.0
    yield


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="s3cret-pass")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="s3cret-pass")


@pytest.fixture
def bob(django_user_model):
    """A second salesperson."""
    return django_user_model.objects.create_user("bob", password="s3cret-pass")


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def transfers_by_hash(sandbox):
    return {t.tx_hash.lower(): t for t in sandbox.chain.transfers}
