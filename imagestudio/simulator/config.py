"""Command-line flags of the simulator, turned into one frozen config."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from imagestudio.simulator import route_latency, triggers

DEFAULT_PORT = 8765
ROUTE_FAULT_STATUSES = (502, 503, 504)


@dataclass(frozen=True)
class RouteFault:
    """A route failing a share of its calls at one size tier ("*": every tier)."""

    model: str
    tier: str
    share: float
    status: int


def _route_fault(text: str) -> RouteFault:
    parts = text.split(":")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"MODEL:TIER:SHARE:STATUS, not {text!r}")
    model, tier, share, status = parts
    if tier not in ("1k", "2k", "4k", "*"):
        raise argparse.ArgumentTypeError(f"tier is 1k, 2k, 4k or *, not {tier!r}")
    if not status.isdigit() or int(status) not in ROUTE_FAULT_STATUSES:
        raise argparse.ArgumentTypeError(f"status is one of {ROUTE_FAULT_STATUSES}")
    return RouteFault(model, tier, _rate(share), int(status))


DEFAULT_LATENCY = (2.0, 5.0)
DEFAULT_LOG_TOKEN = "sim-system-token"


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    latency_min: float = DEFAULT_LATENCY[0]
    latency_max: float = DEFAULT_LATENCY[1]
    # --route-latency MODEL:SECONDS pairs (simulator.route_latency).
    route_latency: tuple[tuple[str, float], ...] = ()
    fault_4k_500: float = 0.0
    fault_429: float = 0.0
    fault_timeout: float = 0.0
    fault_content_policy: float = 0.0
    fault_soft_refusal: float = 0.0
    # Chance that a call with an input over catalog.INPUT_TARGET_BYTES fails "Unknown error".
    oversize_error_rate: float = 0.5
    timeout_hold: float = 600.0
    b64_prefix: bool = True
    url_ttl: float = 86400.0
    # Chat answers: the image inline as a data URL instead of a link (the docs: "rarely").
    chat_inline_images: bool = False
    # -vip chat answers Images-shaped ({"data": [...]}, no choices), as the older page says.
    chat_vip_images_shape: bool = False
    seed: int | None = None
    # --fail-route MODEL:TIER:SHARE:STATUS, e.g. gpt-image-2-vip:4k:0.5:504.
    fail_routes: tuple[RouteFault, ...] = ()
    # The Log Query API's system token (sent without "Bearer") and its clock's offset.
    log_token: str = DEFAULT_LOG_TOKEN
    log_clock_skew: float = 0.0


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1, not {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"seconds cannot be negative: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m imagestudio.simulator",
        description="Simulated gateway for gpt-image-2-vip / gpt-image-2-all (nothing billed).",
        epilog=triggers.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    latency = parser.add_argument_group("latency (seconds before each answer)")
    latency.add_argument("--latency", type=_seconds, help="fixed latency; overrides min/max")
    latency.add_argument("--latency-min", type=_seconds, default=DEFAULT_LATENCY[0])
    latency.add_argument("--latency-max", type=_seconds, default=DEFAULT_LATENCY[1])
    route_latency.add_argument(latency)
    faults = parser.add_argument_group("random fault rates, 0..1 (default 0)")
    faults.add_argument("--fault-4k-500", type=_rate, default=0.0, help="-vip 4K sizes only")
    faults.add_argument("--fault-429", type=_rate, default=0.0)
    faults.add_argument("--fault-timeout", type=_rate, default=0.0)
    faults.add_argument("--fault-content-policy", type=_rate, default=0.0)
    faults.add_argument("--fault-soft-refusal", type=_rate, default=0.0)
    faults.add_argument(
        "--oversize-error-rate",
        type=_rate,
        default=0.5,
        help="chance that a call with an input over 1.5 MB fails shell_api_error "
        '"Unknown error" (default 0.5)',
    )
    parser.add_argument(
        "--timeout-hold",
        type=_seconds,
        default=600.0,
        help="how long a timeout fault holds the connection before closing it unanswered",
    )
    parser.add_argument(
        "--b64-prefix",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="prefix b64_json with data:image/png;base64, (older docs) or not (newer)",
    )
    parser.add_argument("--url-ttl", type=_seconds, default=86400.0, help="result link life")
    parser.add_argument(
        "--chat-inline-images",
        action="store_true",
        help="chat answers ![image](data:image/png;base64,...) instead of a /files/ link",
    )
    parser.add_argument(
        "--chat-vip-images-shape",
        action="store_true",
        help='-vip chat answers Images-shaped {"data": [{"url": ...}]} (older -vip page) '
        "instead of a chat completion",
    )
    parser.add_argument(
        "--fail-route",
        type=_route_fault,
        action="append",
        default=[],
        metavar="MODEL:TIER:SHARE:STATUS",
        help="fail SHARE (0..1) of MODEL's calls at TIER (1k, 2k, 4k or *) with STATUS "
        "(502/504 after the latency, 503 at once), e.g. gpt-image-2-vip:4k:0.5:504; "
        "repeatable",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault/latency RNG")
    parser.add_argument(
        "--log-token",
        default=DEFAULT_LOG_TOKEN,
        help="the system token GET /api/log/self accepts (sent without Bearer)",
    )
    parser.add_argument(
        "--log-clock-skew",
        type=float,
        default=0.0,
        help="seconds added to every log row's created_at (the gateway's clock is not ours)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> SimConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    low, high = args.latency_min, args.latency_max
    routes = route_latency.table(args.route_latency)
    if args.latency is not None:
        low = high = args.latency
    if low > high:
        parser.error("--latency-min is above --latency-max")
    return SimConfig(
        host=args.host,
        port=args.port,
        latency_min=low,
        latency_max=high,
        route_latency=routes,
        fault_4k_500=args.fault_4k_500,
        fault_429=args.fault_429,
        fault_timeout=args.fault_timeout,
        fault_content_policy=args.fault_content_policy,
        fault_soft_refusal=args.fault_soft_refusal,
        oversize_error_rate=args.oversize_error_rate,
        timeout_hold=args.timeout_hold,
        b64_prefix=args.b64_prefix,
        url_ttl=args.url_ttl,
        chat_inline_images=args.chat_inline_images,
        chat_vip_images_shape=args.chat_vip_images_shape,
        seed=args.seed,
        fail_routes=tuple(args.fail_route),
        log_token=args.log_token,
        log_clock_skew=args.log_clock_skew,
    )
