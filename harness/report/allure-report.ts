/**
 * The Allure 3 report of a run, built so that it is the truth about that run:
 * - the inputs are one or more results folders (shards, machines, projects), each checked: a
 *   folder with no test results, or a result file that is not readable JSON, is an error naming
 *   it, never an empty green report;
 * - a parent folder holding several `allure-results` folders is expanded to them (Allure 3 reads
 *   several inputs itself: no copying);
 * - the output folder is emptied first (Allure 3 writes into `<output>/awesome/` when the folder
 *   is not empty, leaving the previous run's `index.html` at the printed path);
 * - categories, environments (one per target kind) and known issues are Allure 3 configuration,
 *   not Allure 2's categories.json, which Allure 3 ignores.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { HarnessError } from '../errors.js';
import { WORKSPACE_ROOT, dependencyFile } from '../paths.js';
import { TARGET_KINDS } from '../config/env.js';
import { allureResolutions } from '../findings/index.js';

export class ReportError extends HarnessError {
  constructor(message: string) {
    super('report', message, {}, 'TH_REPORT');
  }
}

export interface ResultsInput {
  dir: string;
  tests: number;
}

const isResultFile = (f: string): boolean => f.endsWith('-result.json');

/** Resolve the results folders: each given folder, or the allure-results folders under a parent. */
export function resolveResultsInputs(dirs: string[]): ResultsInput[] {
  const inputs: ResultsInput[] = [];
  for (const given of dirs) {
    const dir = path.resolve(WORKSPACE_ROOT, given);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ReportError(`results folder ${dir} does not exist: run the suite first (results go to TROPIC_ALLURE_RESULTS)`);
    const files = readdirSync(dir);
    if (files.some(isResultFile)) {
      inputs.push({ dir, tests: checkResults(dir, files) });
      continue;
    }
    // A parent of several results folders (shards): every sub-folder holding results.
    const children = files.map((f) => path.join(dir, f)).filter((p) => statSync(p).isDirectory() && readdirSync(p).some(isResultFile));
    if (children.length === 0) throw new ReportError(`no Allure test results (*-result.json) in ${dir} or its sub-folders: nothing to report`);
    for (const c of children) inputs.push({ dir: c, tests: checkResults(c, readdirSync(c)) });
  }
  return inputs;
}

/** Every result file must be a readable Allure test result; returns how many there are. */
function checkResults(dir: string, files: string[]): number {
  const bad: string[] = [];
  let n = 0;
  for (const f of files.filter(isResultFile)) {
    try {
      const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { uuid?: unknown; name?: unknown; status?: unknown };
      if (typeof r.uuid !== 'string' || typeof r.name !== 'string') bad.push(`${f}: not an Allure test result (needs "uuid" and "name")`);
      else n++;
    } catch (e) {
      bad.push(`${f}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (bad.length) throw new ReportError(`${bad.length} unreadable result file(s) in ${dir}:\n  - ${bad.slice(0, 10).join('\n  - ')}${bad.length > 10 ? `\n  - … ${bad.length - 10} more` : ''}`);
  return n;
}

/**
 * Categories (Allure 3 matchers on the failure message: error codes are in every harness
 * message). Order matters: the first matching category wins.
 */
export const REPORT_CATEGORIES = [
  { name: 'Refused on rig', matchers: { statuses: ['skipped'], message: /refused/ } },
  { name: 'Known finding no longer reproduces', matchers: { statuses: ['failed', 'broken', 'skipped'], message: /no longer reproduces/ } },
  { name: 'Target lost', matchers: { statuses: ['failed', 'broken', 'skipped'], message: /TH_TARGET_LOST|TH_WORKER_LOST|target lost/ } },
  { name: 'Transport faults', matchers: { statuses: ['failed', 'broken'], message: /TH_(TCP_|TIMEOUT|TLS|SERIAL|DEVKIT)|TransportError|TimeoutError|ECONNREFUSED|ECONNRESET/ } },
  { name: 'Chip result errors', matchers: { statuses: ['failed', 'broken'], message: /TH_L[23]_(RESULT|STATUS)/ }, groupByMessage: true },
  { name: 'Protocol errors', matchers: { statuses: ['failed', 'broken'], message: /TH_(L1_|L2_|L3_|PROTOCOL|SESSION|HANDSHAKE|RESULT_TAG|NO_SESSION|CERT_)/ } },
  { name: 'Set-up errors', matchers: { statuses: ['failed', 'broken'], message: /TH_(CONFIG|TARGET|IMAGE|BASE_IMAGE|NO_DOCKER|TVL_)/ } },
  { name: 'Assertion failures', matchers: { statuses: ['failed'], message: /expect\(|toBe|toEqual|Expected/ } },
] as const;

/** The Allure 3 configuration module for one report (functions and regexes: it is JavaScript). */
export function allureConfigModule(o: { output: string; history: string; singleFile: boolean; knownIssues: string; findingsUrl: string }): string {
  const categories = REPORT_CATEGORIES.map((c) => {
    const m = c.matchers;
    return `    { name: ${JSON.stringify(c.name)}, matchers: { statuses: ${JSON.stringify(m.statuses)}, message: ${m.message.toString()} }${'groupByMessage' in c ? ', groupByMessage: true' : ''} },`;
  }).join('\n');
  const environments = TARGET_KINDS.map((k) => `    ${JSON.stringify(k)}: { name: ${JSON.stringify(k)}, matcher: ({ labels }) => labels.some((l) => l.name === 'target' && l.value === ${JSON.stringify(k)}) },`).join('\n');
  return `// Written by tropic-harness report for this report only.
export default {
  name: 'tropic-harness',
  output: ${JSON.stringify(o.output)},
  historyPath: ${JSON.stringify(o.history)},
  appendHistory: true,
  // The known-findings registry (harness/findings) as Allure resolutions: a finding named in a
  // result's message is shown as a known issue; Allure keeps its own record in knownIssuesPath.
  resolutions: ${JSON.stringify({ knownIssuesPath: o.knownIssues, ...allureResolutions(o.findingsUrl) })},
  categories: [
${categories}
  ],
  environments: {
${environments}
  },
  plugins: { awesome: { options: { singleFile: ${o.singleFile}, reportLanguage: 'en', groupBy: ['parentSuite', 'suite', 'subSuite'] } } },
};
`;
}

export const DEFAULT_FINDINGS_URL = 'https://github.com/tropicsquare/ts-tvl/issues?q=%s';

export interface ReportBuild {
  index: string;
  inputs: ResultsInput[];
  tests: number;
}

/** Build the report; returns the path of the index.html it wrote. */
export function buildAllureReport(o: { results: string[]; output: string; history: string; singleFile?: boolean; knownIssues?: string; findingsUrl?: string }): ReportBuild {
  const inputs = resolveResultsInputs(o.results);
  const tests = inputs.reduce((n, i) => n + i.tests, 0);
  const output = path.resolve(WORKSPACE_ROOT, o.output);
  const history = path.resolve(WORKSPACE_ROOT, o.history);
  const knownIssues = path.resolve(WORKSPACE_ROOT, o.knownIssues ?? path.join(path.dirname(o.history), 'known-issues.json'));
  // Allure links known issues over HTTP(S) only; the findings so far are all reference-model
  // divergences, so by default a finding links to a search of ts-tvl's issues for its id.
  const findingsUrl = o.findingsUrl ?? DEFAULT_FINDINGS_URL;
  if (!/^https?:\/\/\S*%s/.test(findingsUrl)) throw new ReportError(`--findings-url ${JSON.stringify(findingsUrl)} must be an http(s) URL template containing %s (the finding id)`);
  // Empty the output first: Allure 3 writes into <output>/awesome/ when the folder is not empty.
  rmSync(output, { recursive: true, force: true });
  mkdirSync(path.dirname(history), { recursive: true });
  // The configuration sits beside the report it describes, so concurrent reports never share one.
  const cfgFile = `${output}.allurerc.mjs`;
  mkdirSync(path.dirname(cfgFile), { recursive: true });
  writeFileSync(cfgFile, allureConfigModule({ output, history, singleFile: !!o.singleFile, knownIssues, findingsUrl }));
  // The allure CLI wherever npm put it (this project's node_modules, or a consumer's, hoisted).
  const bin = dependencyFile('allure', 'cli.js');
  const r = spawnSync(process.execPath, [bin, 'generate', ...inputs.map((i) => i.dir), '--config', cfgFile], { cwd: WORKSPACE_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new ReportError(`allure generate exited with ${r.status ?? r.signal}:\n${(r.stderr || r.stdout || '').split('\n').slice(-20).join('\n')}`);
  const index = path.join(output, 'index.html');
  if (!existsSync(index)) throw new ReportError(`allure generate wrote no ${index}; its output:\n${(r.stdout || '').split('\n').slice(-20).join('\n')}`);
  return { index, inputs, tests };
}
