/**
 * The files `tropic-harness init` writes into a consumer project. Kept as code (not copied files)
 * so they are compiled, type-checked with the rest and need nothing extra in the package.
 */
export interface ConsumerTemplateInput {
  /** npm package name of the consumer project. */
  name: string;
  /** Dependency spec for tropic-harness: a version, a git URL, or `file:` a tarball. */
  harnessSpec: string;
  /** The @playwright/test version tropic-harness is built against (one copy must be installed). */
  playwrightVersion: string;
  /** The documented .env.example (harness/config/env.ts). */
  envExample: string;
}

export function consumerPackageJson(i: ConsumerTemplateInput): string {
  const pkg = {
    name: i.name,
    version: '0.0.0',
    private: true,
    type: 'module',
    scripts: {
      test: 'playwright test',
      report: 'tropic-harness report',
    },
    devDependencies: {
      // The same @playwright/test as tropic-harness's: two copies refuse to run together.
      '@playwright/test': i.playwrightVersion,
      'tropic-harness': i.harnessSpec,
    },
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}

export const PLAYWRIGHT_CONFIG = `/**
 * The tropic-harness run configuration: reporters (list, JUnit, HTML, Allure in reports/), the
 * per-run setup, and the spec project ./specs on TROPIC_TARGET (default: the embedded model) with
 * its target setup and teardown projects (none on the embedded model, which runs in each worker).
 * See defineHarnessConfig's options for more.
 */
import { defineHarnessConfig } from 'tropic-harness/config';

export default defineHarnessConfig({
  specs: { testDir: './specs' },
});
`;

export const EXAMPLE_SPEC = `/**
 * An example spec: edit or replace. On model targets every test starts on a fresh chip; on a rig,
 * a @reversible spec restores what it changes and @irreversible specs are refused unless allowed.
 */
import { test, expect, spec } from 'tropic-harness/fixtures';

test('Ping through a secure session echoes its data', spec('User API v1.4.0 4.2 Table 15 (Ping)'), async ({ session }) => {
  const data = Uint8Array.of(0x54, 0x52, 0x30, 0x31);
  expect(await session.ping(data)).toEqual(data);
});
`;

export const GITIGNORE = `node_modules/
reports/
test-results/
blob-report/
playwright-report/
.env
.env.local
.env.*.local
`;

export const TSCONFIG =
  JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        noEmit: true,
      },
      include: ['playwright.config.ts', 'specs/**/*.ts'],
    },
    null,
    2,
  ) + '\n';

export function consumerReadme(i: ConsumerTemplateInput): string {
  return `# ${i.name}

TROPIC01 specs run with [tropic-harness](https://www.npmjs.com/package/tropic-harness) on @playwright/test.

\`\`\`bash
npm ci                      # installs exactly what package-lock.json pins (commit the lock; CI runs the same)
npx playwright test         # ./specs on TROPIC_TARGET (default: the embedded model)
npx tropic-harness report   # Allure report from reports/allure-results into reports/allure-report
\`\`\`

No package-lock.json yet (\`tropic-harness init --no-lock\`, or init could not reach the npm
registry)? Resolve it once with \`npm install\` and commit it:

\`\`\`bash
npm install                 # resolves the dependencies, writes package-lock.json
npx playwright test
\`\`\`

Configuration: copy \`.env.example\` to \`.env\` and edit (\`npx tropic-harness config\` prints the
resolved set, secrets redacted). Specs import \`test\`, \`expect\`, \`spec\` and \`knownFinding\` from
\`tropic-harness/fixtures\`; protocol codecs and the driver come from \`tropic-harness\`.
`;
}
