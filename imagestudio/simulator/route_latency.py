"""`--route-latency MODEL:SECONDS`: one route answering at its own pace, as the gateway's
routes do (-vip 90–150 s, gpt-image-2.6-all 10–46 s): a fixed latency for MODEL's calls in
place of --latency / --latency-min..max. Repeatable, one flag per model. A prompt's
[sim:latency=...] still wins."""

from __future__ import annotations

import argparse


def parse(text: str) -> tuple[str, float]:
    model, sep, seconds = text.rpartition(":")
    try:
        value = float(seconds)
    except ValueError:
        value = -1.0
    if not sep or not model or value < 0:
        raise argparse.ArgumentTypeError(f"MODEL:SECONDS, not {text!r}")
    return model, value


def add_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--route-latency",
        type=parse,
        action="append",
        default=[],
        metavar="MODEL:SECONDS",
        help="MODEL's calls take SECONDS (instead of --latency), e.g. gpt-image-2.6-all:1.5; "
        "repeatable",
    )


def table(values: list[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """The flags as the frozen config keeps them (the last flag for a model wins)."""
    return tuple(dict(values).items())


def of(config_values: tuple[tuple[str, float], ...], model: str) -> float | None:
    return dict(config_values).get(model)
