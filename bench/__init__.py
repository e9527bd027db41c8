"""Benchmarks: `make bench` (= `python -m bench`) runs them and writes bench/results/latest.md.

Speed and memory targets live here, never as timed tests. Every benchmark gets a fresh
temporary data dir (its own SQLite database, filesystem broker and media folder) and talks
to the simulated gateway with a fixed latency, using real processes (simulator, Celery
worker, gunicorn) that are stopped, process group and all, however the benchmark ends.

    python -m bench              # all of them: a b c d
    python -m bench a c          # a subset
    python -m bench --quick      # smaller sizes (shorter latency, fewer rows and repeats)

The orchestrating process never imports Django: settings are read from the environment at
import time, and each benchmark needs its own data dir. Work that needs Django runs in a
child process (`python -m bench.child MODULE FUNCTION`) configured for that data dir.
"""
