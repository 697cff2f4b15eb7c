"""python -m metarl_fast.cli ...: the same as the metarl-fast command."""
import sys

from . import main

sys.exit(main())
