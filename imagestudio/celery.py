import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagestudio.settings")

app = Celery("imagestudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # Image calls are I/O-bound and slow (30–150 s): one process holds dozens on threads.
    worker_pool="threads",
    task_ignore_result=True,
    # Ack after the task body so a message whose worker died before claiming the job is
    # delivered again; the conditional claim makes that second delivery harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    # A broker restart must not cancel calls at the gateway: they would end worker_lost,
    # billed, for an image that was on its way (tests/test_faults_redis.py).
    worker_cancel_long_running_tasks_on_connection_loss=False,
)
app.autodiscover_tasks()


def _schedule_sweep(sender: Celery, **kwargs: object) -> None:
    # Read once Django's settings are loaded: importing this module (manage.py does)
    # must not evaluate them.
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.SWEEP_SECONDS),
        sender.signature("imagestudio.studio.tasks.sweep"),
        name="sweep-stale-generations",
    )
    # The gateway's log against the ledger (does nothing without a system token).
    sender.add_periodic_task(
        float(settings.RECONCILE_EVERY_SECONDS),
        sender.signature("imagestudio.reconcile.tasks.reconcile_recent"),
        name="reconcile-gateway-log",
    )


app.on_after_configure.connect(_schedule_sweep)
