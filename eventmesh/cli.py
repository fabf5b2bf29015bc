"""``eventmesh serve | validate | test-pattern | simulate``: the command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventmesh.patterns import cli as pattern_cli
from eventmesh.simulate import cli as simulate_cli

__all__ = ["PORT_ENV", "build_parser", "main"]

DEFAULT_CONFIG = "configs/default.yaml"
# The port when neither --port nor the config gives one (4566 otherwise, the port AWS tools expect).
PORT_ENV = "EVENTMESH_PORT"
MAX_PORT = 65535  # TCP ports are 16 bits

DESCRIPTION = ("A local emulator of SQS, SNS, Kinesis, EventBridge and Lambda on one port and one clock, "
               "real or virtual.")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eventmesh")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        return "unknown"


def _env_port() -> int | None:
    text = os.environ.get(PORT_ENV)
    if not text:
        return None
    if not text.isdigit() or int(text) > MAX_PORT:
        raise SystemExit(f"eventmesh: {PORT_ENV}={text!r} is not a port number 0-{MAX_PORT}")
    return int(text)


def _port(text: str) -> int:
    """``--port``: a TCP port, 0 for any free one (a larger number would wrap around silently)."""
    if not text.isdigit() or int(text) > MAX_PORT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number 0-{MAX_PORT}")
    return int(text)


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    from eventmesh.templates import parse_overrides

    try:
        return parse_overrides(args.parameter_overrides)
    except ValueError as exc:
        raise SystemExit(f"eventmesh: {exc}") from None


def _print_problems(source: str, problems: list[str]) -> None:
    print(f"{source}: invalid", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def _door_options(args: argparse.Namespace, settings: Any) -> Any:
    """The config's server settings with the command line's door options over them."""
    import msgspec

    changes: dict[str, Any] = {}
    for option, name in (("max_connections", "max_connections"), ("request_timeout", "request_timeout_s"),
                         ("idle_timeout", "idle_timeout_s"), ("drain_timeout", "drain_timeout_s")):
        if getattr(args, option) is not None:
            changes[name] = getattr(args, option)
    if args.allow_host:
        changes["allowed_hosts"] = [*settings.allowed_hosts, *args.allow_host]
    if args.cors_origin:
        changes["cors_origins"] = [*settings.cors_origins, *args.cors_origin]
    return msgspec.structs.replace(settings, **changes)


def _serve(args: argparse.Namespace) -> int:
    from eventmesh.config import ConfigError, load_config
    from eventmesh.daemon import DEFAULT_HOST, DEFAULT_PORT, serve
    from eventmesh.drivers.persistence.store import HASH_SEED, DataDirError

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env_port = _env_port()
    config_path = args.config
    if config_path is None and not args.template and Path(DEFAULT_CONFIG).exists():
        config_path = DEFAULT_CONFIG
    try:
        config = load_config(config_path, templates=args.template, parameter_overrides=_overrides(args))
    except ConfigError as exc:
        _print_problems(config_path or ", ".join(args.template), exc.problems)
        return 2
    host = args.host or config.host or DEFAULT_HOST
    port = next(p for p in (args.port, env_port, config.port, DEFAULT_PORT) if p is not None)
    clock = args.clock or config.clock or "real"
    if args.data_dir is not None:
        config.data_dir = args.data_dir
    if config.data_dir and os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        # A data directory is replayed exactly only under the hash seed that wrote it (set
        # iteration order): run again, as this same command, with it fixed.
        os.execve(sys.executable, [sys.executable, "-m", "eventmesh", *sys.argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": HASH_SEED})
    config.server = _door_options(args, config.server)
    if config.server.problems():
        for problem in config.server.problems():
            print(f"eventmesh serve: {problem}", file=sys.stderr)
        return 2
    try:
        workers = _workers(args.workers)
        if workers == 1:
            serve(config, host=host, port=port, clock=clock, verbose=args.verbose)
        elif config.data_dir:
            # Each worker would journal its own inputs, and a restart would have to replay them
            # in one order across processes: not built (docs/durability.md).
            print("eventmesh serve: --data-dir keeps one process's state; run it with --workers 1",
                  file=sys.stderr)
            return 2
        else:   # N processes behind one port (docs/scale-out.md)
            from eventmesh.workers import serve as serve_workers

            serve_workers(config, workers=workers, host=host, port=port, clock=clock, verbose=args.verbose)
    except DataDirError as exc:
        print(f"eventmesh: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        _print_problems(config.source, exc.problems)
        return 2
    except OSError as exc:
        print(f"eventmesh: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _workers(value: str) -> int:
    from eventmesh.workers import resolve_workers

    try:
        return resolve_workers(value)
    except ValueError:
        raise SystemExit(f"eventmesh serve: --workers {value!r}: a number of processes ≥ 1, or auto") from None


def _validate(args: argparse.Namespace) -> int:
    from eventmesh.config import check_config
    from eventmesh.simulate.runner import check_resources
    from eventmesh.simulate.scenario import ScenarioError, check_scenario_file

    overrides = _overrides(args)
    status = 0
    for name in args.files:
        notices: list[str] = []
        try:
            scenario = check_scenario_file(name)   # a scenario is checked as one, a config as a config
            if scenario is not None:
                check_resources(scenario)
                problems: list[str] = []
            else:
                config, problems = check_config(name, templates=args.template, parameter_overrides=overrides)
                notices = config.notices
        except ScenarioError as exc:
            problems = exc.problems
        if problems:
            status = 1
            print(f"{name}: invalid")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"{name}: ok")
            for notice in notices:
                print(f"  {notice}")
    return status


def _add_template_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", action="append", default=[], metavar="FILE",
                        help="a SAM or CloudFormation template whose resources are created too (repeatable)")
    parser.add_argument("--parameter-overrides", nargs="+", metavar="KEY=VALUE",
                        help="values of the templates' Parameters, as sam deploy takes them")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventmesh", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"eventmesh {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    text = "Run the daemon: every service on one port, until SIGTERM or SIGINT."
    serve = commands.add_parser("serve", help="run the daemon (all services on one port)", description=text)
    serve.add_argument("--config", default=None, metavar="FILE",
                       help=f"topology file: a config or a template (default {DEFAULT_CONFIG} when present)")
    _add_template_arguments(serve)
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=None,
                       help=f"port (default ${PORT_ENV}, else the config's, else 4566; 0 picks a free one)")
    serve.add_argument("--clock", choices=["real", "virtual"], default=None,
                       help="real time, or virtual time that moves only when POST /_eventmesh/clock says")
    serve.add_argument("--workers", default="1", metavar="N",
                       help="processes serving the one port, each owning a partition of the resources "
                            "(default 1; auto: one per core; docs/scale-out.md)")
    serve.add_argument("-v", "--verbose", action="store_true",
                       help="log start-up, one line per request (operation, resource, status, latency) "
                            "and every line functions write")
    serve.add_argument("--data-dir", default=None, metavar="DIR",
                       help="keep the state in DIR: acknowledged writes survive a crash or kill -9, and a restart "
                            "resumes where the daemon stood (docs/durability.md; config key data_dir)")
    door = serve.add_argument_group("HTTP door (also under server: in the config; docs/http-door.md)")
    door.add_argument("--allow-host", action="append", default=None, metavar="NAME",
                      help="a Host name to answer beside loopback names and IP addresses (repeatable; *.suffix)")
    door.add_argument("--cors-origin", action="append", default=None, metavar="ORIGIN",
                      help="an origin browser SDKs may call from (repeatable; * for any)")
    door.add_argument("--max-connections", type=int, default=None, help="open connections at once (default 1000)")
    door.add_argument("--request-timeout", type=float, default=None, metavar="S",
                      help="seconds a request may take to arrive (default 30)")
    door.add_argument("--idle-timeout", type=float, default=None, metavar="S",
                      help="seconds a keep-alive connection may sit idle (default 75)")
    door.add_argument("--drain-timeout", type=float, default=None, metavar="S",
                      help="on SIGTERM, seconds running work may take to finish (default 8)")
    serve.set_defaults(run=_serve)

    text = ("Check configs, templates and simulation scenarios as start-up (or a run) does and report every "
            "problem with its key path. "
            "Exit status 0 when all are valid, 1 otherwise.")
    validate = commands.add_parser("validate", help="check configs, templates and scenarios as start-up does",
                                   description=text)
    validate.add_argument("files", nargs="+", metavar="FILE",
                          help="a config, a SAM/CloudFormation template or a scenario")
    _add_template_arguments(validate)
    validate.set_defaults(run=_validate)

    for name, entry in SUBCOMMANDS.items():
        module, help_text, description = entry if isinstance(entry, tuple) else (entry, _summary(entry), None)
        sub = commands.add_parser(name, help=help_text, description=description,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def _summary(module: object) -> str:
    """A module's first docstring sentence, without reST markup, for a subcommand's help line."""
    text = " ".join((getattr(module, "__doc__", None) or "").strip().split("\n\n")[0].split())
    text = text.replace("``", "'").split(". ")[0].rstrip(".")
    return text.split(": ", 1)[1] if text.startswith("'eventmesh ") and ": " in text else text


# Subcommands that live beside their capability (a module with add_arguments(parser) and run(args)),
# with their help line and description (a bare module: the help line is its docstring's first sentence).
SUBCOMMANDS: dict[str, Any] = {
    "test-pattern": (
        pattern_cli,
        "match an event against an EventBridge pattern or SNS filter policy, as AWS does",
        "Answer as 'aws events test-event-pattern' does, explain a non-match, or run a directory of rules\n"
        "over a file of events. Exit status: 0 match, 1 no match, 2 invalid pattern, event or file.\n\n"
        "  eventmesh test-pattern --pattern '{\"source\": [\"shop\"]}' --event @event.json\n"
        "  eventmesh test-pattern --pattern @rule.json --event @event.json --explain\n"
        "  eventmesh test-pattern --rules rules/ --events events.jsonl\n"
        "  eventmesh test-pattern --flavor sns --scope MessageBody --pattern @policy.json --event @body.json",
    ),
    "simulate": simulate_cli,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
