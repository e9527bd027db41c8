#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagestudio.settings")
    from django.core.management import execute_from_command_line

    from imagestudio.env import EnvError

    try:
        execute_from_command_line(sys.argv)
    except EnvError as exc:
        # A bad setting in the environment: say which, in one line, not a traceback.
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
