"""Commands for themes and detection: themes match|list|retag, detect."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from pipeline.cli.common import Context, compiled_matcher, day_start, migrated_db, parse_day, print_json
from pipeline.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("themes", help="theme definition commands")
    tsub = p.add_subparsers(dest="themes_command", metavar="SUBCOMMAND", required=True)
    m = tsub.add_parser(
        "match",
        help='tag JSON lines {"id","text"} from stdin, write one JSON line each',
        epilog='Example: echo \'{"id":"a","text":"ISIS fighters return home"}\' | pipeline themes match',
    )
    m.set_defaults(func=cmd_themes_match)
    ls = tsub.add_parser(
        "list", help="the configured themes with their version hashes", epilog="Example: pipeline themes list --json"
    )
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_themes_list)
    r = tsub.add_parser(
        "retag",
        help="re-apply changed theme definitions to stored articles",
        epilog="Example: pipeline themes retag --since 2026-01-01",
    )
    r.add_argument("--since", required=True, help="first publication day to retag (ISO 8601)")
    r.add_argument("--all", action="store_true", help="retag even articles tagged with the current versions")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_themes_retag)

    d = sub.add_parser(
        "detect",
        help="compute every window in a period as the service does and store its alerts",
        epilog="Example: pipeline detect --from 2026-01-01 --to 2026-03-31 --dry-run",
    )
    d.add_argument("--from", dest="date_from", help="first day (ISO 8601, included)")
    d.add_argument("--to", dest="date_to", help="last day (ISO 8601, included)")
    d.add_argument("--provisional", action="store_true",
                   help="a look at the open window so far: the detector's state now, nothing stored")
    d.add_argument("--dry-run", action="store_true", help="compute and print, store nothing")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_detect)


def cmd_themes_match(args: argparse.Namespace, ctx: Context) -> int:
    matcher = compiled_matcher(ctx)
    bad = 0
    out = sys.stdout
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError('each line must be an object with a string "text"')
        except ValueError as exc:
            print(f"error: <stdin>:{lineno}: {exc}", file=sys.stderr)
            bad += 1
            continue
        hits = matcher.match(obj["text"], obj.get("title") or "")
        out.write(
            json.dumps(
                {
                    "id": obj.get("id"),
                    "themes": [
                        {
                            "theme": h.theme,
                            "score": round(h.score, 4),
                            "version": h.version,
                            "evidence": [
                                {"start": e.start, "end": e.end, "term": e.term, "snippet": e.snippet}
                                for e in h.evidence
                            ],
                        }
                        for h in hits
                    ],
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    out.flush()
    if bad:
        raise InputError(f"{bad} invalid input line(s)")
    return 0


def cmd_themes_list(args: argparse.Namespace, ctx: Context) -> int:
    matcher = compiled_matcher(ctx)
    rows = [{"id": t.id, "label": t.label, "version": t.version} for t in matcher.themes]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:<28} {r['version'][:12]}  {r['label']}")
    return 0


def cmd_themes_retag(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.service.retag import retag

    since = day_start(parse_day(args.since, what="--since"))
    summary = retag(ctx.config, migrated_db(ctx), compiled_matcher(ctx), since=since, force=args.all)
    if args.json:
        print_json(summary)
    else:
        print(
            f"retagged {summary['articles']} articles ({summary['changed']} changed), "
            f"{summary['windows']} windows marked for recount"
        )
    return 0


def cmd_detect(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.service.detect import detect_period, detect_provisional

    if args.provisional:
        look = detect_provisional(ctx.config, migrated_db(ctx))
        if args.json:
            print_json(look.to_dict())
        else:
            for d in look.latest:
                print(f"{d['window_start'][:16]} {d['theme']:<22} {d['direction']:<4} {d['level']:<6} "
                      f"S={d['s']:.2f}/h={d['h']} observed {d['observed']} expected {d['expected']}")
        return 0
    if not (args.date_from and args.date_to):
        raise InputError("detect needs --from and --to (or --provisional)")

    first = day_start(parse_day(args.date_from, what="--from"))
    last = day_start(parse_day(args.date_to, what="--to")) + timedelta(days=1)
    if last <= first:
        raise InputError("--to must not be before --from")
    result = detect_period(ctx.config, migrated_db(ctx), first=first, end=last, dry_run=args.dry_run)
    if args.json:
        print_json(result.to_dict())
    else:
        print(
            f"computed {result.windows} windows x {result.themes} themes: {len(result.alerts)} alerts"
            f"{' (dry run, nothing stored)' if args.dry_run else ''}"
        )
        for a in result.alerts:
            print(
                f"  {a['window_start']} {a['theme']} {a['direction']}: observed {a['observed']} "
                f"expected {a['expected']:.2f}{' [health: ' + a['health_reason'] + ']' if a.get('health_flag') else ''}"
            )
    return 0
