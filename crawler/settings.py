"""How to crawl (feeds.yaml says what): polite, bounded, hardened. The environment
(`run.ENVIRONMENT`), then `-s NAME=VALUE`, override."""

from . import __version__

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.spiders"]
USER_AGENT = f"sina-feed-archiver/{__version__} (news archiver; +https://pypi.org/project/scrapy/)"
# The roll API and feeds are machine endpoints polled a few times a day; robots.txt would add
# a request per host to every run.
ROBOTSTXT_OBEY = False

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4  # CRAWLER_CONCURRENCY_PER_DOMAIN
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 10.0  # CRAWLER_MAX_DELAY
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

DOWNLOAD_TIMEOUT = 30.0  # CRAWLER_DOWNLOAD_TIMEOUT
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # also caps decompressed bodies (bombs)
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5

TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 runs an HTTP server in every crawl that executes the Python code it is sent
# (a token in a job file under ~/.local/state/scrapy; a killed crawl leaves the file), and
# imports aiohttp for it: a cron crawl has no use for either.
REMOTE_CONTROL_ENABLED = False
COOKIES_ENABLED = False
DOWNLOAD_HANDLERS = {"file": None, "s3": None, "ftp": None, "data": None}
# HttpProxyMiddleware stays on: http_proxy, https_proxy and no_proxy are honoured.
# After it (750): a request that goes through a proxy has its host checked as written only.
DOWNLOADER_MIDDLEWARES = {
    "crawler.network.PrivateAddressGuard": 760,
    # Next to the downloader: the response as received (`capture: warc`), before Scrapy's
    # decompression (590) and redirects (600).
    "crawler.capture.RawCapture": 990,
}
# A Referer only to the same origin: a feed's URL (and its token) never reaches another host.
REFERRER_POLICY = "same-origin"

# Per source: an article two sources list is archived by each (see spiders/archive.py).
REQUEST_FINGERPRINTER_CLASS = "crawler.spiders.archive.SourceFingerprinter"

ITEM_PIPELINES = {
    "crawler.pipelines.images.ImageKeeper": 200,  # `images: keep` sources only
    "crawler.pipelines.archive.ArchivePipeline": 300,
}
# The archive (pipelines/archive.py, pipelines/images.py); run.py sets the first four.
ARCHIVE_ROOT = None  # the archive folder
ARCHIVE_PREVIEW = False  # `fetch --stdout`: each file rendered, nothing written
ARCHIVE_SESSION = None  # the crawl's open store.session.ArchiveSession (else one is opened)
ARCHIVE_PRIVATE_SOURCES: list[str] = []  # sources that may reach private hosts (their images)
ARCHIVE_BATCH = 64  # articles made durable together: one fsync pass, one index commit
ARCHIVE_MAX_DELAY = 1.0  # seconds an article may wait for its batch
ARCHIVE_IMAGES_MAXSIZE = 8 * 1024 * 1024  # a bigger picture is not kept (tried again next run)

EXTENSIONS = {"crawler.progress.ProgressLine": 600}  # on a terminal only (PROGRESS_LINE)
PROGRESS_LINE = False

LOG_LEVEL = "WARNING"
