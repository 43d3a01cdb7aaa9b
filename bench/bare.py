"""Bare Scrapy: fetch the given URLs with the crawler's settings and do nothing with them."""

import sys
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings


class Bare(scrapy.Spider):
    name = "bare"

    def __init__(self, url_file: str, **kwargs):
        super().__init__(**kwargs)
        self.urls = Path(url_file).read_text(encoding="utf-8").split()

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True)

    def parse(self, response):
        return None


def main() -> None:
    url_file, *args = sys.argv[1:]
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("ITEM_PIPELINES", {}, priority="project")
    for name, value in (a.split("=", 1) for a in args if a != "-s"):
        settings.set(name, value, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(Bare, url_file=url_file)
    process.start()


if __name__ == "__main__":
    main()
