"""``python -m guardlib.cli``: the same as the ``guardlib`` command."""

import sys

from guardlib.cli import main

sys.exit(main())
