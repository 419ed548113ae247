"""``guardlib check-env``: which keys of ``.env.example`` are missing from ``.env``.

Both files are parsed by python-dotenv (:func:`guardlib.dotenv_files.compare_with_example`);
the report names keys only, never a value. Exit 1 when a key is missing (a missing ``.env``
counts as every key missing), 0 otherwise; keys only in ``.env`` are listed but pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

from guardlib.cli.exit_codes import EXIT_FOUND, EXIT_OK, EXIT_USAGE


def main(env: Path, example: Path) -> int:
    from guardlib.dotenv_files import compare_with_example, read_env_file
    from guardlib.errors import DotenvError

    if not example.is_file():
        print(f"guardlib check-env: no such file: {example}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if env.exists():
            result = compare_with_example(env, example)
            missing, extra = result.missing, result.extra
        else:
            # keys only: a line that holds a token alone, with no '=', has no value (None)
            # and its text must not be echoed as a key name
            keys = read_env_file(example, interpolate=False)
            missing, extra = tuple(k for k, v in keys.items() if v is not None), ()
            print(f"guardlib check-env: {env} does not exist: copy {example} to {env} and "
                  "fill in the values", file=sys.stderr)  # fmt: skip
    except DotenvError as exc:  # names the file and line, never a value
        print(f"guardlib check-env: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"missing from {env}: {', '.join(missing) if missing else '(none)'}")
    print(f"not in {example}: {', '.join(extra) if extra else '(none)'}")
    return EXIT_FOUND if missing else EXIT_OK
