/** Locations inside the project, valid both from sources (harness/...) and the build (dist/harness/...). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tropic-harness') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the tropic-harness project root');
    dir = up;
  }
}

export const PROJECT_ROOT = findRoot();
export const DEFAULT_CONFIG_DIR = path.join(PROJECT_ROOT, 'harness', 'model', 'default-config');
export const DEFAULT_MODEL_CONFIG = path.join(DEFAULT_CONFIG_DIR, 'tropic01-model.yml');
export const DEFAULT_PAIRING_KEY = path.join(DEFAULT_CONFIG_DIR, 'sh0-private.pem');
