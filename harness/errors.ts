/**
 * Typed errors for every layer. Each error has a stable `code` (like undici's) from one union,
 * the `layer` it was raised in, and optional protocol context (`frame` bytes, what was `expected`).
 * `cause` chains the lower-level failure. The message starts with the code and layer and ends with
 * what was expected and the frame (hex, truncated), so reports and Allure categories can match on
 * it. Messages never contain secrets: callers pass only public material.
 */

/**
 * Every error code the harness raises. Grouped by layer; add a code to its group (one line) when a
 * new failure needs its own name. Codes are stable: reports, categories and users match on them.
 */
export const ERROR_CODES = [
  // generic
  'TH_ERR', 'TH_TIMEOUT', 'TH_PROTOCOL', 'TH_ARGUMENT', 'TH_CONFIG',
  // transport (tagged TCP, TLS, serial)
  'TH_TRANSPORT', 'TH_TCP_CLOSED', 'TH_TCP_EXCEPTION', 'TH_TCP_UNSUPPORTED', 'TH_TCP_INVALID', 'TH_TCP_TAG_MISMATCH',
  'TH_TCP_PAYLOAD', 'TH_TCP_OVERSIZE', 'TH_TCP_OPTIONS', 'TH_TCP_IO', 'TH_TCP_CONNECT', 'TH_TCP_RESOLVE', 'TH_TCP_SPI_LENGTH',
  'TH_TCP_LINK_LOST', 'TH_TLS',
  // L1 / L2 / L3 / session
  'TH_L1_ALARM', 'TH_L1_NO_RESPONSE', 'TH_L2_STATUS', 'TH_L2_SHORT', 'TH_L2_LENGTH', 'TH_L2_CRC', 'TH_L3_RESULT', 'TH_L3_SIZE',
  'TH_L3_LENGTH', 'TH_L3_FIELD', 'TH_CERT_STORE', 'TH_CERT_PARSE', 'TH_CERT_KEY', 'TH_CERT_CHAIN', 'TH_SESSION', 'TH_HANDSHAKE_AUTH',
  'TH_NO_SESSION', 'TH_RESULT_TAG', 'TH_L3_BATCH_ABORTED',
  // driver policy
  'TH_IRREVERSIBLE_REFUSED', 'TH_RESTORE', 'TH_SPEC_TAG', 'TH_FINDING', 'TH_INJECTED_FAILURE',
  // model and model server
  'TH_MODEL', 'TH_MODEL_STATE', 'TH_MODEL_CONFIG', 'TH_MODEL_OUTPUT', 'TH_MODEL_FAULT',
  // targets
  'TH_TARGET', 'TH_TARGET_URL', 'TH_TARGET_SPAWN', 'TH_TARGET_KIND', 'TH_TARGET_EXITED', 'TH_TARGET_DEPS', 'TH_TARGET_START_TIMEOUT',
  'TH_TARGET_PORT_BUSY', 'TH_TARGET_FOREIGN', 'TH_TARGET_LOST', 'TH_WORKER_LOST', 'TH_NO_DOCKER_ENGINE', 'TH_IMAGE_CONTEXT', 'TH_IMAGE_MISSING',
  'TH_IMAGE_BUILD', 'TH_BASE_IMAGE', 'TH_TVL_SOURCE',
  // frame logs, import, replay, codegen
  'TH_FRAMELOG', 'TH_FRAMELOG_PARSE', 'TH_FRAMELOG_VERSION', 'TH_PCAP', 'TH_LTLOG', 'TH_REPLAY', 'TH_REPLAY_DIVERGED', 'TH_CODEGEN',
  'TH_MINIMIZE',
  // rigs: DevKit bridge, serial, leases, qualification
  'TH_SERIAL', 'TH_DEVKIT', 'TH_DEVKIT_CRC', 'TH_DEVKIT_PROTOCOL', 'TH_LEASE', 'TH_LEASE_TIMEOUT', 'TH_LEASE_LOST', 'TH_RIGS',
  'TH_QUALIFY',
  // reports, CLI, exploration
  'TH_REPORT', 'TH_CLI', 'TH_INIT_LOCK', 'TH_EXPLORE', 'TH_CHAOS',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Layer = 'transport' | 'l1' | 'l2' | 'l3' | 'session' | 'driver' | 'model' | 'config' | 'target' | 'framelog' | 'rig' | 'cli' | 'report' | 'explore';

export interface ErrorContext {
  frame?: Uint8Array;
  expected?: string;
  cause?: unknown;
}

/** Frame bytes shown in a message: at most 32, then the total. */
function frameText(frame: Uint8Array): string {
  const shown = Buffer.from(frame.subarray(0, 32)).toString('hex');
  return frame.length > 32 ? `${shown}… (${frame.length} B)` : `${shown} (${frame.length} B)`;
}

export class HarnessError extends Error {
  readonly code: ErrorCode;
  readonly layer: Layer;
  readonly frame?: Uint8Array;
  readonly expected?: string;
  /** The message without the code, layer, expectation and frame. */
  readonly detail: string;

  constructor(layer: Layer, message: string, ctx: ErrorContext = {}, code: ErrorCode = 'TH_ERR') {
    const extra = [ctx.expected !== undefined ? `expected ${ctx.expected}` : '', ctx.frame ? `frame ${frameText(ctx.frame)}` : ''].filter(Boolean).join('; ');
    super(`${code} [${layer}] ${message}${extra ? ` (${extra})` : ''}`, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.code = code;
    this.layer = layer;
    this.frame = ctx.frame;
    this.expected = ctx.expected;
    this.detail = message;
  }
}

/** The TCP link (or another L1 transport) failed: connect, I/O, closed socket, bad tag. */
export class TransportError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_TRANSPORT', ctx: ErrorContext = {}) {
    super('transport', message, ctx, code);
  }
}

/** The server answered a tagged message with EXCEPTION, INVALID or UNSUPPORTED. */
export class TransportTagError extends TransportError {
  readonly sentTag: number;
  readonly answerTag: number;
  constructor(message: string, code: ErrorCode, sentTag: number, answerTag: number, ctx: ErrorContext = {}) {
    super(message, code, ctx);
    this.sentTag = sentTag;
    this.answerTag = answerTag;
  }
}

/** A bounded wait expired. */
export class TimeoutError extends HarnessError {
  readonly timeoutMs: number;
  constructor(layer: Layer, message: string, timeoutMs: number, ctx: ErrorContext = {}, code: ErrorCode = 'TH_TIMEOUT') {
    super(layer, message, ctx, code);
    this.timeoutMs = timeoutMs;
  }
}

/** Bytes that do not follow the protocol (bad length, bad CRC from the chip, bad tag echo). */
export class ProtocolError extends HarnessError {
  constructor(layer: Layer, message: string, code: ErrorCode = 'TH_PROTOCOL', ctx: ErrorContext = {}) {
    super(layer, message, ctx, code);
  }
}

/** The chip answered an L2 request with a non-OK STATUS. */
export class L2StatusError extends HarnessError {
  readonly status: number;
  readonly statusName: string;
  readonly request: string;
  constructor(request: string, status: number, statusName: string, ctx: ErrorContext = {}) {
    super('l2', `${request}: chip answered L2 status ${statusName} (0x${status.toString(16).padStart(2, '0')})`, ctx, 'TH_L2_STATUS');
    this.status = status;
    this.statusName = statusName;
    this.request = request;
  }
}

/** The chip answered an L3 command with a RESULT other than OK. */
export class L3ResultError extends HarnessError {
  readonly result: number;
  readonly resultName: string;
  readonly command: string;
  constructor(command: string, result: number, resultName: string, ctx: ErrorContext = {}) {
    super('l3', `${command}: chip answered L3 result ${resultName} (0x${result.toString(16).padStart(2, '0')})`, ctx, 'TH_L3_RESULT');
    this.result = result;
    this.resultName = resultName;
    this.command = command;
  }
}

/** Secure-channel failure on the host side (bad handshake tag, decrypt failure, no session). */
export class SessionError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_SESSION', ctx: ErrorContext = {}) {
    super('session', message, ctx, code);
  }
}

/** A caller passed a bad argument; raised before anything is sent. */
export class ArgumentError extends HarnessError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('driver', `${argument}: ${message}`, {}, 'TH_ARGUMENT');
    this.argument = argument;
  }
}

/** Invalid configuration (environment, model YAML). */
export class ConfigError extends HarnessError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], code: ErrorCode = 'TH_CONFIG') {
    super('config', problems.length ? `${message}\n  - ${problems.join('\n  - ')}` : message, {}, code);
    this.problems = problems;
  }
}

/** A target could not be started, reached or refused an operation (e.g. irreversible on a rig). */
export class TargetError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_TARGET', ctx: ErrorContext = {}) {
    super('target', message, ctx, code);
  }
}

/** The embedded model or its server met a state it cannot handle (a true internal fault). */
export class ModelError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_MODEL', ctx: ErrorContext = {}) {
    super('model', message, ctx, code);
  }
}

/** A frame log, capture or console log could not be read, replayed or turned into a spec. */
export class FrameLogError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_FRAMELOG', ctx: ErrorContext = {}) {
    super('framelog', message, ctx, code);
  }
}

/** A rig: the DevKit bridge, its serial link, the rig pool and leases, qualification. */
export class RigError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_TARGET', ctx: ErrorContext = {}) {
    super('rig', message, ctx, code);
  }
}

/** A command-line usage or tool error (bad option value, missing file). */
export class CliError extends HarnessError {
  constructor(message: string, code: ErrorCode = 'TH_CLI', ctx: ErrorContext = {}) {
    super('cli', message, ctx, code);
  }
}
