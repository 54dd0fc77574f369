"""Command-line entry point: ``pipeline [--config PATH] COMMAND ...``.

Commands are registered by one module per domain (``cli/ingest.py``, ``cli/alerts.py``,
...); each module has ``register(subparsers)`` and its handlers take ``(args, ctx)``.
Handlers hold no business logic: they parse, call a stage or storage function, print.
Errors from the project's tree go to stderr with exit code 2 (bad input or config) or 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pipeline import __version__
from pipeline.cli.common import CommandFailed, Context
from pipeline.errors import ConfigError, InputError, PipelineError

log = logging.getLogger("pipeline")


def build_parser() -> argparse.ArgumentParser:
    from pipeline.cli import alerts, ingest, service, signals

    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="News threat-trend monitor: poll feeds, tag themes, detect shifts, raise and deliver alerts.",
        epilog="Example: pipeline --config config.yaml poll --once --all",
    )
    parser.add_argument("--config", help="config file (default: $PIPELINE_CONFIG or ./config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    parser.add_argument("--version", action="version", version=f"pipeline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (ingest, signals, alerts, service):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # One line per HTTP request is noise with hundreds of feeds; failures are recorded per source.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx = Context(config_arg=args.config)
    try:
        result = args.func(args, ctx)
        return int(result or 0)
    except (ConfigError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()
