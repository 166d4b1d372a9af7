"""Operator commands shared by every deployment.

python -m mailroom_common migrate [REVISION]        apply database migrations
python -m mailroom_common create-topics             create/check the Kafka topics
python -m mailroom_common import-catalogue FILE     add and update products (CSV or JSON)
python -m mailroom_common import-catalogue --replace FILE
                                                    make the catalogue equal to FILE:
                                                    deactivate what it does not list
python -m mailroom_common export-routing-corpus FILE
                                                    write the operators' routing
                                                    corrections as a labelled corpus
                                                    (JSONL, bench/data/routing/LABELS.md)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mailroom_common.catalogue_import import CatalogueError, read_catalogue
from mailroom_common.catalogue_sync import refuse_empty, sync_catalogue
from mailroom_common.config import DatabaseSettings, KafkaSettings, SettingsError, load_settings
from mailroom_common.db import migrate
from mailroom_common.db.session import make_engine
from mailroom_common.kafka import make_admin
from mailroom_common.routing_export import ExportError, export_routing_corpus
from mailroom_common.topics import REGISTRY, TopicMismatchError, ensure_topics


async def _create_topics(replication_factor: int) -> None:
    settings = load_settings(KafkaSettings)
    admin = make_admin(settings, "mailroom-topics")
    await admin.start()
    try:
        created = await ensure_topics(
            admin,
            REGISTRY,
            replication_factor=replication_factor,
            name_prefix=settings.topic_prefix,
        )
    finally:
        await admin.close()
    print(f"topics ok: {len(REGISTRY)} checked, {len(created)} created")


async def _import(path: Path, *, replace: bool) -> None:
    rows = read_catalogue(path)
    if replace:
        refuse_empty(rows)  # before connecting: an empty file never touches the database
    engine = make_engine(load_settings(DatabaseSettings))
    try:
        async with engine.begin() as conn:  # one transaction: all of it or nothing
            summary = await sync_catalogue(conn, rows, replace=replace)
    finally:
        await engine.dispose()
    print(summary.line(str(path)))


async def _export_corpus(path: Path) -> None:
    summary = await export_routing_corpus(path, load_settings(DatabaseSettings))
    print(summary.line())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mailroom_common",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="head")
    top = sub.add_parser("create-topics", help="create or check the Kafka topics")
    top.add_argument("--replication-factor", type=int, default=1)
    imp = sub.add_parser("import-catalogue", help="load a CSV or JSON catalogue")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="deactivate the products and variants FILE does not list (never deletes)",
    )
    imp.add_argument("file", type=Path)
    exp = sub.add_parser(
        "export-routing-corpus", help="write the routing corrections as a labelled corpus"
    )
    exp.add_argument("file", type=Path, help="the JSONL file to write (replaced atomically)")
    args = parser.parse_args(argv)
    try:
        if args.command == "migrate":
            migrate.upgrade(args.revision, load_settings(DatabaseSettings).url.get_secret_value())
        elif args.command == "create-topics":
            asyncio.run(_create_topics(args.replication_factor))
        elif args.command == "export-routing-corpus":
            asyncio.run(_export_corpus(args.file))
        else:
            asyncio.run(_import(args.file, replace=args.replace))
    except (SettingsError, CatalogueError, TopicMismatchError, ExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
