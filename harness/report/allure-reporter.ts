/**
 * allure-playwright's reporter with a results writer that does not fsync.
 *
 * Why: allure-playwright 3.12 hard-codes allure-js-commons' `FileSystemWriter` in `onBegin`, and
 * that writer fsyncs every result, container and attachment before renaming it into place. The
 * runner's main process does this synchronously, on the event loop that also hands tests to the
 * workers: a CPU profile of a 282-test spec run with two workers showed 2.6 s in `fsyncSync`
 * (about 2 ms a file on the CI-like VM). Allure results need not survive a power loss (a crashed
 * machine re-runs the suite), but a reader (`allure generate`, a shard merge, Allure's watch mode)
 * must never see half a file: so every file is still written to a temporary file in the results
 * folder and renamed over its final name (atomic on one file system); only the fsync is gone.
 *
 * The files are byte for byte what `FileSystemWriter` writes (same names, same JSON, the same
 * `environment.properties` through allure-js-commons' own `stringifyEnvInfo`): a test compares them.
 * Options are allure-playwright's, passed through unchanged.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Suite } from '@playwright/test/reporter';
import type { Globals, TestResult, TestResultContainer } from 'allure-js-commons';
import type { Category, EnvironmentInfo } from 'allure-js-commons/sdk';
import { stringifyEnvInfo, type ReporterRuntime, type Writer } from 'allure-js-commons/sdk/reporter';
import { AllureReporter } from 'allure-playwright';
import { HarnessError } from '../errors.js';

/** allure-js-commons' own default, used when no `resultsDir` is configured (its `createDefaultWriter`). */
const DEFAULT_RESULTS_DIR = './allure-results';

/**
 * Allure's temporary-file name pattern (dot-prefixed, `.tmp`), kept so that whatever already skips
 * allure-js-commons' half-written files (dot files, `*.tmp`) skips ours too. FileSystemWriter's own
 * helpers (temporary name, write-and-rename) are private to its module, not exported: hence these
 * few lines here; the formats come from allure-js-commons (`stringifyEnvInfo`) or are plain JSON.stringify.
 */
function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.allure-write-${randomUUID()}.tmp`);
}

/** Why a hard link cannot be made here, whichever file it is: then attachments are copied. */
const NO_LINK_CODES = new Set(['EXDEV', 'EPERM', 'EACCES', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** Writes Allure results atomically (temporary file + rename in the same folder), without fsync. */
export class AtomicFileWriter implements Writer {
  private linking = true;
  private dirMade = false;

  constructor(readonly resultsDir: string) {}

  writeResult(result: TestResult): void {
    this.publishText(`${result.uuid}-result.json`, JSON.stringify(result));
  }

  writeGroup(result: TestResultContainer): void {
    this.publishText(`${result.uuid}-container.json`, JSON.stringify(result));
  }

  writeAttachment(distFileName: string, content: Buffer): void {
    this.publish(distFileName, (temp) => writeFileSync(temp, content));
  }

  /**
   * A hard link where the file system allows one (the frame log is complete and never written
   * again once attached, and a new run writes new files rather than truncating old ones: Playwright
   * removes its output folder first), else a kernel-side copy. A copy per test's frame log was a
   * third of the runner's Allure time. A link appears whole at its final name, so it needs no
   * temporary file and rename; a copy does.
   */
  writeAttachmentFromPath(distFileName: string, from: string): void {
    if (this.linking) {
      const target = path.join(this.resultsDir, distFileName);
      try {
        this.inFolder(() => linkSync(from, target));
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        // A file of that name already: replaced whole, as every other write replaces it.
        if (code === 'EEXIST') return this.publish(distFileName, (temp) => linkSync(from, temp));
        // another file system, or links not allowed: copy from now on (a missing file stays an error)
        if (!NO_LINK_CODES.has(code)) {
          throw new HarnessError('report', `Allure results: cannot write ${target} (a link to ${from}): ${(err as Error).message}`, { cause: err }, 'TH_REPORT');
        }
        this.linking = false;
      }
    }
    this.publish(distFileName, (temp) => copyFileSync(from, temp));
  }

  writeEnvironmentInfo(info: EnvironmentInfo): void {
    this.publishText('environment.properties', stringifyEnvInfo(info));
  }

  writeCategoriesDefinitions(categories: Category[]): void {
    this.publishText('categories.json', JSON.stringify(categories));
  }

  writeGlobals(distFileName: string, info: Globals): void {
    this.publishText(distFileName, JSON.stringify(info));
  }

  private publishText(name: string, text: string): void {
    this.publish(name, (temp) => writeFileSync(temp, text, 'utf8'));
  }

  /**
   * Runs a write into the results folder. The folder is made once; were it removed during the run,
   * the write that fails for it (ENOENT) makes it again and is tried once more.
   */
  private inFolder(write: () => void): void {
    if (!this.dirMade) mkdirSync(this.resultsDir, { recursive: true });
    this.dirMade = true;
    try {
      write();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(this.resultsDir, { recursive: true });
      write();
    }
  }

  /** Writes `name` through a temporary file renamed into place; on failure no temporary file stays. */
  private publish(name: string, writeTemp: (temp: string) => void): void {
    const target = path.join(this.resultsDir, name);
    const temp = tempPathFor(target);
    try {
      this.inFolder(() => writeTemp(temp));
      renameSync(temp, target);
    } catch (err) {
      rmSync(temp, { force: true });
      throw new HarnessError('report', `Allure results: cannot write ${target} (through ${path.basename(temp)}): ${(err as Error).message}`, { cause: err }, 'TH_REPORT');
    }
  }
}

/** What this subclass touches of the base class: `allureRuntime` is private in allure-playwright's types. */
interface WithRuntime {
  allureRuntime: ReporterRuntime | undefined;
}

export default class HarnessAllureReporter extends AllureReporter {
  override onBegin(suite: Suite): void {
    super.onBegin(suite);
    // allure-js-commons' createDefaultWriter picks an in-process MessageWriter under ALLURE_TEST_MODE
    // (allure's own test setups); only the file writer is replaced.
    if (process.env.ALLURE_TEST_MODE) return;
    const runtime = (this as unknown as WithRuntime).allureRuntime;
    // Were a later allure-playwright to drop the field, the stock writer stays (slower, still
    // correct); allure-writer.test.ts fails then, since it counts the run's fsync calls.
    if (runtime) runtime.writer = new AtomicFileWriter(this.options.resultsDir || DEFAULT_RESULTS_DIR);
  }
}
