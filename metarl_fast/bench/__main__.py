"""python -m metarl_fast.bench SUITE [options] — see metarl_fast.bench."""
from __future__ import annotations

import sys

SUITES = ("kernels", "operators", "envs", "e2e", "threads", "ray", "parallel", "metaworld")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUITES:
        usage = (f"usage: python -m metarl_fast.bench {{{','.join(SUITES)}}} [--quick] [--json PATH] [options]\n"
                 "       python -m metarl_fast.bench SUITE --help   for the suite's options")
        if argv and argv[0] in ("-h", "--help"):
            print(usage)
            return 0
        print(usage, file=sys.stderr)
        what = f"unknown suite {argv[0]!r}" if argv else "a suite is required"
        print(f"metarl-fast bench: error: {what}; choose one of {', '.join(SUITES)}", file=sys.stderr)
        return 2
    suite, rest = argv[0], argv[1:]
    if suite == "kernels":
        from .kernels import run
    elif suite == "operators":
        from .operators import run
    elif suite == "envs":
        from .envs import run
    elif suite == "threads":
        from .threads import run
    elif suite == "ray":
        from .ray import run
    elif suite == "parallel":
        from .parallel import run
    elif suite == "metaworld":
        from .metaworld import run
    else:
        from .e2e import run
    run(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
