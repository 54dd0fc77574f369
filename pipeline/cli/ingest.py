"""Commands for setting up and ingesting: config check, db upgrade, poll, import, sources."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli.common import CommandFailed, Context, compiled_matcher, migrated_db, print_json, progress_bar
from pipeline.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("config", help="configuration commands")
    csub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    c = csub.add_parser(
        "check", help="validate the config file", epilog="Example: pipeline --config config.yaml config check"
    )
    c.add_argument("--json", action="store_true", help="print the validated summary as JSON")
    c.set_defaults(func=cmd_config_check)

    p = sub.add_parser("db", help="database commands")
    dsub = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    d = dsub.add_parser(
        "upgrade", help="apply the Alembic migrations (creates the database)", epilog="Example: pipeline db upgrade"
    )
    d.add_argument("--revision", default="head", help="target revision (default: head)")
    d.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("poll", help="poll feeds", epilog="Example: pipeline poll --once --all --json")
    p.add_argument("--once", action="store_true", required=True, help="run one cycle, then exit")
    p.add_argument("--all", action="store_true", help="poll every enabled source, not only the due ones")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--workers", type=int, default=None, help="processes for parsing (default: all cores)")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser(
        "import",
        help="backfill articles from a JSON-lines file",
        epilog='Example: pipeline import old.jsonl   (lines: {"url","title","text","published","source"})',
    )
    p.add_argument("file", help="JSON-lines file, or - for stdin")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--workers", type=int, default=None,
                   help="processes normalizing and tagging a large import (default: all cores)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("sources", help="source commands")
    ssub = p.add_subparsers(dest="sources_command", metavar="SUBCOMMAND", required=True)
    s = ssub.add_parser("list", help="every source with its health", epilog="Example: pipeline sources list --json")
    s.add_argument("--json", action="store_true", help="print a JSON array")
    s.set_defaults(func=cmd_sources_list)


def cmd_config_check(args: argparse.Namespace, ctx: Context) -> int:
    cfg = ctx.config
    from pipeline.config import load_theme_set

    themes = load_theme_set(cfg)
    from sqlalchemy.engine import make_url

    safe_url = make_url(cfg.database.url).render_as_string(hide_password=True)  # never print a password
    info: dict[str, Any] = {
        "ok": True,
        "database": safe_url,
        "sources": len(cfg.sources),
        "themes": [t.id for t in themes.themes],
        "channels": [c.name for c in cfg.alerts.channels],
    }
    if args.json:
        print_json(info)
    else:
        print(
            f"config OK: {info['sources']} sources, {len(info['themes'])} themes, "
            f"{len(info['channels'])} alert channels, database {safe_url}"
        )
    return 0


def cmd_db_upgrade(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.storage.migrate import upgrade

    rev = upgrade(ctx.db, args.revision)
    print(f"database at revision {rev}", file=sys.stderr)
    return 0


def cmd_poll(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.service.poll import freeze_startup_heap, poll_once

    db = migrated_db(ctx)
    freeze_startup_heap()
    with progress_bar(None, "poll") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(1)

        # The themes are compiled only if some feed has something new to tag (the config check at start
        # already read them): an all-unchanged poll skips that work.
        summary = poll_once(ctx.config, db, lambda: compiled_matcher(ctx), all_sources=args.all,
                            workers=args.workers, progress=progress)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(
            f"polled {summary.feeds} feeds in {summary.seconds:.1f}s: {summary.ok} ok "
            f"({summary.not_modified} unchanged), {summary.failed} failed, "
            f"{summary.articles_stored} new articles"
            + (f", {summary.entries_skipped} entries not stored (see sources list)" if summary.entries_skipped else "")
        )
        for err in summary.errors:
            print(f"  {err['source']}: {err['error']}")
    return 0


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    import os

    from pipeline.backfill import import_lines
    from pipeline.service.poll import freeze_startup_heap

    db = migrated_db(ctx)
    matcher = compiled_matcher(ctx)
    workers = max(1, args.workers if args.workers is not None else (os.cpu_count() or 1))
    freeze_startup_heap()  # forked workers then share the start-up heap's pages
    if args.file == "-":
        summary = import_lines(ctx.config, db, matcher, sys.stdin, origin="<stdin>", workers=workers)
    else:
        path = Path(args.file)
        try:
            fh = path.open(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot open: {exc.strerror}") from exc
        with fh, progress_bar(None, "import") as bar:
            summary = import_lines(ctx.config, db, matcher, fh, origin=str(path), progress=bar.update,
                                   workers=workers)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(
            f"imported {summary.lines} lines: {summary.inserted} new, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.clustered} joined a story cluster, "
            f"{len(summary.errors)} invalid"
        )
    for err in summary.errors:
        print(f"invalid line: {err}", file=sys.stderr)
    if summary.errors:
        raise CommandFailed(f"{len(summary.errors)} invalid line(s) skipped; the others were stored", code=2)
    return 0


def cmd_sources_list(args: argparse.Namespace, ctx: Context) -> int:
    from datetime import UTC, datetime

    from pipeline.service.poll import source_specs
    from pipeline.storage.sources import list_sources, source_to_dict, sync_sources

    db = migrated_db(ctx)
    with db.session() as s:
        sync_sources(s, source_specs(ctx.config), datetime.now(UTC))
    with db.session() as s:
        rows = [source_to_dict(r) for r in list_sources(s)]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            err = f"  last error: {r['last_error']}" if r["error_count"] else ""
            print(f"{r['name']:<30} {r['status']:<12} errors={r['error_count']} next={r['next_poll_at']}{err}")
            for line in str(r["last_warning"] or "").splitlines():  # bozo XML, entries that could not be stored
                print(f"  warning: {line}")
    return 0
