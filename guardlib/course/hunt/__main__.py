"""``python -m guardlib.course.hunt leaderboard [FOLDER]``: the room's leaderboard, for the
facilitator (FOLDER defaults to ``GUARDLIB_HUNT_BOARD``)."""

from __future__ import annotations

import sys

from guardlib.course.hunt import facilitator_leaderboard


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "leaderboard" or len(args) > 2:
        print("usage: python -m guardlib.course.hunt leaderboard [FOLDER]", file=sys.stderr)
        return 2
    print(facilitator_leaderboard(args[1] if len(args) == 2 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
