"""GET /healthz (for load balancers and probes, no sign-in) and GET /metrics (Prometheus,
for staff or the bearer token IMAGESTUDIO_METRICS_TOKEN)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from imagestudio.ops import checks, metrics
from imagestudio.web.htmx import HtmxHttpRequest


@login_not_required
@require_GET
@never_cache
def healthz(request: HtmxHttpRequest) -> JsonResponse:
    results = checks.run()
    failing = [name for name, result in results.items() if result != "ok"]
    body: dict[str, object] = {"status": "ok" if not failing else "failing", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


def _may_scrape(request: HtmxHttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    return bool(token) and bool(given) and hmac.compare_digest(given, token)


@login_not_required
@require_GET
@never_cache
def prometheus(request: HtmxHttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        status = 403 if request.user.is_authenticated else 401
        response = HttpResponse(status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)
