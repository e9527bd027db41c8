"""A real OpenID Connect provider for the sign-in tests: tests/oidc/provider.mjs (the npm
package oidc-provider, installed from tests/oidc/package-lock.json by `make test`) on a
loopback port, its people in a JSON file a test rewrites between sign-ins.

Without Node.js (or its packages) the tests that need it skip, saying what is missing;
under CI=true they fail instead."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, wait_for_http

HERE = ROOT / "tests" / "oidc"
CLIENT_ID = "imagestudio"
CLIENT_SECRET = "a client secret for the tests only"


def node_or_skip() -> str:
    node = shutil.which("node")
    problem = ""
    if node is None:
        problem = "Node.js is missing: install it (Debian's nodejs) to run the sign-in tests"
    elif not (HERE / "node_modules" / "oidc-provider").is_dir():
        problem = "tests/oidc has no node_modules: run `npm ci` there (make test does)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    assert node is not None
    return node


@dataclass
class Directory:
    """The provider's people: name -> {password, email, groups}."""

    path: Path
    issuer: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    code_ttl: int = 60

    def save(self) -> None:
        data = {"users": self.users, "code_ttl": self.code_ttl}
        self.path.write_text(json.dumps(data))

    def add(self, name: str, *, groups: list[str], email: str = "") -> str:
        password = f"{name} directory password"
        self.users[name] = {
            "password": password,
            "email": email or f"{name}@company.test",
            "groups": groups,
        }
        self.save()
        return password


@contextlib.contextmanager
def running_provider(
    tmp: Path, redirect_uris: list[str], logout_uris: list[str]
) -> Iterator[Directory]:
    node = node_or_skip()
    port = free_port()
    directory = Directory(path=tmp / "directory.json", issuer=f"http://127.0.0.1:{port}")
    directory.save()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": ",".join(redirect_uris),
        "POST_LOGOUT_URIS": ",".join(logout_uris),
        "USERS_FILE": str(directory.path),
        # Its warnings (development keys, in-memory store) are about a real deployment.
        "NODE_NO_WARNINGS": "1",
    }
    # Its output to a file, not a pipe nobody reads (a full pipe would stop it).
    log = (tmp / "provider.log").open("w")
    proc = subprocess.Popen([node, "provider.mjs"], cwd=HERE, env=env, stdout=log, stderr=log)
    try:
        wait_for_http(f"{directory.issuer}/.well-known/openid-configuration", proc=proc)
        yield directory
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def use_provider(settings: Any, issuer: str, **extra: Any) -> None:
    """Point the studio at the provider (pytest-django's settings fixture)."""
    from imagestudio.accounts import oidc

    settings.OIDC_ISSUER = issuer
    settings.OIDC_NAME = "Test Directory"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_STAFF_GROUP = "studio-admins"
    settings.OIDC_ALLOWED_GROUP = ""
    backend = "imagestudio.accounts.oidc.DirectoryBackend"
    if backend not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, backend]
    for name, value in extra.items():
        setattr(settings, name, value)
    oidc.forget_discovery()
