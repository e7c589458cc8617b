import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';

const root = path.join(__dirname, '..', '..');
const CLI = path.join(root, 'dist', 'daemon', 'cli', 'main.js');
const asRoot = (sql: string) => spawnSync('mariadb', ['-uroot', '-e', sql], { encoding: 'utf8' });
const skip = spawnSync('mariadb', ['-uroot', '-e', 'SELECT 1'], { encoding: 'utf8' }).status === 0 ? false : 'no MariaDB root access through its socket here';

t.test("the README's MariaDB recipe works as written (over TCP to 127.0.0.1)", { skip }, async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const recipe = /### MariaDB or MySQL\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!recipe) return t.fail('the README has a MariaDB recipe');
  // A name of its own, so the test never touches a real `dialtone` database; the daemon start is left to
  // the walk-through test, and the CLI proves the connection instead.
  const name = `dt_readme_${crypto.randomBytes(4).toString('hex')}`;
  t.teardown(() => void asRoot(`DROP DATABASE IF EXISTS ${name}; DROP USER IF EXISTS '${name}'@'127.0.0.1';`));
  const renamed = recipe
    .replace('CREATE DATABASE dialtone ', `CREATE DATABASE ${name} `)
    .replaceAll("'dialtone'@", `'${name}'@`)
    .replace('ON dialtone.*', `ON ${name}.*`)
    .replace('mysql://dialtone:secret@127.0.0.1:3306/dialtone', `mysql://${name}:secret@127.0.0.1:3306/${name}`);
  t.notMatch(renamed.replace(/^npx dialtone /gm, ''), /\bdialtone\b/, 'every name was made the test\'s own');
  const script = renamed.replace(/^npx dialtone /gm, `node ${CLI} `).replace(/^npm start$/m, `node ${CLI} tenant list`);
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /"migrated": true,\s+"dialect": "mysql"/);
  t.match(r.stdout, /\[\]\s*$/, 'and the CLI reads the database');
});
