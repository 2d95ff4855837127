"""``python -m loadtests [locust options]`` = ``locust -f loadtests [locust options]``, with one difference:
``--help`` also lists this project's flags (Locust prints ``--help`` before it imports any locustfile, so
``locust -f loadtests --help`` cannot show them)."""

from __future__ import annotations

import sys
from pathlib import Path

from locust.main import main as locust_main  # importing locust applies its gevent monkey-patching

from loadtests import plugin


def main() -> None:
    plugin.install()  # registers the flags before Locust builds its parser
    args = sys.argv[1:]
    if not any(a in ("-f", "--locustfile") or a.startswith("--locustfile=") for a in args):
        args = ["-f", str(Path(__file__).resolve().parent), *args]
    sys.argv = ["locust", *args]
    locust_main()


if __name__ == "__main__":
    main()
