"""`python -m local_stack up`: the whole registry on 127.0.0.1 until Ctrl-C (see stack.py)."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from local_stack.processes.children import StartError
from local_stack.stack import StackConfig, Stack, export_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the local stack and keep it running until Ctrl-C")
    defaults = StackConfig()
    up.add_argument("--emulator-port", type=int, default=defaults.emulator_port, help="AWS emulator (default 4566)")
    up.add_argument("--api-port", type=int, default=defaults.api_port, help="registry API (default 8000)")
    up.add_argument("--gateway-port", type=int, default=defaults.gateway_port, help="runtime gateway (default 8080)")
    up.add_argument("--console-port", type=int, default=defaults.console_port, help="console (default 8001)")
    up.add_argument("--free-ports", action="store_true", help="pick free ports instead (tests, benches)")
    up.add_argument("--memory-budget", type=int, metavar="MIB",
                    help="memory the models loaded in each backend may take (LRU unloading beyond; default 2048)")
    up.add_argument("--workdir", type=Path, default=defaults.workdir, help="logs and state (default .local/)")
    up.add_argument("--env-file", type=Path, help="where to write the export line (default <workdir>/env)")
    return parser


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM both mean a clean stop, whether starting or running.

    Set explicitly: a shell starting us in the background (`&`) ignores SIGINT, and Python
    then installs no KeyboardInterrupt handler of its own.
    """
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _ignore_signals_while_stopping() -> None:
    """A second Ctrl-C must not cut the clean-up short and leave processes behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def up(args: argparse.Namespace) -> int:
    config = StackConfig(emulator_port=args.emulator_port, api_port=args.api_port, gateway_port=args.gateway_port,
                         console_port=args.console_port, memory_budget_mib=args.memory_budget,
                         workdir=args.workdir.resolve(),
                         env_file=args.env_file.resolve() if args.env_file else None)
    if args.free_ports:
        config = config.with_free_ports()
    say = lambda line: print(line, flush=True)  # noqa: E731
    stack = Stack(config, say=say)
    _stop_on_signals()
    try:
        say("Starting the local stack (Ctrl-C stops everything)...")
        stack.start()
        say("\nPoint your shell at it (also written to " + str(stack.env_file) + "):\n")
        say(export_line(stack.env))
        say(f"\nOpen the console (the link logs one browser in, once): {stack.console.login_url}")
        say(f"\nLogs: {config.workdir / 'logs'} and {config.workdir / 'mms'}. Ctrl-C to stop.")
        while True:
            signal.pause()
    except KeyboardInterrupt:
        say("\nStopping the local stack...")
    except StartError as error:
        say(f"error: {error}")
        return 1
    finally:
        _ignore_signals_while_stopping()
        stack.stop()
    say("Stopped: every process the stack started has exited.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
