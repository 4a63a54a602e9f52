/**
 * Container targets through testcontainers: `tvl-container` (the real ts-tvl: TVL_IMAGE, or built
 * from docker/tvl.Dockerfile with TVL_WHEEL) and `model-container` (this project's model, built
 * from docker/model.Dockerfile). One code path for both.
 *
 * Life cycle: the target's setup project builds the image once per run and removes containers a
 * crashed run left behind; each worker slot (Playwright's parallelIndex) then starts its container
 * once and a replacement worker of the same slot reuses it (testcontainers reuse, keyed by the
 * slot, image and configuration); the teardown project removes them all. Every container carries
 * the label `tropic-harness.target`. Readiness is an answered frame: ts-tvl opens its port before
 * it has loaded its configuration.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TargetError } from '../errors.js';
import type { HarnessConfig } from '../config/env.js';
import { PACKAGE_ROOT, PROJECT_ROOT, WORKSPACE_ROOT, DEFAULT_MODEL_CONFIG, packageVersion } from '../paths.js';
import { waitForAnsweredFrame } from './wait-ready.js';
import { ANSI_COLOURS, LogBuffer, type TargetHandle } from './target.js';
import { dockerEngine, dockerodeOptions, exportForTestcontainers } from './docker-engine.js';
import { harnessModel, wheelVersion } from './implementation.js';
import type { TargetImplementation } from './target.js';
import { assembleModelContext } from './image-context.js';
import type Docker from 'dockerode';

export const CONTAINER_LABEL = 'tropic-harness.target';
export const SLOT_LABEL = 'tropic-harness.slot';
/** The project (workspace) that started a container: setup and teardown remove only their own project's (and unlabelled) ones. */
export const WORKSPACE_LABEL = 'tropic-harness.workspace';
const MODEL_PORT = 28992;

export type ContainerKind = 'tvl-container' | 'model-container';
type Testcontainers = typeof import('testcontainers');

async function testcontainers(cfg: HarnessConfig): Promise<Testcontainers> {
  exportForTestcontainers(dockerEngine(cfg));
  try {
    return await import('testcontainers');
  } catch (cause) {
    throw new TargetError('testcontainers is not installed (npm ci installs it)', 'TH_TARGET_DEPS', { cause });
  }
}

export const isContainerKind = (kind: string): kind is ContainerKind => kind === 'tvl-container' || kind === 'model-container';

function containerKind(cfg: HarnessConfig): ContainerKind {
  if (!isContainerKind(cfg.TROPIC_TARGET)) throw new TargetError(`${cfg.TROPIC_TARGET} is not a container target`, 'TH_TARGET_KIND');
  return cfg.TROPIC_TARGET;
}

/** The image a container target runs. */
export function imageName(cfg: HarnessConfig): string {
  const kind = containerKind(cfg);
  if (kind === 'tvl-container') return cfg.TVL_IMAGE ?? 'tropic-harness/tvl:local';
  // A checkout's dist/ changes with every build; an installed package's image is its version's, so
  // projects on one engine using an installed package never retag a checkout's image (or back).
  return PACKAGE_ROOT.split(path.sep).includes('node_modules') ? `tropic-harness/model:${packageVersion()}` : 'tropic-harness/model:local';
}

/** A friendly error when no engine answers: say which engine was tried and how to get one. */
function noEngine(cfg: HarnessConfig, cause: unknown): TargetError {
  const choice = dockerEngine(cfg);
  return new TargetError(
    `no Docker engine answers (${choice.source}${choice.dockerHost ? ` ${choice.dockerHost}` : ''}): start one with \`bash .ci/docker-engine start\`, or set DOCKER_HOST`,
    'TH_NO_DOCKER_ENGINE',
    { cause },
  );
}

/**
 * The engine's API (dockerode, the client testcontainers itself uses), checked to answer. The
 * harness's own engine calls (images, builds, listing, removal) go through it; testcontainers
 * starts the containers.
 */
async function dockerApi(cfg: HarnessConfig): Promise<Docker> {
  // Loaded when a container target is used: dockerode and its transport stack cost every
  // Playwright process about 130 ms to load, and most runs never start a container.
  const { default: DockerClient } = await import('dockerode');
  const docker = new DockerClient(dockerodeOptions(dockerEngine(cfg)));
  try {
    await docker.ping();
  } catch (cause) {
    throw noEngine(cfg, cause);
  }
  return docker;
}

/**
 * Build (or check) the target's image once per run: called by the setup project. Returns the image
 * name and what was done, for the report.
 */
export async function prepareContainerImage(cfg: HarnessConfig, progress: (line: string) => void = () => {}): Promise<{ image: string; built: boolean; ms: number }> {
  const kind = containerKind(cfg);
  const docker = await dockerApi(cfg);
  const image = imageName(cfg);
  const t0 = performance.now();
  if (kind === 'tvl-container' && cfg.TVL_IMAGE) {
    // A ready image: pull it only if the engine lacks it.
    if (!(await imageExists(docker, image))) await pullImage(docker, image);
    return { image, built: false, ms: performance.now() - t0 };
  }
  const { dir, dispose, what, buildArgs } = kind === 'model-container' ? modelContext() : { ...tvlContext(cfg), buildArgs: {} };
  try {
    progress(`building ${image} from ${what}`);
    const base = kind === 'model-container' ? cfg.MODEL_BASE_IMAGE : cfg.TVL_BASE_IMAGE;
    const baseVar = kind === 'model-container' ? 'MODEL_BASE_IMAGE' : 'TVL_BASE_IMAGE';
    if (!(await imageExists(docker, base))) {
      if (base.startsWith('tropic-harness/')) {
        throw new TargetError(`${baseVar}=${base} is not on the engine: \`bash .ci/docker-engine base-image\` builds it, or set ${baseVar} to an image with ${kind === 'model-container' ? 'Node 20 (e.g. node:20-bookworm-slim)' : 'Python 3 and pip'}`, 'TH_BASE_IMAGE');
      }
      progress(`pulling ${base}`);
      try {
        await pullImage(docker, base);
      } catch (cause) {
        throw new TargetError(`${baseVar}=${base} is not on the engine and cannot be pulled (${(cause as Error).message.split('\n')[0]}); load it (docker load/import) or name a local image`, 'TH_BASE_IMAGE', { cause });
      }
    }
    const args: Record<string, string> = { BASE_IMAGE: base, ...buildArgs };
    if (kind === 'tvl-container') args.PIP_ARGS = cfg.TVL_PIP_ARGS;
    await buildImage(docker, dir, image, args, progress);
  } catch (cause) {
    if (cause instanceof TargetError) throw cause;
    throw new TargetError(`building ${image} failed: ${(cause as Error).message}`, 'TH_IMAGE_BUILD', { cause });
  } finally {
    dispose();
  }
  const ms = performance.now() - t0;
  progress(`built ${image} in ${(ms / 1000).toFixed(1)} s`);
  return { image, built: true, ms };
}

async function imageExists(docker: Docker, name: string): Promise<boolean> {
  return docker
    .getImage(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

async function pullImage(docker: Docker, name: string): Promise<void> {
  const stream = await docker.pull(name);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
}

/**
 * Build through the engine's API and follow its progress: testcontainers' builder drops the build
 * output, so a failing RUN would surface only as "Failed to build image". Here the failing step and
 * the last lines of output go into the error, and each build step is reported as progress.
 */
async function buildImage(docker: Docker, dir: string, image: string, buildargs: Record<string, string>, progress: (line: string) => void): Promise<void> {
  const src = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  const stream = await docker.buildImage({ context: dir, src }, { t: image, buildargs, rm: true, forcerm: true });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new Error(`${failed}\n--- last build output ---\n${output.slice(-25).join('\n')}`));
        else resolve();
      },
      (e: { stream?: string; status?: string }) => {
        const line = (e.stream ?? e.status ?? '').trimEnd();
        if (!line) return;
        output.push(line);
        if (/^Step \d+\/\d+ :/.test(line)) progress(line);
      },
    );
  });
}

function modelContext() {
  const ctx = assembleModelContext('docker/model.Dockerfile');
  return { ...ctx, what: `docker/model.Dockerfile (dist/ + ${ctx.packages} run-time packages${ctx.buildArgs.PACKAGE_DIR === '.' ? '' : ` around ${ctx.buildArgs.PACKAGE_DIR}`})` };
}

function tvlContext(cfg: HarnessConfig) {
  if (!cfg.TVL_WHEEL) throw new TargetError('tvl-container needs TVL_IMAGE (a ready image) or TVL_WHEEL (a ts-tvl wheel or source directory to build one)', 'TH_TVL_SOURCE');
  const src = path.resolve(WORKSPACE_ROOT, cfg.TVL_WHEEL);
  if (!existsSync(src)) throw new TargetError(`TVL_WHEEL=${cfg.TVL_WHEEL}: no such file or directory (expected a .whl or a ts-tvl source checkout)`, 'TH_TVL_SOURCE');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-tvl-image-'));
  const isWheel = statSync(src).isFile();
  if (isWheel && !src.endsWith('.whl')) throw new TargetError(`TVL_WHEEL=${cfg.TVL_WHEEL}: a file must be a .whl wheel`, 'TH_TVL_SOURCE');
  // The wheel keeps its file name (pip reads the version from it); a source tree goes to tvl/src.
  cpSync(src, isWheel ? path.join(dir, 'tvl', path.basename(src)) : path.join(dir, 'tvl', 'src'), { recursive: true, filter: (f) => !/[\\/](\.git|__pycache__|\.venv)$/.test(f) });
  cpSync(path.join(PROJECT_ROOT, 'docker', 'tvl.Dockerfile'), path.join(dir, 'Dockerfile'));
  return { dir, what: `docker/tvl.Dockerfile with ${isWheel ? 'wheel' : 'source'} ${cfg.TVL_WHEEL}`, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Content hash of the configuration folder: a changed configuration must not reuse a container. */
export function configHash(configFile: string): string {
  const h = createHash('sha256');
  const dir = path.dirname(configFile);
  for (const f of readdirSync(dir).sort()) {
    const p = path.join(dir, f);
    if (statSync(p).isFile()) h.update(f).update(readFileSync(p));
  }
  return h.digest('hex').slice(0, 16);
}

/** Start this slot's container, or reuse the one an earlier worker of the slot started. */
export async function startContainerTarget(cfg: HarnessConfig, slot: number): Promise<TargetHandle> {
  const kind = containerKind(cfg);
  const docker = await dockerApi(cfg);
  const tc = await testcontainers(cfg);
  const image = imageName(cfg);
  const configFile = (cfg.target.kind === kind && cfg.target.modelConfig) || DEFAULT_MODEL_CONFIG;
  let imageId: string;
  try {
    imageId = (await docker.getImage(image).inspect()).Id;
  } catch (cause) {
    throw new TargetError(`image ${image} is missing: the ${kind} setup project builds it (run the spec project, not its tests alone)`, 'TH_IMAGE_MISSING', { cause });
  }
  const since = Math.floor(Date.now() / 1000);
  const container = await new tc.GenericContainer(image)
    .withLabels({ [CONTAINER_LABEL]: kind, [SLOT_LABEL]: String(slot), [WORKSPACE_LABEL]: WORKSPACE_ROOT, 'tropic-harness.image': imageId.slice(0, 19), 'tropic-harness.config': configHash(configFile) })
    .withExposedPorts(MODEL_PORT)
    .withCopyDirectoriesToContainer([{ source: path.dirname(configFile), target: '/config' }])
    .withCommand(['--address', '0.0.0.0', '--port', String(MODEL_PORT), '--configuration', `/config/${path.basename(configFile)}`])
    .withWaitStrategy(tc.Wait.forListeningPorts())
    .withStartupTimeout(cfg.TVL_STARTUP_TIMEOUT_MS)
    .withReuse()
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(MODEL_PORT);
  const logs = new LogBuffer();
  // Follow the log from this worker's start; a reused container's earlier lines belong to earlier tests.
  const stream: Readable = await container.logs({ since });
  stream.on('data', (chunk: Buffer | string) => {
    for (const line of String(chunk).replace(ANSI_COLOURS, '').split('\n')) if (line.trim()) logs.push(line.trimEnd());
  });
  stream.on('error', () => {});
  try {
    await waitForAnsweredFrame(host, port, cfg.TVL_STARTUP_TIMEOUT_MS);
  } catch (e) {
    stream.destroy();
    throw new TargetError(`${kind} ${container.getId().slice(0, 12)} (${image}) never answered a frame; its log:\n${logs.drain()}`, 'TH_TARGET_START_TIMEOUT', { cause: e });
  }
  const id = container.getId();
  return {
    kind,
    name: `${kind} ${image} ${id.slice(0, 12)} @${host}:${port} (slot ${slot})`,
    host,
    port,
    resetMode: 'reset-target',
    implementation: await containerImplementation(cfg, docker, image),
    drainLogs: () => logs.drain(),
    health: async () => {
      const state = await docker
        .getContainer(id)
        .inspect()
        .then(
          (c) => (c.State.Running ? undefined : `container ${id.slice(0, 12)} is ${c.State.Status} (exit code ${c.State.ExitCode})`),
          () => `container ${id.slice(0, 12)} is gone`,
        );
      return state;
    },
    // The container belongs to the worker slot, not the worker: the teardown project removes it.
    stop: async () => {
      stream.destroy();
    },
  };
}

/**
 * What a container runs: this project's model, or ts-tvl with the version TVL_VERSION declares,
 * the wheel's file name carries, or the image's `org.opencontainers.image.version` label says;
 * otherwise the target fixture's behaviour probe decides.
 */
async function containerImplementation(cfg: HarnessConfig, docker: Docker, image: string): Promise<TargetImplementation> {
  if (cfg.target.kind !== 'tvl-container') return harnessModel('model-container image');
  if (cfg.target.declaredVersion) return { name: 'ts-tvl', version: cfg.target.declaredVersion, source: 'TVL_VERSION' };
  const fromWheel = !cfg.target.image && cfg.target.wheel ? wheelVersion(cfg.target.wheel) : undefined;
  if (fromWheel) return { name: 'ts-tvl', version: fromWheel, source: `wheel ${path.basename(cfg.target.wheel!)}` };
  const label = await docker
    .getImage(image)
    .inspect()
    .then(
      (i) => i.Config?.Labels?.['org.opencontainers.image.version'],
      () => undefined,
    );
  if (label) return { name: 'ts-tvl', version: label, source: `image ${image} label org.opencontainers.image.version` };
  return { name: 'ts-tvl', source: 'version unknown (set TVL_VERSION)' };
}

/** Labelled containers (all, of one kind, or of one slot), in any state: a crashed run may leave exited ones. */
export async function listContainers(cfg: HarnessConfig, kind?: ContainerKind, slot?: number): Promise<{ id: string; kind: string; slot: string; state: string }[]> {
  return labelled(await dockerApi(cfg), kind, slot);
}

/** Remove labelled containers (the run's at teardown; a crashed run's at setup). */
export async function removeContainers(cfg: HarnessConfig, kind?: ContainerKind, slot?: number): Promise<number> {
  const docker = await dockerApi(cfg);
  const found = await labelled(docker, kind, slot);
  await Promise.all(found.map((c) => docker.getContainer(c.id).remove({ force: true, v: true })));
  return found.length;
}

async function labelled(docker: Docker, kind?: ContainerKind, slot?: number) {
  const label = [kind ? `${CONTAINER_LABEL}=${kind}` : CONTAINER_LABEL, ...(slot === undefined ? [] : [`${SLOT_LABEL}=${slot}`])];
  const all = await docker.listContainers({ all: true, filters: { label } });
  // Another project's containers on the same engine are not ours to remove (its run may be going on).
  const ours = all.filter((c) => (c.Labels[WORKSPACE_LABEL] ?? WORKSPACE_ROOT) === WORKSPACE_ROOT);
  return ours.map((c) => ({ id: c.Id, kind: c.Labels[CONTAINER_LABEL] ?? '?', slot: c.Labels[SLOT_LABEL] ?? '?', state: c.State }));
}
