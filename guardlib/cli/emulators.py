"""``guardlib emulators up|run|list|platforms``: the offline cloud for other processes."""

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
    if args.action == "platforms":
        return _platforms()
    from guardlib.emulators.oidc import SubjectError
    from guardlib.emulators.platforms import PlatformError, parse
    from guardlib.emulators.seed import SeedError
    from guardlib.emulators.up import Workload, run, run_command

    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    prog = f"guardlib emulators {args.action}"
    workload = None
    platform = args.platform or ("github-actions" if args.oidc_subject is not None else None)
    if platform is not None:
        try:
            parse(platform)  # unknown names: the list, before anything starts
        except PlatformError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        workload = Workload(args.oidc_subject, args.oidc_audience, platform)
    elif args.oidc_audience is not None:
        print(f"{prog}: --oidc-audience needs --oidc-subject", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.action == "run":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            return run_command(cmd, only, args.identity, args.seed, workload=workload)
        return run(
            only, args.identity, args.env_file, args.seed, fmt=args.format, workload=workload
        )
    except (ValueError, SeedError, SubjectError, emulators.EmulatorUnavailable) as exc:
        # PlatformError and SubjectError are ValueErrors; messages never hold a secret value
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _platforms() -> int:
    from guardlib.emulators.platforms import PLATFORMS, RUNNER, STEPS

    rows = [*PLATFORMS.values(), *STEPS.values()]
    for platform in rows:
        name = platform.name if platform.name in PLATFORMS else f"{RUNNER}+{platform.name}"
        clouds = ",".join(platform.clouds) or "-"
        print(f"{name:<44} {clouds:<16} {platform.description}")
        if platform.offline_reason:
            print(f"{'':<44} not offline: {platform.offline_reason}")
    return EXIT_OK
