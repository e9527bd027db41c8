from django.conf import settings


def studio(request) -> dict:
    return {"simulated_gateway": settings.UPSTREAM_SIMULATED}
