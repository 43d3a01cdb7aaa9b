"""What the user typed: a thin click layer over the library."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from .config import Config, ConfigError, load_config
from .store import ArchiveError
from .store.lock import ArchiveLock, ArchiveLocked

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


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


def load(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None


def archive_root(archive_dir: Path | None, config_path: Path) -> Path:
    """--archive wins; else the config's `archive` (no feeds.yaml at all: ./archive)."""
    if archive_dir is not None:
        root = archive_dir
    elif not config_path.exists() and config_path == Path("feeds.yaml"):
        root = Path("archive")
    else:
        root = load(config_path).archive
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: archive path exists and is not a folder", EXIT_USAGE)
    return root


def locked(root: Path) -> ArchiveLock:
    lock = ArchiveLock(root)
    try:
        lock.acquire()
    except ArchiveLocked as exc:
        raise UserError(str(exc), EXIT_LOCKED) from None
    return lock


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sina-feed-archiver")
def cli() -> None:
    """Archive Sina Finance's news roll and RSS/Atom/JSON feeds into a Hexo folder."""


@cli.command()
@click.argument("names", nargs=-1)
@config_option
@archive_option
@click.option("--limit", type=click.IntRange(min=1), help="At most N new items per source.")
@click.option("--pages", type=click.IntRange(min=1), help="Roll pages per Sina source (backfill).")
@click.option("--refresh", is_flag=True, help="Refetch archived items; rewrite changed files.")
@click.option("--quiet", is_flag=True, help="Only warnings and the summary.")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting for this run (repeatable).",
)
def crawl(names, config_path, archive_dir, limit, pages, refresh, quiet, overrides) -> None:
    """Crawl all enabled sources, or the NAMES given."""
    from .run import CrawlOptions, run_crawl  # Scrapy loads only for the commands that need it

    config = load(config_path)
    try:
        sources = config.select(names)
    except ConfigError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    settings = parse_overrides(overrides)
    root = archive_dir if archive_dir is not None else config.archive
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: archive path exists and is not a folder", EXIT_USAGE)
    options = CrawlOptions(
        limit=limit,
        pages=pages,
        refresh=refresh,
        progress=not quiet and sys.stderr.isatty(),
        settings=settings,
    )
    root.mkdir(parents=True, exist_ok=True)
    lock = locked(root)
    try:
        report = run_crawl(root, sources, options)
    finally:
        lock.release()
    for line in report.lines():
        click.echo(line)
    sys.exit(EXIT_SOURCE_FAILED if report.failed_sources else EXIT_OK)


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="-s")
        settings[name.strip()] = value
    return settings


@cli.group()
def archive() -> None:
    """Review and check the archive on disk."""


@archive.command()
@config_option
@archive_option
def verify(config_path, archive_dir) -> None:
    """Check every file against FORMAT.md and the provenance index."""
    from .store.verify import verify as verify_archive

    root = archive_root(archive_dir, config_path)
    if not root.is_dir():
        raise UserError(f"{root}: no such archive folder")
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
    """Rebuild the provenance index from the files on disk."""
    from .store.verify import rebuild_provenance

    root = archive_root(archive_dir, config_path)
    if not root.is_dir():
        raise UserError(f"{root}: no such archive folder")
    lock = locked(root)
    try:
        kept, adopted, dropped = rebuild_provenance(root)
    finally:
        lock.release()
    click.echo(f"provenance: {kept} kept, {adopted} adopted from disk, {dropped} dropped")


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure is one line on stderr and an exit code, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="crawler", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"crawler: error: {exc.format_message()}{hint}", err=True)
        code = EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"crawler: error: {exc.format_message()}", err=True)
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("crawler: interrupted", err=True)
        code = 130
    except (ArchiveError, sqlite3.Error, OSError) as exc:
        click.echo(f"crawler: error: {exc}", err=True)
        code = EXIT_SOURCE_FAILED
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
