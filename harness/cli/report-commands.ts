/** `tropic-harness report` and `merge-allure`: the Allure 3 report from a run's results. */
import { writeFileSync, existsSync, mkdirSync, readdirSync, cpSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../paths.js';

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description('build the Allure 3 report from reports/allure-results into reports/allure-report, keeping history in reports/history.jsonl')
    .option('--results <dir>', 'Allure results (several shards: pass a parent of allure-results dirs)', 'reports/allure-results')
    .option('--output <dir>', 'report directory', 'reports/allure-report')
    .option('--history <file>', 'history across runs (trends, flaky detection)', 'reports/history.jsonl')
    .option('--single-file', 'one self-contained index.html (opens from file:// without a web server)')
    .action((o: { results: string; output: string; history: string; singleFile?: boolean }) => {
      const results = path.resolve(PROJECT_ROOT, o.results);
      if (!existsSync(results) || readdirSync(results).length === 0) throw new Error(`no Allure results in ${results}: run the suite first`);
      const output = path.resolve(PROJECT_ROOT, o.output);
      // The Allure config sits beside the report it describes, so concurrent reports never share one.
      const cfgFile = `${output}.allurerc.mjs`;
      mkdirSync(path.dirname(cfgFile), { recursive: true });
      const allureConfig = { name: 'tropic-harness', output, historyPath: path.resolve(PROJECT_ROOT, o.history), plugins: { awesome: { options: { singleFile: !!o.singleFile, reportLanguage: 'en' } } } };
      writeFileSync(cfgFile, `export default ${JSON.stringify(allureConfig, null, 2)};\n`);
      const bin = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'allure');
      const r = spawnSync(bin, ['generate', results, '--config', cfgFile], { stdio: 'inherit', cwd: PROJECT_ROOT });
      if (r.status !== 0) throw new Error(`allure generate exited with ${r.status}`);
      process.stdout.write(`report: ${output}/index.html\n`);
    });

  program
    .command('merge-allure <dirs...>')
    .description('merge Allure results of several shards into reports/allure-results')
    .action((dirs: string[]) => {
      const out = path.join(PROJECT_ROOT, 'reports', 'allure-results');
      mkdirSync(out, { recursive: true });
      let n = 0;
      for (const d of dirs) for (const f of readdirSync(d)) {
          cpSync(path.join(d, f), path.join(out, f));
          n++;
        }
      process.stdout.write(`merged ${n} files from ${dirs.length} shard(s) into ${out}\n`);
    });
}
