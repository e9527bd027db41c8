"""Shared fixtures: users, a team, signed-in clients, storage in a temp dir, and the
simulated gateway as a real HTTP server in its own process. Rows are built with the
functions in tests/factories.py."""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import PASSWORD, make_team, make_user

ROOT = Path(__file__).resolve().parent.parent
__all__ = [
    "PASSWORD",
    "ROOT",
    "free_port",
    "running_simulator",
    "start_simulator",
    "wait_for_http",
]


def pytest_configure(config):
    # PBKDF2 at full strength costs ~0.3 s per user created or signed in; the suite tests
    # sign-in, not the hasher's work factor. Set once here, before any test hashes.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Every test Client builds its own middleware, and WhiteNoise's scans and stats every
    # static file when built (~75 ms, some 150 s of CPU over the suite). Looking a file up
    # when it is asked for serves the same files with the same headers.
    settings.WHITENOISE_AUTOREFRESH = True
    # The embedded profile's file cache, in memory: sessions, throttles and team lists are
    # read and written by almost every test (a file write costs ms each), and each test
    # process gets its own, as each xdist worker needs (a team change in one would cost the
    # other's query-count tests a query). The processes a test starts keep the file cache.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"tests-{worker or 'main'}",
            }
        }
    if worker and os.environ.get("SCALEOUT_RUN") == "1":
        _own_redis_databases(settings, int(worker.removeprefix("gw")))


def _own_redis_databases(settings, n: int) -> None:
    """In the scale-out run each test worker gets its own Redis databases (broker, cache),
    as pytest-django gives each its own PostgreSQL database: the integration tests purge
    the broker. Worker 0 keeps 15/14, worker 1 takes 11/10 (bench i uses 13/12)."""
    for name, number in (("CELERY_BROKER_URL", 15), ("IMAGESTUDIO_CACHE_URL", 14)):
        base = os.environ[name].rsplit("/", 1)[0]
        # The environment too: Celery reads it first, and the workers the tests start.
        os.environ[name] = f"{base}/{number - 4 * n}"
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": os.environ["IMAGESTUDIO_CACHE_URL"]}
    }


def pytest_collection_modifyitems(config, items):
    # A test marked `scaleout` is about that profile (the Procfile, a Redis restart): it runs
    # once, in the scale-out run that sets SCALEOUT_RUN, not again on the embedded profile.
    elsewhere = pytest.mark.skipif(
        os.environ.get("SCALEOUT_RUN") != "1",
        reason="runs in the scale-out run (python -m tests.scaleout)",
    )
    for item in items:
        if "scaleout" in item.keywords:
            item.add_marker(elsewhere)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_simulator(*args: str) -> tuple[subprocess.Popen, str]:
    """Start `python -m imagestudio.simulator` on a free port; return (process, /v1 base)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagestudio.simulator", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    wait_for_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
    return proc, base


@contextlib.contextmanager
def running_simulator(*args: str) -> Iterator[str]:
    """A simulator with these flags for the length of the block; its /v1 base.

    Only for flags the shared `simulator_url` does not have: each start costs ~0.3 s."""
    proc, base = start_simulator(*args)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def simulator_url():
    """A simulated gateway answering at once (zero latency, no random faults)."""
    with running_simulator("--latency", "0") as base:
        yield base


@pytest.fixture
def gateway(settings, simulator_url):
    """This process's gateway client pointed at the session's simulator, retrying at once."""
    from imagestudio.upstream.client import reset_client

    settings.UPSTREAM_BASE_URL = simulator_url
    settings.UPSTREAM_API_KEY = "sk-test"
    settings.UPSTREAM_RETRY_BASE_DELAY = 0
    # The shared client is built from the settings of whoever uses it first.
    reset_client()
    yield simulator_url
    reset_client()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DATA_DIR = tmp_path


@pytest.fixture(autouse=True)
def _no_token_throttle_carry_over():
    # The API's failed-token counts live in the (file) cache, which outlives a test: every
    # test client calls from 127.0.0.1, so one test's wrong tokens must not throttle the next.
    from imagestudio.api.auth import token_throttle
    from imagestudio.web import password_reset

    token_throttle().reset("127.0.0.1")
    # So do the password reset's counts (per client address and per account).
    password_reset.BY_CLIENT.reset("127.0.0.1")
    yield


@pytest.fixture(autouse=True)
def _language_back_to_the_default():
    # LocaleMiddleware activates a request's language in this thread and nothing puts it
    # back: a test that asked in Chinese would leave the next test's messages in Chinese.
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _no_route_cache_leak():
    """The fallback chains are cached per process for a few seconds and route health in
    the shared cache: neither may carry one test's rows into the next."""
    from imagestudio.routing import chains, health

    chains.forget()
    health.forget()
    yield
    chains.forget()
    health.forget()


@pytest.fixture(autouse=True)
def _starter_terms_after_a_flush(request):
    """A transactional test ends by flushing the database, which takes what the data
    migrations seeded (the pre-filter's starter list) with it: a later test in the same
    process, which xdist's file order decides, would find no starter terms. Put back."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in (
        request.fixturenames
    )
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    if transactional or not (marker is not None or "db" in request.fixturenames):
        yield
        return
    request.getfixturevalue("db")
    from imagestudio.prefilter.models import Category, Term

    starter = importlib.import_module("imagestudio.prefilter.migrations.0002_starter_terms")
    if Category.objects.filter(key__in=starter.STARTER).count() < len(starter.STARTER):
        # As the migration wrote them: bulk, so no signal fires (an audit row in English
        # would appear on the next page a test reads in Chinese).
        Category.objects.bulk_create(
            [Category(key=k, name=n, description=d) for k, (n, d, _) in starter.STARTER.items()],
            ignore_conflicts=True,
        )
        ids = dict(Category.objects.filter(key__in=starter.STARTER).values_list("key", "pk"))
        Term.objects.bulk_create(
            [
                Term(category_id=ids[key], term=term)
                for key, (_, _, terms) in starter.STARTER.items()
                for term in terms
            ],
            ignore_conflicts=True,
        )
    yield


@pytest.fixture(autouse=True)
def _no_prefilter_cache_leak():
    from imagestudio.prefilter import matching

    matching.invalidate()
    yield
    matching.invalidate()


@pytest.fixture(autouse=True)
def _no_route_settings_carry_over(request):
    # Staff's route settings are read at most every few seconds per process: a test that
    # switched a model off must not leave it off for the next one after its rollback. A
    # test without the database sees the catalog as the data file has it.
    from imagestudio import catalog
    from imagestudio.spend import routes

    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in ("db", "transactional_db", "live_server")
    )
    routes.forget()
    if not uses_db:
        catalog.use_overrides(dict)
    yield
    catalog.use_overrides(routes.overrides)
    routes.forget()


@pytest.fixture
def owner(db):
    return make_user("owner")


@pytest.fixture
def other_user(db):
    return make_user("other")


@pytest.fixture
def admin_user(db):
    return make_user("boss", superuser=True)


@pytest.fixture
def teammate(db):
    """Shares `team` with the owner (other_user shares nothing)."""
    return make_user("mate")


@pytest.fixture
def team(owner, teammate):
    return make_team("Design", owner, teammate)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def _signed_in(user):
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def other_client(other_user):
    """Its own session: usable next to owner_client in one test."""
    return _signed_in(other_user)


@pytest.fixture
def teammate_client(teammate):
    return _signed_in(teammate)


@pytest.fixture
def missing_lookups(monkeypatch):
    """The template engine's lookups of a name an object lacks (a mark not annotated, an
    index into a tuple), by the object's type: each costs an exception and a dir() of the
    object, on every tile of a page drawn again and again."""
    import django.template.base as engine

    looked_up: list[str] = []

    def recorded(thing: object) -> list[str]:
        looked_up.append(type(thing).__name__)
        return dir(thing)

    monkeypatch.setattr(engine, "dir", recorded, raising=False)
    return looked_up


@pytest.fixture
def worker_threads(monkeypatch):
    """This process as a worker's pool of `size` threads, `busy` of them holding a
    delivery besides the one the test makes (studio.tasks.threads)."""
    from imagestudio.studio import tasks

    def pool(size: int, busy: int) -> None:
        monkeypatch.setattr(tasks.threads, "size", size)
        monkeypatch.setattr(tasks.threads, "busy", busy)

    return pool
