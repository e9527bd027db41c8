"""The runner: pick benchmarks, run each one in isolation, print and save the table."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    batch,
    compress,
    fairness,
    gallery,
    list_batch,
    pickup,
    pipeline,
    poll,
    reconcile,
    reroute,
    scaleout_load,
    simulator,
    spend,
    uploads,
    zip_board,
)
from bench.harness import ROOT, BenchError, Config, Outcome, Row, install_signal_handlers, stop_all

BENCHMARKS = {
    "a": batch,
    "b": pipeline,
    "c": poll,
    "d": gallery,
    "e": compress,
    "f": spend,
    "g": list_batch,
    "h": zip_board,
    "i": scaleout_load,
    "j": fairness,
    "k": reroute,
    "p": pickup,
    "r": reconcile,
    "s": simulator,
    "u": uploads,
}
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "latest.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="ImageStudio benchmarks. "
        + "; ".join(f"{key}: {module.TITLE}" for key, module in BENCHMARKS.items()),
    )
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="NAME",
        help=f"which to run, any of {' '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data dirs (and their logs)"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {' '.join(BENCHMARKS)}")
    return args


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, CPU seconds of this process and of
    its waited-for children). Every process a benchmark starts is waited for by its end,
    so the difference over a benchmark is what the rest of the machine used."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        # user nice system idle iowait irq softirq steal: busy = all but idle, iowait, steal.
        busy = (sum(fields[:3]) + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        busy = float("nan")
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system


def run_one(key: str, config: Config) -> tuple[Outcome, float, str, str]:
    module = BENCHMARKS[key]
    load_before = _loadavg()
    cpu_before = _cpu_seconds()
    started = time.monotonic()
    print(f"[bench] {key}: {module.TITLE} …", file=sys.stderr, flush=True)
    try:
        outcome = module.run(config)
    except BenchError as exc:
        outcome = Outcome(rows=[Row(f"{key}. {module.TITLE}", f"could not run: {exc}")])
        outcome.rows[0].could_not_run = True
    except Exception as exc:
        traceback.print_exc()
        outcome = Outcome(
            rows=[Row(f"{key}. {module.TITLE}", f"could not run: {type(exc).__name__}: {exc}")]
        )
        outcome.rows[0].could_not_run = True
    finally:
        stop_all()
    elapsed = time.monotonic() - started
    cpu_after = _cpu_seconds()
    busy, mine = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    outcome.notes.insert(
        0,
        f"CPU: the bench and its processes used {mine / elapsed:.2f} cores on average, "
        f"everything else on the machine {max(0.0, busy - mine) / elapsed:.2f} cores "
        f"(of {os.cpu_count()})",
    )
    print(f"[bench] {key}: done in {elapsed:.0f} s", file=sys.stderr, flush=True)
    return outcome, elapsed, load_before, _loadavg()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: dict, config: Config, started: datetime, total: float) -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "?"
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
    lines = [
        "# ImageStudio benchmarks",
        "",
        f"- run: **{'quick' if config.quick else 'full'}** (`python -m bench"
        f"{' --quick' if config.quick else ''} {' '.join(results)}`), started "
        f"{started:%Y-%m-%d %H:%M} UTC, {total:.0f} s in all",
        f"- code: commit {commit}{' + uncommitted changes' if dirty else ''}",
        f"- machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "",
        "| benchmark | measured | aim | ok? |",
        "|---|---|---|---|",
    ]
    for outcome, *_ in results.values():
        for row in outcome.rows:
            lines.append(
                f"| {_cell(row.benchmark)} | {_cell(row.measured)} | {_cell(row.aim)} "
                f"| {row.verdict} |"
            )
    lines += ["", "Aims marked * are the bench's own (the issue gives no number for them).", ""]
    for key, (outcome, elapsed, load_before, load_after) in results.items():
        lines.append(f"## {key}. {BENCHMARKS[key].TITLE}")
        lines.append("")
        lines.append(
            f"- {elapsed:.0f} s; load average (1/5/15 min) {load_before} before, {load_after} after"
        )
        lines += [f"- {note}" for note in outcome.notes]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config(quick=args.quick, keep=args.keep)
    keys = list(dict.fromkeys(args.benchmarks)) or list(BENCHMARKS)
    install_signal_handlers()
    started, clock = datetime.now(UTC), time.monotonic()
    results: dict = {}
    try:
        for key in keys:
            results[key] = run_one(key, config)
    except KeyboardInterrupt:
        print("[bench] interrupted; children stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()
    report = render(results, config, started, time.monotonic() - clock)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n")
    print(report)
    print(f"[bench] written to {args.output}", file=sys.stderr)
    failed = any(row.could_not_run for outcome, *_ in results.values() for row in outcome.rows)
    return 1 if failed else 0
