// Load a Hexo site the way `hexo generate` does and save Hexo's database (db.json).
const Hexo = require('hexo');

const hexo = new Hexo(process.argv[2], { silent: true });
hexo.init()
  .then(() => hexo.load())
  .then(() => hexo.database.save())
  .then(() => hexo.exit())
  .catch((err) => { console.error(err); process.exit(1); });
