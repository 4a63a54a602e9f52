import { readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync, cpSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { intArg } from './args.js';
import { resolveConfig, redactedConfig, envExample } from '../config/env.js';
import { parseFrameLog } from '../framelog/frame-log.js';
import { decodeFrameLog } from '../framelog/decode.js';
import { replayFrameLog } from '../framelog/replay.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { PROJECT_ROOT } from '../paths.js';

export function registerToolCommands(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration (environment + .env files), secrets redacted')
    .option('--example', 'print a documented .env.example instead')
    .action((o: { example?: boolean }) => {
      if (o.example) return void process.stdout.write(envExample());
      const cfg = redactedConfig(resolveConfig());
      const w = Math.max(...Object.keys(cfg).map((k) => k.length));
      for (const [k, v] of Object.entries(cfg)) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
    });

  const fl = program.command('framelog').description('frame logs recorded by the fixtures (frame-log.jsonl attachments)');
  fl.command('decode <file>')
    .description('print a readable L1/L2 trace of a frame log')
    .action((file: string) => {
      process.stdout.write(decodeFrameLog(parseFrameLog(readFileSync(file, 'utf8')).entries));
    });
  fl.command('replay <file>')
    .description("send a frame log's messages to a target and compare every reply")
    .requiredOption('--target <host:port>', 'target address, e.g. 127.0.0.1:28992')
    .option('--io-timeout <ms>', 'reply timeout', intArg('--io-timeout', 1, 600_000), 5000)
    .action(async (file: string, o: { target: string; ioTimeout: number }) => {
      const m = /^([^:]+):(\d+)$/.exec(o.target);
      if (!m) throw new Error(`--target must be host:port, got ${JSON.stringify(o.target)}`);
      const log = parseFrameLog(readFileSync(file, 'utf8'));
      const t = await TcpTransport.connect({ host: m[1], port: Number(m[2]), ioTimeoutMs: o.ioTimeout });
      const r = await replayFrameLog(log.entries, t, (done, total) => process.stderr.write(`\rreplayed ${done}/${total}`));
      await t.close();
      process.stderr.write('\n');
      process.stdout.write(`sent ${r.sent}, matched ${r.matched}, diverged ${r.diverged.length}, errors ${r.errors.length}\n`);
      for (const d of r.diverged.slice(0, 20)) process.stdout.write(`  #${d.seq} ${d.tag}: expected ${d.expected || '(empty)'} got ${d.actual || '(empty)'}\n`);
      for (const e of r.errors.slice(0, 20)) process.stdout.write(`  #${e.seq}: ${e.error}\n`);
      if (r.diverged.length || r.errors.length) process.exitCode = 2;
    });

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
