"""URL permission rows for list batches and the batch page (see
tests/test_url_permissions.py). `r` is the rows fixture: r["batch"] is the owner's finished
image's batch, charged to the team (the team-mate sees it; the outsider gets 404)."""

from __future__ import annotations

from tests.permissions import LOGIN, Try


def _batch(r: dict) -> dict:
    return {"pk": r["batch"].pk}


ROWS: dict[str, list[Try]] = {
    "batches:detail": [Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_batch)],
    # Nothing pending: the poll answers 286 (stop) at once.
    "batches:poll": [Try("GET", (LOGIN, 286, 286, 404, 286), kwargs=_batch)],
    "batches:download": [Try("GET", (LOGIN, 200, 200, 404, 200), kwargs=_batch)],
    # A team-mate may press them; only their own images would be retried or canceled.
    "batches:retry-failed": [Try("POST", (LOGIN, 302, 302, 404, 302), kwargs=_batch)],
    "batches:cancel-queued": [Try("POST", (LOGIN, 302, 302, 404, 302), kwargs=_batch)],
    # --- the API ---------------------------------------------------------------------------
    "api:batch": [Try("GET", (401, 200, 200, 404, 200), kwargs=_batch)],
    "api:batch-download": [Try("GET", (401, 200, 200, 404, 200), kwargs=_batch)],
}
