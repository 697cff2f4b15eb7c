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
    p.add_argument("--markdown", action="store_true", help="the table as Markdown (docs/presets.md holds it)")


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..algos.run import preset
    from ..algos.run.presets import preset_table

    if args.name is None:
        print(preset_table(markdown=args.markdown))
        if not args.markdown:
            print("\nmetarl-fast presets NAME shows one in full; metarl-fast train --preset NAME runs it")
        return 0
    print(yaml.safe_dump(preset(args.name).to_dict(), sort_keys=False), end="")
    return 0
