"""Commands for the long-running service: run (everything), serve (the web page alone)."""

from __future__ import annotations

import argparse

from pipeline.cli.common import Context, migrated_db


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="the service: scheduled polling, detection, dispatch, retention, web page",
                       epilog="Example: pipeline --config config.yaml run")
    p.add_argument("--no-web", action="store_true", help="do not serve the review page (extra workers)")
    p.set_defaults(func=cmd_run)
    s = sub.add_parser("serve", help="the web review page alone", epilog="Example: pipeline serve")
    s.set_defaults(func=cmd_serve)


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.service.runner import run_service

    run_service(ctx.config, migrated_db(ctx), web=not args.no_web)
    return 0


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.service.runner import serve_web

    serve_web(ctx.config, migrated_db(ctx))
    return 0
