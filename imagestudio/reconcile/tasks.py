"""The hourly reconciliation (celery beat): the period since the last complete pull."""

from __future__ import annotations

from celery import shared_task

from imagestudio.reconcile import books


@shared_task(name="imagestudio.reconcile.tasks.reconcile_recent")
def reconcile_recent() -> dict[str, object]:
    """Nothing happens without a system token. A log that cannot be read now (a wrong
    token, down, slow) marks nothing: the next hour's period starts where the last
    complete pull ended, so it is read again then."""
    if not books.configured():
        return {"configured": False}
    start, end = books.recent_period()
    outcome = books.reconcile(start, end)
    run = outcome.pull
    return {
        "configured": True,
        "outcome": run.outcome if run else "",
        "new_rows": run.new_rows if run else 0,
        "decided": outcome.decided,
    }
