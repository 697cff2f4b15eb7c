"""`metarl-fast presets [NAME]`: the paper configurations and quick ones — without NAME a table of
every preset (algorithm, family and what it sets); with NAME the preset's whole resolved config.

    metarl-fast presets
    metarl-fast presets gmps-point
"""
from __future__ import annotations

import argparse

HELP = "list the presets, or show one's resolved config"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="a preset to show in full")


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..algos.run import PRESETS, preset

    if args.name is None:
        width = max(map(len, PRESETS))
        print(f"{'preset':<{width}}  {'algo':<11} {'env':<22} other settings")
        for name, settings in sorted(PRESETS.items()):
            rest = ", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("algo", "env"))
            print(f"{name:<{width}}  {settings['algo']:<11} {settings.get('env', '(default)'):<22} {rest}")
        print("\nmetarl-fast presets NAME shows one in full; metarl-fast train --preset NAME runs it")
        return 0
    print(yaml.safe_dump(preset(args.name).to_dict(), sort_keys=False), end="")
    return 0
