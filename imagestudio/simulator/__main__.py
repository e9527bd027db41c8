"""`python -m imagestudio.simulator --port P`: run the simulated gateway in the foreground."""

from __future__ import annotations

from imagestudio.simulator.config import parse_args
from imagestudio.simulator.server import serve


def main(argv: list[str] | None = None) -> None:
    serve(parse_args(argv))


if __name__ == "__main__":
    main()
