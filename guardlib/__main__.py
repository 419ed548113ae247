"""``python -m guardlib``: the same as the ``guardlib`` command."""

import sys

from guardlib.cli import main

sys.exit(main())
