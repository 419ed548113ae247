"""The ``guardlib`` command: doctor, emulators, scan."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guardlib", description="Handle secrets in Python without leaking them."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="check that this machine is ready for the course")
    doctor.add_argument("--start", action="store_true", help="also start each emulator once")

    emu = sub.add_parser("emulators", help="the offline cloud")
    emu_sub = emu.add_subparsers(dest="action", required=True)
    up = emu_sub.add_parser("up", help="run the emulators and write their environment")
    up.add_argument("--only", help="comma-separated: azure,gcp,aws,vault (default: all)")
    up.add_argument("--identity", help="act as this seeded identity (default: admin)")
    up.add_argument("--env-file", metavar="PATH", help="write the environment here, not stdout")
    up.add_argument("--seed", metavar="FILE", help="a JSON or TOML seed file")
    emu_sub.add_parser("list", help="which emulators can start here")

    scan = sub.add_parser("scan", help="find credentials in files and notebook outputs")
    scan.add_argument("paths", nargs="+", type=Path)
    scan.add_argument("--allowlist", type=Path, help="file of allowed demo values")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":
        from .doctor import main as doctor_main

        return doctor_main(start_emulators=args.start)
    if args.command == "emulators":
        from . import emulators

        if args.action == "list":
            for name, why in emulators.available().items():
                print(f"{name:<6} {'available' if why is None else why}")
            return 0
        from .emulators.seed import SeedError
        from .emulators.up import run

        only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
        try:
            return run(only, args.identity, args.env_file, args.seed)
        except (ValueError, SeedError, emulators.EmulatorUnavailable) as exc:
            print(f"guardlib emulators up: {exc}", file=sys.stderr)
            return 2
    if args.command == "scan":
        from .scan import load_allowlist, scan_paths

        missing = [str(p) for p in args.paths if not p.exists()]
        if missing:
            print(
                f"guardlib scan: no such file or directory: {', '.join(missing)}", file=sys.stderr
            )
            return 2
        allow = load_allowlist(args.allowlist) if args.allowlist else frozenset()
        findings = scan_paths(args.paths, allow=allow)
        for finding in findings:
            print(finding)
        print(f"{len(findings)} potential secret(s) found", file=sys.stderr)
        return 1 if findings else 0
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
