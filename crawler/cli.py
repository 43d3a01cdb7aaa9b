"""What the user typed: a thin click layer over the library."""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from .config import (
    MAX_LIMIT,
    MAX_NAME,
    MAX_PAGES,
    Config,
    ConfigError,
    load_config,
    text_problem,
    url_problem,
)
from .errors import ClusterError, CrawlError
from .items import Shelf
from .store import ArchiveError
from .store.archive import Archive, ArchivePathError, check_path
from .store.export import BODY_FORMS, FORMATS
from .store.lock import ArchiveLocked

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
MAX_WAIT = 86_400  # seconds: --wait is at most a day
# As the shipped feeds.yaml (a `type: sina` source is `clean: true` unless it says otherwise).
DEFAULT_SINA_SHELF = Shelf("金融", "新浪财经", "新浪财经－国內", clean=True)


class UserError(click.ClickException):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_SOURCE_FAILED):
        super().__init__(message)
        self.exit_code = code


def config_option(f):
    return click.option(
        "-c",
        "--config",
        "config_path",
        default="feeds.yaml",
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The feeds.yaml to read.",
    )(f)


def archive_option(f):
    return click.option(
        "--archive",
        "archive_dir",
        type=click.Path(path_type=Path),
        help="Archive root (default: the config's 'archive').",
    )(f)


def overrides_option(f):
    return click.option(
        "-s",
        "--set",
        "overrides",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a Scrapy setting for this run (repeatable).",
    )(f)


def redis_option(f):
    return click.option(
        "--redis",
        "redis_url",
        metavar="URL",
        callback=redis_url,
        help="A crawl shared by several machines through this Redis (redis://host:6379/0).",
    )(f)


def wait_option(default: int, help: str):
    return click.option(
        "--wait",
        type=click.FloatRange(min=0, max=MAX_WAIT),
        default=default,
        show_default=True,
        callback=a_number,
        help=help,
    )


def redis_url(ctx, param, value: str | None) -> str | None:
    """A --redis value: a redis://, rediss:// or unix:// URL (exit 2 before connecting)."""
    if value is None:  # no Redis: the client library is never imported (0.1 s of a crawl)
        return value
    from .cluster import redis_url_problem

    if problem := redis_url_problem(value):
        raise click.BadParameter(problem)
    return value


def a_number(ctx, param, value: float | None) -> float | None:
    """FloatRange lets NaN through (no comparison is true of it): a wait without end."""
    if value is not None and value != value:
        raise click.BadParameter(f"{value!r} is not a number")
    return value


def text(ctx, param, value):
    """An argument that must be text (a lone surrogate, from bytes that are not UTF-8 in
    the command line, cannot be searched for nor looked up): exit 2, not a crash."""
    for each in value if isinstance(value, tuple) else (value,):
        if each is not None and any(0xD800 <= ord(c) <= 0xDFFF for c in each):
            raise click.BadParameter(f"{each!r} is not text (bytes that are not UTF-8?)")
    return value


def a_name(ctx, param, value: str | None) -> str | None:
    """A --category, --site or --name: a folder, held to feeds.yaml's rule for names."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("must not be empty")
    if problem := text_problem(value, MAX_NAME):
        raise click.BadParameter(problem)
    return value


def load(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        hint = (
            " (run where it is, or give it with -c FEEDS)"
            if not os.path.exists(config_path)
            else ""
        )
        raise UserError(f"{exc}{hint}", EXIT_USAGE) from None


def archive_root(archive_dir: Path | None, config: Config | None) -> Path:
    """--archive wins; else the config's `archive` (no feeds.yaml at all: ./archive)."""
    if archive_dir is not None:
        return archive_dir
    return config.archive if config is not None else Path("archive")


def optional_config(config_path: Path) -> Config | None:
    """The config given, or the default one if there is one: a review or a one-off fetch
    needs none."""
    if config_path == Path("feeds.yaml") and not config_path.exists():
        return None
    return load(config_path)


class Commands(click.Group):
    """The archive's refusals as the user's one-line errors, with their exit codes."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ArchivePathError as exc:  # a path no archive can have
            raise UserError(str(exc), EXIT_USAGE) from None
        except ArchiveLocked as exc:
            raise UserError(str(exc), EXIT_LOCKED) from None
        except ArchiveError as exc:
            raise UserError(str(exc)) from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sina-feed-archiver")
def cli() -> None:
    """Archive Sina Finance's news roll and RSS/Atom/JSON feeds into a Hexo folder."""


@cli.command()
@click.argument("names", nargs=-1)
@config_option
@archive_option
@click.option(
    "--limit", type=click.IntRange(min=1, max=MAX_LIMIT), help="At most N new items per source."
)
@click.option(
    "--pages",
    type=click.IntRange(min=1, max=MAX_PAGES),
    help="Roll pages per Sina source (backfill).",
)
@click.option("--refresh", is_flag=True, help="Refetch archived items; rewrite changed files.")
@click.option("--quiet", is_flag=True, help="Only warnings and the summary.")
@overrides_option
@redis_option
@wait_option(60, "With --redis: seconds to wait for the writer to open a run.")
def crawl(
    names, config_path, archive_dir, limit, pages, refresh, quiet, overrides, redis_url, wait
) -> None:
    """Crawl all enabled sources, or the NAMES given.

    With --redis URL this is one worker of a crawl shared by several machines: it takes
    requests from the shared queue and sends items to the writer (`crawler write`)."""
    from .run import CrawlOptions, run_crawl  # Scrapy loads only for the commands that need it

    config = load(config_path)
    try:
        sources = config.select(names)
    except ConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    settings = parse_overrides(overrides)
    root = archive_root(archive_dir, config)
    options = CrawlOptions(
        limit=limit,
        pages=pages,
        refresh=refresh,
        progress=not quiet and sys.stderr.isatty(),
        settings=settings,
    )
    if redis_url:
        from .cluster import Cluster
        from .worker import run_worker, unsupported

        if problem := unsupported(sources):
            raise UserError(problem, EXIT_USAGE)
        report = run_worker(Cluster(redis_url), sources, options, wait=wait)
        if report.interrupted:
            raise UserError("interrupted: the other workers and the writer go on", 130)
        for run in report.failed_sources:  # a worker prints no summary: the writer does
            click.echo(f"crawler: {run.name}: source failed: {run.error}", err=True)
        sys.exit(EXIT_SOURCE_FAILED if report.failed_sources else EXIT_OK)
    with Archive.write(root) as opened:
        report = run_crawl(opened, sources, options)
    finish(report)


@cli.command()
@click.argument("names", nargs=-1)
@config_option
@archive_option
@click.option(
    "--days",
    type=click.IntRange(min=1, max=36_500),
    default=30,
    show_default=True,
    help="Articles dated in the last N days.",
)
@click.option(
    "--max",
    "budget",
    type=click.IntRange(min=1, max=MAX_LIMIT),
    default=100,
    show_default=True,
    help="At most N requests in all.",
)
@overrides_option
def recheck(names, config_path, archive_dir, days, budget, overrides) -> None:
    """Ask again for archived articles: unchanged, edited, or taken down.

    Of every enabled source (or the NAMES given), up to --max archived articles dated in the
    last --days days, the longest unchecked first, each asked for once (conditionally, within
    the crawl's politeness): unchanged; edited (a Sina article whose page changed is written
    anew, its earlier version kept); or taken down (404 or 410, a redirect to a home or error
    page, a page that says it is gone), recorded with the time it was seen. A post is never
    removed."""
    from .run import CrawlOptions, run_recheck

    config = load(config_path)
    try:
        sources = config.select(names)
    except ConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    options = CrawlOptions(settings=parse_overrides(overrides))
    with Archive.write(archive_root(archive_dir, config)) as opened:
        report = run_recheck(opened, sources, options, days=days, budget=budget)
    finish(report)


def finish(report) -> None:
    """The summary on stdout, then the exit code the crawl earned."""
    for line in report.lines():
        click.echo(line)
    if report.archive_error:
        raise UserError(report.archive_error)
    if report.interrupted:
        raise UserError("interrupted: what was fetched is archived, the next run goes on", 130)
    if report.incomplete:
        raise UserError(report.incomplete)
    sys.exit(EXIT_SOURCE_FAILED if report.failed_sources else EXIT_OK)


@cli.command()
@config_option
@archive_option
@redis_option
@wait_option(120, "Seconds to wait for workers to come (or for gone ones to come back).")
def write(config_path, archive_dir, redis_url, wait) -> None:
    """Write what the workers of a crawl shared through Redis fetch.

    The writer of a crawl shared by several machines (`crawler crawl --redis`): opens the
    run, writes the items the workers send into the archive, and exits once they are done."""
    from .cluster import Cluster
    from .scaleout import run_writer
    from .worker import unsupported

    if not redis_url:
        raise click.UsageError("--redis URL is required")
    config = load(config_path)
    if problem := unsupported(list(config.sources)):  # what the workers refuse, so does it
        raise UserError(problem, EXIT_USAGE)
    root = archive_root(archive_dir, config)
    check_path(root)  # a bad path is a usage error before Redis is asked
    cluster = Cluster(redis_url)  # and an unreachable Redis makes no archive folder
    with Archive.write(root) as opened:
        report = run_writer(opened, list(config.sources), cluster, wait=wait)
    finish(report)


@cli.command()
@click.argument("names", nargs=-1)
@config_option
@click.option("--archive", "archive_dir", type=click.Path(path_type=Path), help="Unused.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@overrides_option
def check(names, config_path, archive_dir, as_json, overrides) -> None:
    """Check each source live: its list and newest article.

    Every enabled source (or the NAMES given): its list or feed and its newest article,
    fetched and extracted for real; nothing is written. One line per source: the layout
    family, title, date and where it came from, body length, images, author and keywords.
    Exit 0 if all are healthy, 1 if any is degraded (its list or feed unreadable, or its
    newest article without body, date or title)."""
    import json

    from .run import CrawlOptions, run_check

    config = load(config_path)
    try:
        sources = config.select(names)
    except ConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    if not sources:
        raise UserError(f"{config.path}: no enabled source to check", EXIT_USAGE)
    options = CrawlOptions(settings=parse_overrides(overrides))
    healths, interrupted = run_check(sources, options)
    if interrupted:
        raise UserError("interrupted", 130)
    for health in healths:
        click.echo(json.dumps(health.record(), ensure_ascii=False) if as_json else health.line())
    sys.exit(EXIT_OK if all(h.healthy for h in healths) else EXIT_SOURCE_FAILED)


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, object]:
    """`-s NAME=VALUE` and the CRAWLER_* environment, each value checked (exit 2 if bad)."""
    from .run import tuning

    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="-s")
        settings[name.strip()] = value
    try:
        return tuning(settings)
    except ConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@config_option
@archive_option
@click.option("--source", "source_name", help="File everything under this source's names.")
@click.option(
    "--category", callback=a_name, help="CATEGORY for a feed or page (with --site and --name)."
)
@click.option("--site", callback=a_name, help="SITE for a feed or page.")
@click.option("--name", callback=a_name, help="NAME for a feed or page.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the file(s); write nothing.")
@overrides_option
def fetch(
    urls, config_path, archive_dir, source_name, category, site, name, to_stdout, overrides
) -> None:
    """Archive the article, feed or page at each URL once."""
    from .run import CrawlOptions, run_fetch
    from .spiders.fetch import FetchTarget

    for url in urls:
        if problem := url_problem(url):
            raise UserError(f"fetch: {problem}", EXIT_USAGE)
    names = (category, site, name)
    if any(names) and not all(names):
        raise click.UsageError("--category, --site and --name go together")
    config = optional_config(config_path)
    sina_shelf, shelf, zone = DEFAULT_SINA_SHELF, None, ZoneInfo("Asia/Shanghai")
    if config is not None:
        sina = next((s for s in config.sources if s.type == "sina"), None)
        sina_shelf = sina.shelf if sina else sina_shelf
    if source_name:
        if config is None:
            raise UserError(f"--source {source_name}: no feeds.yaml to find it in", EXIT_USAGE)
        try:
            (source,) = config.select([source_name])
        except ConfigError as exc:
            raise UserError(str(exc), EXIT_USAGE) from None
        shelf, zone = source.shelf, source.zone
    elif all(names):
        shelf = Shelf(category=category, site=site, name=name)
    root = archive_root(archive_dir, config)
    targets = [FetchTarget(url, sina_shelf, shelf, zone) for url in urls]
    options = CrawlOptions(settings=parse_overrides(overrides))
    allow_private = bool(source_name) and source.allow_private
    if to_stdout:
        report = run_fetch(
            Archive(root), targets, options, preview=True, allow_private=allow_private
        )
    else:
        with Archive.write(root) as opened:
            report = run_fetch(opened, targets, options, allow_private=allow_private)
    for status, value in report.written:
        if status == "preview":
            sys.stdout.buffer.write(value + b"\n")
        elif status == "unchanged":  # nothing written: said on stderr, stdout lists files
            click.echo(f"unchanged: {shown_path(Path(value))}", err=True)
        else:
            click.echo(shown_path(Path(value)))
    if report.archive_error or report.run.error:
        raise UserError(report.archive_error or report.run.error)
    if report.interrupted:
        raise UserError("interrupted: what was fetched is archived", 130)


def shown_path(path: Path) -> Path:
    """A path relative to the current folder when it lies below it, else absolute."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


@cli.group()
def archive() -> None:
    """Review and check the archive on disk."""


def reading(archive_dir: Path | None, config_path: Path, *, search: bool = False):
    """The archive the review commands read (Archive.read); feeds.yaml is read only to find
    it."""
    if archive_dir is None:
        archive_dir = archive_root(None, optional_config(config_path))
    return Archive.read(archive_dir, search=search)


@archive.command(name="list")
@config_option
@archive_option
@click.option("--source", help="Only this source.")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    metavar="DATE",
    help="Only items dated on or after DATE (YYYY-MM-DD[THH:MM:SS], UTC).",
)
@click.option("--edited", is_flag=True, help="Only items the source edited (with versions).")
@click.option("--taken-down", is_flag=True, help="Only items the source took down.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(config_path, archive_dir, source, since, edited, taken_down, as_json) -> None:
    """Archived items, newest first."""
    from .review import listing_line
    from .store.catalog import list_items

    with reading(archive_dir, config_path) as opened:
        check_source(opened.index, source)
        since_text = since.strftime("%Y-%m-%dT%H:%M:%S") if since else None
        items = list_items(opened.index, source, since_text, edited=edited, taken_down=taken_down)
        echo_lines(listing_line(item, as_json=as_json) for item in items)


def echo_lines(lines, chunk: int = 1000) -> None:
    """Lines written a thousand at a time: click.echo flushes each line, which costs more
    than finding them, and one write of them all holds them all in memory."""
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) == chunk:
            click.echo("\n".join(batch))
            batch.clear()
    if batch:
        click.echo("\n".join(batch))


@archive.command()
@click.argument("path_or_id", callback=text)
@config_option
@archive_option
def show(path_or_id, config_path, archive_dir) -> None:
    """An item's front matter, URL, provenance and text.

    PATH_OR_ID is the post's path (relative to the archive or the current folder) or the
    item's id: a Sina doc id (hqfskcn2160999) or a feed entry's guid, as `list --json` and
    `show` print it."""
    from .review import show as show_item
    from .store.catalog import find_items

    with reading(archive_dir, config_path) as opened:
        records = find_items(opened.index, opened.root, path_or_id)
        index = opened.index
        shown = [
            show_item(
                r,
                opened.root,
                index.versions(r.source, r.item_id),
                index.takedown(r.source, r.item_id),
            )
            for r in records
        ]
    if not records:
        raise UserError(f"{path_or_id}: no such item (give its path or its id)")
    click.echo("\n\n".join(shown))


@archive.command(name="history")
@click.argument("path_or_id", callback=text)
@config_option
@archive_option
@click.option("--diff", is_flag=True, help="Show what changed from each version to the next.")
def history_(path_or_id, config_path, archive_dir, diff) -> None:
    """An item's versions: each time the source changed it, oldest first.

    PATH_OR_ID as for `show`. Each line: when that version was fetched, its sha256, its
    title. With --diff, the text (title and body) from each version to the next as a
    unified diff."""
    from .review import history
    from .store.catalog import find_items

    with reading(archive_dir, config_path) as opened:
        records = find_items(opened.index, opened.root, path_or_id)
        shown = [
            history(r, opened.root, opened.index.versions(r.source, r.item_id), diff=diff)
            for r in records
        ]
    if not records:
        raise UserError(f"{path_or_id}: no such item (give its path or its id)")
    click.echo("\n\n".join(shown))


@archive.command(name="search")
@click.argument("words", nargs=-1, required=True, callback=text)
@config_option
@archive_option
@click.option("--source", help="Only this source.")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_LIMIT), help="Only the first N hits.")
@click.option("--count", "count_only", is_flag=True, help="Print the number of hits only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def search_(words, config_path, archive_dir, source, limit, count_only, as_json) -> None:
    """Items holding every one of WORDS, title hits first.

    Titles and bodies are searched for each word as a substring (Chinese included; ASCII in
    any case); an item must hold them all. No hit: a line on stderr and exit 1, as grep."""
    from .review import listing_line
    from .store.search import search

    words = [word for word in words if word.strip()]
    if not words:
        raise click.UsageError("give at least one word to search for")
    with reading(archive_dir, config_path, search=True) as opened:
        index = opened.index
        check_source(index, source)
        hits = search(index.db, words, source, None if count_only else limit)
        shown = hits[:limit]
        if as_json and shown:  # with the ids `show` takes
            ids = index.ids_at(hit.path for hit in shown)
            shown = [hit._replace(id=ids.get(hit.path, "")) for hit in shown]
    if count_only:
        click.echo(len(hits))
    else:
        echo_lines(listing_line(hit, as_json=as_json) for hit in shown)
    if not hits:
        click.echo(f"no item holds {' and '.join(map(repr, words))}", err=True)
        sys.exit(EXIT_SOURCE_FAILED)


def day_or_time(ctx, param, value: str | None) -> str | None:
    """A --since/--until value: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC), as written."""
    if value is None:
        return None
    for shape in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, shape).strftime(shape)
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r}: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)")


@archive.command()
@config_option
@archive_option
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only these sources.")
@click.option("--since", callback=day_or_time, metavar="DATE", help="Items dated on or after.")
@click.option(
    "--until", callback=day_or_time, metavar="DATE", help="Items dated up to (a day: all)."
)
@click.option("--oldest-first", is_flag=True, help="By date ascending (default: newest first).")
@click.option("--format", "form", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--body", type=click.Choice(BODY_FORMS), default="text", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
)
def export(config_path, archive_dir, sources, since, until, oldest_first, form, body, output):
    """Every item as a record: JSON Lines or CSV.

    Fields: id, source, category, site, name, url, title, date (ISO 8601 UTC), date_guessed,
    author, keywords, path, fetched_at, sha256, images (URL and stored path), status
    (archived; edited when the source changed it; taken down), taken_down_at, versions (the
    earlier ones: fetched_at, sha256, title, oldest first), body (text keeps paragraphs; html
    as archived; markdown).
    Streamed: memory stays flat however big the archive. CSV is RFC 4180 with a header;
    lists are JSON text in it."""
    from .store.export import WRITERS, Selection, records

    with reading(archive_dir, config_path) as opened:
        for source in sources:
            check_source(opened.index, source)
        selection = Selection(sources, since, until, oldest_first)
        rows = records(opened.index, opened.root, selection, body)
        with export_target(output) as out:
            progress, done = sys.stderr.isatty(), 0
            for _ in WRITERS[form](out, rows):
                done += 1
                if progress and done % 1000 == 0:
                    click.echo(f"\r{done} exported", err=True, nl=False)
            if progress:
                click.echo(f"\r{done} exported", err=True)


@contextmanager
def export_target(output: Path | None):
    """stdout, or a file written whole or not at all (a temporary file renamed at the end)."""
    if output is None:
        yield sys.stdout
        return
    from .store.atomic import FILE_MODE

    try:
        out = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, then renamed)
            "w",
            encoding="utf-8",
            newline="",
            dir=output.absolute().parent,
            prefix=f".{output.name}.",
            delete=False,
        )
    except OSError as exc:
        raise UserError(f"-o {output}: cannot be written: {exc.strerror}", EXIT_USAGE) from None
    try:
        with out:
            os.fchmod(out.fileno(), FILE_MODE)  # as open() would make it, not 0600
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(out.name, output)
    except BaseException:
        Path(out.name).unlink(missing_ok=True)
        raise


def check_source(index, source: str | None) -> None:
    """`--source` must name a source the archive holds: exit 2 with the known names."""
    if source is None:
        return
    known = index.sources()
    if source not in known:
        names = ", ".join(sorted(known)) or "none yet"
        raise UserError(f"--source {source}: no such source in the archive (known: {names})", 2)


@archive.command()
@config_option
@archive_option
def stats(config_path, archive_dir) -> None:
    """Items per source and per day, sizes, last crawls, retries."""
    from .review import stats_lines
    from .store.catalog import stats as archive_stats

    with reading(archive_dir, config_path) as opened:
        for line in stats_lines(archive_stats(opened.index, opened.root)):
            click.echo(line)


@archive.command()
@config_option
@archive_option
def verify(config_path, archive_dir) -> None:
    """Check every file against the archive format and the index.

    Each post must be what the crawler writes (front matter, quoting, date, body edits) and
    match its provenance record; stored images must be whole. Exit 1 if any problem."""
    from .store.verify import verify as verify_archive

    with reading(archive_dir, config_path) as opened:
        root = opened.root
        problems = verify_archive(root)
    for problem in problems:
        click.echo(str(problem))
    count = sum(1 for _ in root.rglob("*.md"))
    click.echo(f"{len(problems)} problem(s) in {count} file(s)", err=bool(problems))
    sys.exit(1 if problems else 0)


@archive.command()
@config_option
@archive_option
def reindex(config_path, archive_dir) -> None:
    """Rebuild the index and the text state from the files on disk."""
    from .store.verify import rebuild_provenance

    if archive_dir is None:
        archive_dir = archive_root(None, optional_config(config_path))
    with Archive.write(archive_dir, create=False) as opened:
        kept, adopted, dropped = rebuild_provenance(opened.root)
    click.echo(f"provenance: {kept} kept, {adopted} adopted from disk, {dropped} dropped")


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure is one line on stderr and an exit code, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="crawler", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `crawler`, `crawler archive`
        click.echo(exc.ctx.get_help())
        code = EXIT_OK
    except click.exceptions.UsageError as exc:
        hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"crawler: error: {exc.format_message()}{hint}", err=True)
        code = EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"crawler: error: {exc.format_message()}", err=True)
        code = exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("crawler: interrupted", err=True)
        code = 130
    except (ArchiveError, ClusterError, CrawlError, sqlite3.Error, OSError) as exc:
        click.echo(f"crawler: error: {exc}", err=True)
        code = EXIT_SOURCE_FAILED
    except Exception as exc:  # a fault of ours: still one line, and what to report
        name = type(exc).__name__
        click.echo(f"crawler: error: internal error, please report: {name}: {exc}", err=True)
        code = EXIT_SOURCE_FAILED
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
