/** `tropic-harness report`: the Allure 3 report of one run (or several shards), and its exit status. */
import type { Command } from 'commander';
import { buildAllureReport, DEFAULT_FINDINGS_URL } from '../report/allure-report.js';

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description(
      'build the Allure 3 report from one or more results folders (shards, machines) into one report; empties the output first, prints the report path, fails on zero or unreadable results',
    )
    .option('--results <dirs...>', 'Allure results folders, or a parent of several allure-results folders', ['reports/allure-results'])
    .option('--output <dir>', 'report folder (emptied first)', 'reports/allure-report')
    .option('--history <file>', 'history across runs (trends, flaky and new-failure detection)', 'reports/history.jsonl')
    .option('--known-issues <file>', "where Allure keeps its known-issues record (the known-findings registry is applied as resolutions)", 'reports/known-issues.json')
    .option('--findings-url <template>', 'http(s) link of a known finding in the report, %s = finding id', DEFAULT_FINDINGS_URL)
    .option('--single-file', 'one self-contained index.html (opens from file:// without a web server)')
    .addHelpText('after', '\nExit codes: 0 report built; 1 no results, unreadable results or allure failed.')
    .action((o: { results: string[]; output: string; history: string; singleFile?: boolean; knownIssues?: string; findingsUrl?: string }) => {
      const r = buildAllureReport(o);
      for (const i of r.inputs) process.stderr.write(`results: ${i.dir} (${i.tests} test results)\n`);
      process.stdout.write(`report: ${r.index} (${r.tests} test results from ${r.inputs.length} folder${r.inputs.length > 1 ? 's' : ''})\n`);
    });
}
