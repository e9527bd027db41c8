"""`python -m bench.child MODULE FUNCTION ARGS.json OUT.json`: Django-side work of a benchmark.

Runs bench.MODULE.child_FUNCTION(**ARGS) in a process whose environment names the
benchmark's data dir, and writes what it returns (JSON) to OUT.json. An exception is
written as {"error": "..."} and the exit code is 1, so the parent can say what failed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    module, function, args_path, out_path = argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagestudio.settings")
    try:
        import django

        django.setup()
        target = getattr(importlib.import_module(f"bench.{module}"), f"child_{function}")
        result = target(**json.loads(Path(args_path).read_text()))
    except Exception as exc:
        traceback.print_exc()
        Path(out_path).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    Path(out_path).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
