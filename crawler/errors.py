"""Errors that reach the command line as one line (see cli.main), and that one line."""


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and its message, white space folded."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300].rstrip(": ")


class CrawlError(Exception):
    """Scrapy could not run the crawl at all (a setting or component is broken)."""


class ClusterError(Exception):
    """Redis cannot be used, or a scaled-out run cannot go on."""
