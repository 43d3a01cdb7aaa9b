// A post's own markup styles only its article. Hexo puts the post's HTML into landscape's
// `.article-entry`; paint containment makes that box the containing block of anything the
// body positions (fixed or absolute, which the crawler removes anyway) and clips what the
// body moves, transforms or overflows to the box, so no post can hide, move or cover the
// blog's header, menu, sidebar or the other posts of a list page. A wide table scrolls.
hexo.extend.injector.register(
  'head_end',
  '<style>.article-entry{contain:paint;overflow-x:auto}</style>'
);
