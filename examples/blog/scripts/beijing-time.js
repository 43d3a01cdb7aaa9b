// Dates on the pages in the readers' zone (_config.yml `reader_timezone`), whichever zone
// the machine running Hexo is in and however Hexo is started (npm run build, npx hexo …).
// Node.js reads TZ again when it changes; Hexo loads this before it reads any post, and the
// date helpers and the permalink's :year/:month/:day format in the process's zone while
// `timezone` is empty. The instants themselves never move (<time datetime> is UTC).
const zone = hexo.config.reader_timezone;
if (zone) process.env.TZ = zone;
