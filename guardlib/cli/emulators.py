"""``guardlib emulators up|run|list``: the offline cloud for other processes."""

from __future__ import annotations

import argparse
import sys

from guardlib.cli.exit_codes import EXIT_OK, EXIT_USAGE


def main(args: argparse.Namespace) -> int:
    from guardlib import emulators

    if args.action == "list":
        for name, why in emulators.available().items():
            print(f"{name:<6} {'available' if why is None else why}")
        return EXIT_OK
    from guardlib.emulators.oidc import SubjectError
    from guardlib.emulators.seed import SeedError
    from guardlib.emulators.up import Workload, run, run_command

    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    workload = None
    if args.oidc_subject is not None:
        workload = Workload(args.oidc_subject, args.oidc_audience, args.oidc_issuer)
    elif args.oidc_audience is not None:
        print(f"guardlib emulators {args.action}: --oidc-audience needs --oidc-subject",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    try:
        if args.action == "run":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            return run_command(cmd, only, args.identity, args.seed, workload=workload)
        return run(
            only, args.identity, args.env_file, args.seed, fmt=args.format, workload=workload
        )
    except (ValueError, SeedError, SubjectError, emulators.EmulatorUnavailable) as exc:
        print(f"guardlib emulators {args.action}: {exc}", file=sys.stderr)
        return EXIT_USAGE
