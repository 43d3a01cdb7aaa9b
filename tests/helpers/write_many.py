"""Write N deterministic articles into an archive, in batches of B (default 1): the crash
test kills this midway."""

import sys
from datetime import UTC, datetime, timedelta

from crawler.items import Article, Shelf
from crawler.store import ArchiveWriter

root, count = sys.argv[1], int(sys.argv[2])
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
shelf = Shelf("金融", "新浪财经", "新浪财经－国內")
body = "<p>　　" + "正文内容，" * 400 + "</p>\n" + '<img src="//n.sinaimg.cn/x.jpg">\n'
with ArchiveWriter(root, batch=batch) as writer:
    writer.remove_stale_temp_files()
    for i in range(count):
        writer.write(
            Article(
                id=str(i),
                url=f"https://finance.sina.com.cn/doc-i{i}.shtml",
                title=f"第{i % (count // 2)}条新闻",  # every title twice: collision names too
                body=body.replace("正文", f"第{i}篇"),
                shelf=shelf,
                date=datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            )
        )
