"""The Prometheus metrics, read from the database at scrape time: every web and worker
process sees the same numbers, with no per-process counters to add up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from imagestudio.reconcile import books
from imagestudio.routing import health
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation, Status

# Gateway latency buckets in seconds: the reverse models take 30–200 s.
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 90, 120, 150, 200, 300)
SWEEP_ACTIONS = ("failed", "requeued", "saved")


def sweep_key(action: str) -> str:
    return f"ops:sweep:{action}"


def count_sweep(results: dict[str, int]) -> None:
    """Called by the sweep: its actions add up in the shared cache."""
    for action in SWEEP_ACTIONS:
        if results.get(action):
            cache.add(sweep_key(action), 0, timeout=None)
            cache.incr(sweep_key(action), results[action])


class StudioCollector:
    def collect(self) -> Iterator[Metric]:
        generations = GaugeMetricFamily(
            "imagestudio_generations", "Images by model and status.", labels=["model", "status"]
        )
        by_status = Generation.objects.values("model", "status").annotate(n=Count("id"))
        for g in by_status.order_by():
            generations.add_metric([g["model"], g["status"]], g["n"])
        yield generations

        attempts = CounterMetricFamily(
            "imagestudio_gateway_attempts",
            "Gateway attempts by outcome and whether they were billed.",
            labels=["outcome", "billed"],
        )
        by_outcome = Attempt.objects.values("outcome", "billed").annotate(n=Count("id"))
        for a in by_outcome.order_by():
            attempts.add_metric([a["outcome"], str(a["billed"]).lower()], a["n"])
        yield attempts

        spend = CounterMetricFamily(
            "imagestudio_spend_usd", "Billed spend in US dollars by model.", labels=["model"]
        )
        by_model = Attempt.objects.filter(billed=True).values("model").annotate(t=Sum("amount"))
        for m in by_model.order_by():
            spend.add_metric([m["model"]], float(m["t"] or 0))
        yield spend

        pending = Generation.objects.filter(deleted_at__isnull=True).aggregate(
            running=Count("id", filter=Q(status=Status.RUNNING)),
            queued=Count("id", filter=Q(status=Status.QUEUED)),
            oldest=Min("created_at", filter=Q(status=Status.QUEUED)),
        )
        yield GaugeMetricFamily(
            "imagestudio_calls_in_flight",
            "Images running (at the gateway).",
            value=pending["running"],
        )
        yield GaugeMetricFamily(
            "imagestudio_queue_depth", "Images queued for a worker.", value=pending["queued"]
        )
        oldest = pending["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "imagestudio_oldest_queued_age_seconds", "Age of the oldest queued image.", value=age
        )

        buckets = {
            f"le{b}": Count("id", filter=Q(latency_ms__lte=b * 1000)) for b in LATENCY_BUCKETS
        }
        latency: dict[str, Any] = Attempt.objects.aggregate(
            n=Count("id"), total=Sum("latency_ms"), **buckets
        )
        yield HistogramMetricFamily(
            "imagestudio_gateway_latency_seconds",
            "Gateway attempt latency.",
            buckets=[(str(float(b)), latency[f"le{b}"]) for b in LATENCY_BUCKETS]
            + [("+Inf", latency["n"])],
            sum_value=int(latency["total"] or 0) / 1000,
        )

        # What the gateway's log and the ledger still disagree on (reconcile), by kind.
        open_usd = GaugeMetricFamily(
            "imagestudio_unreconciled_usd",
            "US dollars on which the gateway's log and the ledger disagree, last 31 days.",
            labels=["kind"],
        )
        if books.configured():
            for kind, amount in books.unreconciled_now().items():
                open_usd.add_metric([kind], float(amount))
        yield open_usd
        yield from _route_health()

        sweep = CounterMetricFamily(
            "imagestudio_sweep_actions", "What the sweep did, by action.", labels=["action"]
        )
        for action in SWEEP_ACTIONS:
            sweep.add_metric([action], int(cache.get(sweep_key(action)) or 0))
        yield sweep


def _route_health() -> Iterator[Metric]:
    """Each route's (model × size tier) calls, success ratio and image latency over the
    last hour and day: the same table the studio form and the spend page show."""
    labels = ["model", "tier", "window"]
    calls = GaugeMetricFamily(
        "imagestudio_route_calls", "Route calls in the window.", labels=labels
    )
    ratio = GaugeMetricFamily(
        "imagestudio_route_success_ratio", "Share of route calls that made an image.", labels=labels
    )
    p50 = GaugeMetricFamily(
        "imagestudio_route_latency_p50_seconds", "Median latency of images made.", labels=labels
    )
    p95 = GaugeMetricFamily(
        "imagestudio_route_latency_p95_seconds",
        "95th percentile latency of images made.",
        labels=labels,
    )
    for route in health.table().values():
        for name in health.WINDOWS:
            window = route.window(name)
            if not window.calls:
                continue
            key = [route.model, route.tier, name]
            calls.add_metric(key, window.calls)
            ratio.add_metric(key, window.rate or 0.0)
            if window.p50_s is not None and window.p95_s is not None:
                p50.add_metric(key, window.p50_s)
                p95.add_metric(key, window.p95_s)
    yield from (calls, ratio, p50, p95)


def registry() -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StudioCollector())
    return reg
