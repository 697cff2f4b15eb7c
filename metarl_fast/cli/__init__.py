"""The `metarl-fast` command line: one module per subcommand (train, eval, plot, demos, bench, info).

    metarl-fast train --algo promp --env HalfCheetahRandDirec ...   meta-training (metarl-fast train --help)
    metarl-fast demos --env E --expert scripted|sac ... --out D.npz   expert demonstrations for GMPS
    metarl-fast eval RUN_DIR [--tasks N] [--steps K]   meta-test (RUN_DIR/evals/..., per task, intervals)
    metarl-fast plot RUN_DIR ... [--out PNG] [--level R]  learning curves, mean ± std across seeds
    metarl-fast diagnose RUN_DIR | --env E [--estimators ...]   meta-gradient estimators' variance and bias
    metarl-fast presets [NAME]                        the presets, or one preset's resolved config
    metarl-fast bench SUITE [--quick] [--json PATH]   benchmarks (same as python -m metarl_fast.bench)
    metarl-fast info                                  build and machine facts

Every subcommand takes ``--plugin MODULE`` (repeatable): the module is imported first, so the
algorithms, task families and samplers it registers can be named (docs/extending.md). A mistake in
the arguments, the settings or the files prints one ``metarl-fast CMD: error: ...`` line and exits
with status 2 (``--traceback``, or METARL_FAST_TRACEBACK=1, shows the traceback instead).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import demos, diagnose, evaluate, info, plot, presets, train
from .errors import error_message, tracebacks_requested

# name → module with HELP, add_arguments(parser), run(args) -> exit status
COMMANDS = {"train": train, "eval": evaluate, "plot": plot, "diagnose": diagnose, "presets": presets, "demos": demos,
            "info": info}


def _import_plugins(argv: list[str]) -> list[str]:
    """Imports the --plugin modules (before the parsers list the registered names); returns argv
    without them."""
    rest, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--plugin" or arg.startswith("--plugin="):
            name = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            if not name:
                print("metarl-fast: error: --plugin needs a module name", file=sys.stderr)
                raise SystemExit(2)
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.append(os.getcwd())  # a module in the current directory (after the installed ones)
            try:
                importlib.import_module(name)
            except ImportError as e:
                print(f"metarl-fast: error: --plugin {name}: {e} (a module importable from the current "
                      "directory or the Python path)", file=sys.stderr)
                raise SystemExit(2) from e
            i += 1 if "=" in arg else 2
            continue
        rest.append(arg)
        i += 1
    return rest


def main(argv: list[str] | None = None) -> int:
    argv = _import_plugins(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(prog="metarl-fast", description="Fast gradient-based meta-RL.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bench", help="run a benchmark suite (metarl-fast bench kernels --help)", add_help=False)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.add_argument("--plugin", metavar="MODULE", action="append",
                       help="import MODULE first (registers algorithms, families, samplers of your own)")
        p.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from metarl_fast.bench.__main__ import main as bench_main

        return bench_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return COMMANDS[args.command].run(args)
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`)
        sys.stdout = open(os.devnull, "w")
        return 0
    except (ValueError, OSError, ImportError, MemoryError) as e:  # the user's arguments, settings, files,
        # optional packages, or a size beyond the machine
        if args.traceback or tracebacks_requested():
            raise
        print(f"metarl-fast {args.command}: error: {error_message(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
