"""The ``guardlib`` command: get, run, scan, check-env, doctor, emulators.

The parser is here; each subcommand lives in a module of its own (``get``, ``run``, ``scan``,
``check_env``, ``emulators``; ``doctor`` is the course's :mod:`guardlib.course.doctor`) and is
imported only when it runs, so ``guardlib --help`` loads no SDK. The exit codes, the same for
every subcommand, are in :mod:`guardlib.cli.exit_codes`.
No subcommand prints a resolved value, in its output or its errors, except ``get --reveal``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from guardlib.cli.exit_codes import EXIT_CODES, EXIT_USAGE, help_epilog


def _subparser(
    sub: argparse._SubParsersAction, name: str, purpose: str, example: str, codes: str
) -> argparse.ArgumentParser:
    return sub.add_parser(  # type: ignore[no-any-return]
        name,
        help=purpose,
        description=purpose[0].upper() + purpose[1:] + ".",
        epilog=f"example:\n{example}\n\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guardlib",
        description="Handle secrets without leaking them. No command prints a secret's value "
        "unless you ask with `get --reveal`.",
        epilog=f"`guardlib COMMAND --help` explains each command.\n\n{EXIT_CODES}\n"
        "  run: CMD's own exit code, 126/127 when CMD cannot run (see `guardlib run --help`)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    get = _subparser(
        sub,
        "get",
        "show a secret's metadata (name, provider, version, length, type), never its value "
        "unless --reveal",
        "  guardlib get aws-sm://dev-api-key\n"
        "  guardlib get --json gcp-sm://guard-demo/db-creds#password\n"
        "  guardlib get --reveal vault://secret/dev-api-key#value | my-tool --key-stdin",
        help_epilog(0, 2, 65, 66, 69, 70, 77, 130),
    )
    get.add_argument("reference", metavar="REF", help="a secret reference, e.g. aws-sm://NAME")
    shown = get.add_mutually_exclusive_group()
    shown.add_argument(
        "--reveal",
        action="store_true",
        help="print only the value on stdout (no newline added unless stdout is a terminal)",
    )
    shown.add_argument("--json", action="store_true", help="metadata as one JSON object")

    run = _subparser(
        sub,
        "run",
        "run CMD with the mapping's secrets in its environment only (never on disk, never in "
        "this process's environment)",
        "  guardlib run --map secrets.toml --environment prod -- python app.py\n"
        "  GUARDLIB_REF_API_KEY=aws-sm://dev-api-key guardlib run --mask -- ./deploy.sh\n\n"
        "secrets.toml holds one table per environment (dev, test, prod):\n"
        '  [prod]\n  API_KEY = "aws-sm://prod-api-key"\n'
        "GUARDLIB_REF_<NAME> variables add or override entries and are not passed to CMD.\n"
        "Every reference is resolved before CMD starts; if one fails, CMD does not start.\n"
        "SIGINT, SIGTERM and SIGHUP are forwarded to CMD.",
        help_epilog(
            2,
            65,
            66,
            69,
            70,
            77,
            126,
            127,
            130,
            note="CMD's own exit code, or 128+N when a signal N killed it; before CMD starts:",
        ),  # fmt: skip
    )
    run.add_argument("--map", metavar="FILE", type=Path, help="a TOML mapping NAME = REF")
    run.add_argument(
        "--environment",
        "-e",
        metavar="NAME",
        help="any table of the mapping: dev, prod, staging ... (default: $GUARDLIB_ENV, else dev)",
    )
    run.add_argument(
        "--mask",
        action="store_true",
        help="replace every value (and its JSON, repr, URL and base64 spellings) by ********** "
        "in CMD's stdout and stderr",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARG ...]")

    scan = _subparser(
        sub,
        "scan",
        "find hardcoded secrets, .env files git would commit, and credentials in notebooks, "
        "IPython history and git history (detect-secrets and guardlib's own detectors); values "
        "are never printed",
        "  guardlib scan .                              # reads ./.secrets-allowlist if there\n"
        "  guardlib scan . --history                    # and every commit, all branches\n"
        "  guardlib scan ~/.ipython/profile_default/history.sqlite\n"
        "  guardlib scan . --write-baseline .secrets.baseline   # accept what is there now\n"
        "  guardlib scan . --baseline .secrets.baseline         # report only new findings\n\n"
        "Each finding names the file, line and kind, with a SHA-1 fingerprint, never the value.\n"
        "Hidden folders are read (.github, .ipynb_checkpoints), not .git internals or caches;\n"
        "notebooks part by part (sources, outputs, metadata, widget state, papermill\n"
        "parameters); IPython history databases by session and line.\n"
        "A .env file that git tracks or does not ignore is reported, and never written to a\n"
        "baseline: fix it (rotate, git rm --cached, .gitignore). Both baseline files are\n"
        "skipped by the scan (their hashes look like secrets). A file that cannot be parsed\n"
        "or read (a merge-conflicted notebook) is reported as unreadable; the scan goes on.",
        help_epilog(0, 1, 2),
    )
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    scan.add_argument(
        "--allowlist",
        type=Path,
        metavar="FILE",
        help="allowed demo values, one per line (default: ./.secrets-allowlist if present)",
    )
    scan.add_argument(
        "--no-allowlist", action="store_true", help="do not read ./.secrets-allowlist"
    )
    scan.add_argument(
        "--history",
        action="store_true",
        help="also scan every blob in the git history (all refs), reported with its commit",
    )
    scan.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="a detect-secrets baseline: findings recorded in it are not reported",
    )
    scan.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record every value found now in FILE (detect-secrets format, hashes only)",
    )

    check = _subparser(
        sub,
        "check-env",
        "compare the keys of .env with .env.example (names only, never values)",
        "  guardlib check-env\n  guardlib check-env --env config/.env --example .env.example",
        help_epilog(0, 1, 2),
    )
    check.add_argument("--env", type=Path, default=Path(".env"), metavar="FILE",
                       help="the .env file (default: .env)")  # fmt: skip
    check.add_argument("--example", type=Path, default=Path(".env.example"), metavar="FILE",
                       help="the committed template (default: .env.example)")  # fmt: skip

    doctor = _subparser(
        sub,
        "doctor",
        "check that this machine is ready for the course (the check chapter 00 shows)",
        "  guardlib doctor --start",
        help_epilog(0, 1),
    )
    doctor.add_argument("--start", action="store_true", help="also start each emulator once")

    emu = _subparser(
        sub,
        "emulators",
        "run the offline cloud (local Azure, AWS, GCP and OpenBao) for other processes",
        "  guardlib emulators up --only aws --identity dev-app --env-file offline.env",
        help_epilog(0, 2),
    )
    emu_sub = emu.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = emu_sub.add_parser(
        "up",
        help="run the emulators and write their environment",
        description="Run the offline cloud until Ctrl+C and write the environment that points "
        "unmodified SDK code at it. `source offline.env` (sh) exports it to child processes.",
        epilog="examples:\n"
        "  guardlib emulators up --identity dev-app --env-file offline.env\n"
        "  guardlib emulators up --format powershell --env-file offline.ps1\n"
        "  guardlib emulators up --platform ec2 --identity dev-app --env-file offline.env\n"
        "  guardlib emulators up --platform github-actions "
        "--oidc-subject repo:codehive/wallet:ref:refs/heads/main\n"
        "  guardlib emulators up --platform github-actions+configure-aws-credentials "
        "--oidc-subject repo:codehive/wallet:ref:refs/heads/main",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_in = emu_sub.add_parser(
        "run",
        help="run a command inside the offline cloud, then stop it",
        description="Start the offline cloud, run CMD with its environment (as --identity, "
        "admin by default, or as a process on --platform), stop the cloud when CMD ends "
        "and exit with CMD's exit code.",
        epilog="example:\n  guardlib emulators run --identity dev-app -- python app.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for action in (up, run_in):
        action.add_argument("--only", help="comma-separated: azure,gcp,aws,vault (default: all)")
        action.add_argument(
            "--identity",
            help="act as this seeded identity (default: admin); with --platform, the identity "
            "the platform's process runs as (for a CI job or pod: the one it asks to become, "
            "default: the one the seed trusts for its subject)",
        )
        action.add_argument(
            "--platform",
            metavar="NAME",
            help="write exactly what a process on this real platform has: github-actions, "
            "github-actions+configure-aws-credentials, eks-irsa, ec2, lambda, app-service, "
            "azure-vm, gce, cloud-run, laptop ... (`guardlib emulators platforms` lists them)",
        )
        action.add_argument(
            "--seed",
            metavar="FILE|course|none",
            default="course",
            help="the course's dev/prod world with its CI trusts (default), nothing, or a "
            "JSON or TOML seed file",
        )
        action.add_argument(
            "--oidc-subject",
            metavar="SUB",
            help="the OIDC subject of the CI job (github-actions..., the default platform with "
            "this option) or pod (eks-irsa, eks-pod-identity, aks-workload-identity)",
        )
        action.add_argument(
            "--oidc-audience", metavar="AUD", help="with --oidc-subject: the token's audience "
            "(default: the one the platform or action asks for)"
        )  # fmt: skip
    up.add_argument("--env-file", metavar="PATH", help="write the environment here, not stdout")
    up.add_argument(
        "--format",
        choices=("sh", "dotenv", "powershell", "json"),
        default="sh",
        help="sh: export KEY='value' (default; python-dotenv reads it too), dotenv, "
        "powershell: $env:KEY = 'value', json",
    )
    run_in.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARG ...]")
    emu_sub.add_parser("list", help="which emulators can start here")
    emu_sub.add_parser("platforms", help="the platforms --platform reproduces, and why not")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "get":
        from .get import main as get_main

        return get_main(args.reference, reveal=args.reveal, as_json=args.json)
    if args.command == "run":
        from .run import main as run_main

        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("run: give the command after --, e.g. guardlib run -- python app.py")
        return run_main(cmd, mapping_file=args.map, environment=args.environment, mask=args.mask)
    if args.command == "scan":
        from .scan import main as scan_main

        return scan_main(
            args.paths,
            allowlist=args.allowlist,
            baseline=args.baseline,
            write_baseline=args.write_baseline,
            history=args.history,
            no_allowlist=args.no_allowlist,
        )
    if args.command == "check-env":
        from .check_env import main as check_env_main

        return check_env_main(args.env, args.example)
    if args.command == "doctor":
        from guardlib.course.doctor import main as doctor_main

        return doctor_main(start_emulators=args.start)
    if args.command == "emulators":
        from .emulators import main as emulators_main

        return emulators_main(args)
    return EXIT_USAGE  # pragma: no cover - argparse enforces the choices
