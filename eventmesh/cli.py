"""``eventmesh serve | validate | test-pattern | simulate``: the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from eventmesh.patterns import cli as pattern_cli
from eventmesh.simulate import cli as simulate_cli

__all__ = ["build_parser", "main"]

DEFAULT_CONFIG = "configs/default.yaml"


def _serve(args: argparse.Namespace) -> int:
    from eventmesh.config import Config, ConfigError, load_config
    from eventmesh.daemon import DEFAULT_HOST, DEFAULT_PORT, serve

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Config()
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"{args.config}: invalid config", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return 2
    host = args.host or config.host or DEFAULT_HOST
    port = args.port if args.port is not None else (config.port if config.port is not None else DEFAULT_PORT)
    clock = args.clock or config.clock or "real"
    try:
        serve(config, host=host, port=port, clock=clock)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"eventmesh: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    from eventmesh.config import ConfigError, load_config
    from eventmesh.simulate.scenario import ScenarioError, check_scenario_file

    status = 0
    for name in args.files:
        try:
            if not check_scenario_file(name):   # a scenario is checked as one, a config as a config
                load_config(name)
        except (ConfigError, ScenarioError) as exc:
            status = 1
            print(f"{name}: invalid")
            for problem in exc.problems:
                print(f"  {problem}")
        else:
            print(f"{name}: ok")
    return status


def _default_config() -> str | None:
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventmesh", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the daemon (all services on one port)")
    serve.add_argument("--config", default=_default_config(), help=f"topology file (default {DEFAULT_CONFIG})")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 4566; 0 picks a free one)")
    serve.add_argument("--clock", choices=["real", "virtual"], default=None,
                       help="real time, or virtual time moved by POST /_eventmesh/clock")
    serve.add_argument("-v", "--verbose", action="store_true", help="log requests and start-up")
    serve.set_defaults(run=_serve)

    validate = commands.add_parser("validate", help="check config and scenario files; each error with its key path")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=_validate)

    for name, module in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


# Subcommands that live beside their capability: module with add_arguments(parser) and run(args).
SUBCOMMANDS = {
    "test-pattern": pattern_cli,
    "simulate": simulate_cli,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
