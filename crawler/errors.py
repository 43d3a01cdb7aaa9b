"""Errors that reach the command line as one line (see cli.main)."""


class CrawlError(Exception):
    """Scrapy could not run the crawl at all (a setting or component is broken)."""


class ClusterError(Exception):
    """Redis cannot be used, or a scaled-out run cannot go on."""
