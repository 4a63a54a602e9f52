/**
 * `tropic-harness/config`: the Playwright configuration this project runs with, for reuse in a
 * firmware or driver team's own repository (`defineHarnessConfig()` in its playwright.config.ts)
 * instead of a copy that drifts. It gives the reporters (list/line, JUnit, HTML, Allure), the
 * per-run global setup, the timeout, and spec projects that each depend on a target setup project
 * and have a teardown project, all pointing at this package's own lifecycle files.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type PlaywrightTestConfig, type Project, type ReporterDescription } from '@playwright/test';
import { resolveConfig, type HarnessConfig, type TargetKind } from '../config/env.js';
import { ConfigError } from '../errors.js';
import { PRIVATE_ENGINE_ENV } from '../targets/docker-engine.js';
import { WORKSPACE_ROOT } from '../paths.js';

/** Project options the fixtures read (fixtures/config.ts). */
export type TargetOptions = { targetKind: TargetKind | undefined };
export type HarnessProject = Project<object, TargetOptions>;
export type HarnessPlaywrightConfig = PlaywrightTestConfig<object, TargetOptions>;
type TestMatch = string | RegExp | Array<string | RegExp>;

/**
 * The package's fixtures/lifecycle folder next to this module: sources (fixtures/lifecycle/*.ts)
 * when this repository runs from its sources, the build (dist/fixtures/lifecycle/*.js) when the
 * package is installed. Playwright collects test files from a testDir inside node_modules: it only
 * skips node_modules folders met *below* a testDir.
 */
export const LIFECYCLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'lifecycle');
const SOURCE_EXT = path.extname(fileURLToPath(import.meta.url)); // .ts from sources, .js from dist

/** The per-run global setup (empties the Allure results folder, records the run's start). */
export function globalSetupFile(): string {
  return lifecycleFile('run.setup');
}

function lifecycleFile(base: string): string {
  const file = path.join(LIFECYCLE_DIR, `${base}${SOURCE_EXT}`);
  if (!existsSync(file)) throw new ConfigError(`tropic-harness lifecycle file missing: ${file} (from sources run \`npm run build\` only for dist/; an installed package must ship dist/fixtures/lifecycle)`);
  return file;
}

export interface TropicProjectOptions {
  /** Project name; its setup and teardown projects are `<name> setup` and `<name> teardown`. Default `specs`. */
  name?: string;
  /** Where the specs are, relative to the Playwright configuration file. Default `./specs`. */
  testDir?: string;
  /** Default: every `*.spec.ts` / `*.spec.js`. */
  testMatch?: TestMatch;
  testIgnore?: TestMatch;
  /** The target kind of this project; unset: TROPIC_TARGET (environment or .env). */
  targetKind?: TargetKind;
  /** Spread specs over workers and shards test by test (each starts on a fresh chip). Default true. */
  fullyParallel?: boolean;
  /** Extra Playwright project settings (retries, grep, timeout, ...) for the spec project. */
  project?: Omit<HarnessProject, 'name' | 'testDir' | 'testMatch' | 'testIgnore' | 'dependencies' | 'use'>;
  /**
   * The target setup and teardown projects: `auto` (default) has them for every target kind but
   * `embedded`, whose model runs inside each worker: there is nothing to prepare, start or stop
   * once per run, and each of the two projects would cost a worker process started before (or
   * after) all the others, more than a second of every run.
   */
  lifecycle?: boolean | 'auto';
}

/** Whether a spec project on this target kind has setup and teardown projects (`TropicProjectOptions.lifecycle`). */
export function hasLifecycleProjects(kind: TargetKind, choice: boolean | 'auto' = 'auto'): boolean {
  return choice === 'auto' ? kind !== 'embedded' : choice;
}

/**
 * The dependencies of a project that needs the spec project's target (e.g. exploration): its setup
 * project, when it has one. `configured`: the configured target kind (TROPIC_TARGET), resolved from
 * the environment and the workspace's .env files when omitted.
 */
export function targetSetupDependencies(options: Pick<TropicProjectOptions, 'name' | 'targetKind' | 'lifecycle'> = {}, configured?: TargetKind): string[] {
  return withLifecycle(options, configured) ? [`${options.name ?? 'specs'} setup`] : [];
}

function withLifecycle(options: Pick<TropicProjectOptions, 'targetKind' | 'lifecycle'>, configured?: TargetKind): boolean {
  return hasLifecycleProjects(options.targetKind ?? configured ?? resolveConfig().TROPIC_TARGET, options.lifecycle);
}

/**
 * A spec project on one target kind, with its setup and teardown projects (the package's lifecycle
 * files) unless the target needs none (`lifecycle`). `configured`: the configured target kind
 * (TROPIC_TARGET), resolved from the environment and the workspace's .env files when omitted.
 */
export function tropicProjects(options: TropicProjectOptions = {}, configured?: TargetKind): HarnessProject[] {
  const name = options.name ?? 'specs';
  const use = { targetKind: options.targetKind };
  const match = (base: string) => new RegExp(`${base.replace('.', '\\.')}\\${SOURCE_EXT}$`);
  const lifecycle = withLifecycle(options, configured);
  if (lifecycle) lifecycleFile('target.setup');
  const specs: HarnessProject = {
    ...options.project,
    name,
    testDir: options.testDir ?? './specs',
    testMatch: options.testMatch ?? /.*\.spec\.[cm]?[jt]s$/,
    ...(options.testIgnore ? { testIgnore: options.testIgnore } : {}),
    dependencies: lifecycle ? [`${name} setup`] : [],
    fullyParallel: options.fullyParallel ?? true,
    use,
  };
  if (!lifecycle) return [specs];
  return [
    { name: `${name} setup`, testDir: LIFECYCLE_DIR, testMatch: match('target.setup'), teardown: `${name} teardown`, use },
    { name: `${name} teardown`, testDir: LIFECYCLE_DIR, testMatch: match('target.teardown'), use },
    specs,
  ];
}

export interface HarnessConfigOptions {
  /** The spec project (`tropicProjects()` options). Default: `./specs`, every `*.spec.ts`, TROPIC_TARGET. */
  specs?: TropicProjectOptions;
  /**
   * Also run the specs against this project's model in a container (project `model-container`):
   * `auto` (default) when a Docker engine is configured (DOCKER_HOST, the private engine, the
   * default socket) or TROPIC_CONTAINER_SPECS=1, never when TROPIC_CONTAINER_SPECS=0.
   */
  containerSpecs?: boolean | 'auto';
  /** More projects, listed before the spec projects (e.g. this repository's own harness tests). */
  projects?: HarnessProject[];
  /** Per-test timeout (ms). Default: TROPIC_TEST_TIMEOUT_MS when configured, else 60 000. */
  timeout?: number;
  /** Default: 1 on a single rig (one chip), Playwright's default otherwise. */
  workers?: number | string;
  /** Default 0: a flaky spec is a finding, not something to hide. */
  retries?: number;
  /** More reporters, after the default ones. */
  reporters?: ReporterDescription[];
  /** More Allure environment entries. */
  environmentInfo?: Record<string, string>;
  /** The user's project folder (.env files, reports/, test-results). Default WORKSPACE_ROOT. */
  workspace?: string;
  /** Environment to resolve the configuration from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Do not print which optional projects were left out. Default: TROPIC_QUIET_PROJECTS set. */
  quiet?: boolean;
}

/** Whether a Docker engine is configured (not whether it answers: setup checks that, with a clear message). */
export function dockerConfigured(cfg: HarnessConfig): boolean {
  return !!cfg.DOCKER_HOST || existsSync(PRIVATE_ENGINE_ENV) || existsSync('/var/run/docker.sock');
}

/** Whether the `model-container` spec project is included, and why not when it is not. */
export function containerSpecsWanted(cfg: HarnessConfig, choice: boolean | 'auto', env: NodeJS.ProcessEnv = process.env): boolean {
  if (choice !== 'auto') return choice;
  if (env.TROPIC_CONTAINER_SPECS === '1') return true;
  if (env.TROPIC_CONTAINER_SPECS === '0') return false;
  return dockerConfigured(cfg);
}

/** Where the run's reports go: the folder holding the Allure results (reports/ by default). */
export function reportsDirOf(cfg: HarnessConfig, workspace: string = WORKSPACE_ROOT): string {
  return path.dirname(path.resolve(workspace, cfg.TROPIC_ALLURE_RESULTS));
}

/** The reporters of every tropic-harness run. */
export function harnessReporters(cfg: HarnessConfig, options: { workspace?: string; environmentInfo?: Record<string, string>; env?: NodeJS.ProcessEnv } = {}): ReporterDescription[] {
  const env = options.env ?? process.env;
  const workspace = options.workspace ?? WORKSPACE_ROOT;
  const reportsDir = reportsDirOf(cfg, workspace);
  return [
    // First: a test whose worker died gets its typed error and surviving frame log before the others report it.
    [path.join(LIFECYCLE_DIR, `worker-loss.reporter${SOURCE_EXT}`)],
    [env.CI ? 'line' : 'list'],
    ['junit', { outputFile: path.join(reportsDir, 'junit.xml') }],
    ['html', { outputFolder: path.join(reportsDir, 'playwright-report'), open: 'never' }],
    ...(env.TROPIC_BLOB ? ([['blob', { outputDir: path.join(reportsDir, 'blob-report') }]] as ReporterDescription[]) : []),
    [
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'report', `allure-reporter${SOURCE_EXT}`), // allure-playwright without its fsync per file
      {
        resultsDir: path.resolve(workspace, cfg.TROPIC_ALLURE_RESULTS),
        detail: true,
        suiteTitle: true,
        // Per-test target: the `target` label (Allure 3 environments group by it, see `report`).
        environmentInfo: {
          pairing_slot: String(cfg.TROPIC_PAIRING_SLOT),
          rig: cfg.TROPIC_RIG_NAME ?? cfg.TROPIC_RIG ?? '-',
          node: process.version,
          os: `${os.platform()} ${os.release()}`,
          profile: cfg.TROPIC_PROFILE ?? '-',
          ...options.environmentInfo,
        },
      },
    ],
  ];
}

/**
 * The whole Playwright configuration: `export default defineHarnessConfig()` runs `./specs` on
 * TROPIC_TARGET with the project's reporters, global setup and lifecycle projects. The
 * configuration (environment and the workspace's .env files) is validated here, so a bad variable
 * fails before any test with every problem listed.
 */
export function defineHarnessConfig(options: HarnessConfigOptions = {}): HarnessPlaywrightConfig {
  const env = options.env ?? process.env;
  const workspace = path.resolve(options.workspace ?? WORKSPACE_ROOT);
  const cfg = resolveConfig(env, workspace);
  const containerSpecs = containerSpecsWanted(cfg, options.containerSpecs ?? 'auto', env);
  const mainProcess = !env.TEST_WORKER_INDEX;
  const leftOutByDetection = !containerSpecs && (options.containerSpecs ?? 'auto') === 'auto' && env.TROPIC_CONTAINER_SPECS !== '0';
  if (mainProcess && leftOutByDetection && !(options.quiet ?? !!env.TROPIC_QUIET_PROJECTS)) {
    process.stderr.write('tropic-harness: project model-container left out: no Docker engine (set DOCKER_HOST, run `bash .ci/docker-engine start`, or TROPIC_CONTAINER_SPECS=1)\n');
  }
  const specs = options.specs ?? {};
  const timeout = options.timeout ?? cfg.TROPIC_TEST_TIMEOUT_MS ?? 60_000;
  return defineConfig<object, TargetOptions>({
    timeout,
    forbidOnly: !!env.CI,
    // One rig is one chip: a single worker unless a rig pool (TROPIC_RIGS) leases one per worker.
    workers: options.workers ?? (cfg.TROPIC_TARGET === 'rig' && !env.TROPIC_RIGS ? 1 : undefined),
    retries: options.retries ?? 0,
    outputDir: path.join(workspace, 'test-results'),
    globalSetup: globalSetupFile(),
    reporter: [...harnessReporters(cfg, { workspace, environmentInfo: options.environmentInfo, env }), ...(options.reporters ?? [])],
    projects: [
      ...(options.projects ?? []),
      ...tropicProjects(specs, cfg.TROPIC_TARGET),
      ...(containerSpecs ? tropicProjects({ ...specs, name: 'model-container', targetKind: 'model-container' }, cfg.TROPIC_TARGET) : []),
    ],
  });
}
