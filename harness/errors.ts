/**
 * Typed errors for every layer. Each error has a stable `code` (like undici's), the `layer` it
 * was raised in, and optional protocol context (`frame` bytes, what was `expected`). `cause` chains
 * the lower-level failure. Messages never contain secrets: callers pass only public material.
 */
export type Layer = 'transport' | 'l1' | 'l2' | 'l3' | 'session' | 'driver' | 'model' | 'config' | 'target';

export interface ErrorContext {
  frame?: Uint8Array;
  expected?: string;
  cause?: unknown;
}

export class HarnessError extends Error {
  readonly code: string = 'TH_ERR';
  readonly layer: Layer;
  readonly frame?: Uint8Array;
  readonly expected?: string;

  constructor(layer: Layer, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.layer = layer;
    this.frame = ctx.frame;
    this.expected = ctx.expected;
  }
}

/** The TCP link (or another L1 transport) failed: connect, I/O, closed socket, bad tag. */
export class TransportError extends HarnessError {
  override readonly code: string;
  constructor(message: string, code = 'TH_TRANSPORT', ctx: ErrorContext = {}) {
    super('transport', message, ctx);
    this.code = code;
  }
}

/** The server answered a tagged message with EXCEPTION, INVALID or UNSUPPORTED. */
export class TransportTagError extends TransportError {
  readonly sentTag: number;
  readonly answerTag: number;
  constructor(message: string, code: string, sentTag: number, answerTag: number, ctx: ErrorContext = {}) {
    super(message, code, ctx);
    this.sentTag = sentTag;
    this.answerTag = answerTag;
  }
}

/** A bounded wait expired. */
export class TimeoutError extends HarnessError {
  override readonly code = 'TH_TIMEOUT';
  readonly timeoutMs: number;
  constructor(layer: Layer, message: string, timeoutMs: number, ctx: ErrorContext = {}) {
    super(layer, message, ctx);
    this.timeoutMs = timeoutMs;
  }
}

/** Bytes that do not follow the protocol (bad length, bad CRC from the chip, bad tag echo). */
export class ProtocolError extends HarnessError {
  override readonly code: string;
  constructor(layer: Layer, message: string, code = 'TH_PROTOCOL', ctx: ErrorContext = {}) {
    super(layer, message, ctx);
    this.code = code;
  }
}

/** The chip answered an L2 request with a non-OK STATUS. */
export class L2StatusError extends HarnessError {
  override readonly code = 'TH_L2_STATUS';
  readonly status: number;
  readonly statusName: string;
  readonly request: string;
  constructor(request: string, status: number, statusName: string, ctx: ErrorContext = {}) {
    super('l2', `${request}: chip answered L2 status ${statusName} (0x${status.toString(16).padStart(2, '0')})`, ctx);
    this.status = status;
    this.statusName = statusName;
    this.request = request;
  }
}

/** The chip answered an L3 command with a RESULT other than OK. */
export class L3ResultError extends HarnessError {
  override readonly code = 'TH_L3_RESULT';
  readonly result: number;
  readonly resultName: string;
  readonly command: string;
  constructor(command: string, result: number, resultName: string, ctx: ErrorContext = {}) {
    super('l3', `${command}: chip answered L3 result ${resultName} (0x${result.toString(16).padStart(2, '0')})`, ctx);
    this.result = result;
    this.resultName = resultName;
    this.command = command;
  }
}

/** Secure-channel failure on the host side (bad handshake tag, decrypt failure, no session). */
export class SessionError extends HarnessError {
  override readonly code: string;
  constructor(message: string, code = 'TH_SESSION', ctx: ErrorContext = {}) {
    super('session', message, ctx);
    this.code = code;
  }
}

/** A caller passed a bad argument; raised before anything is sent. */
export class ArgumentError extends HarnessError {
  override readonly code = 'TH_ARGUMENT';
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('driver', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/** Invalid configuration (environment, model YAML). */
export class ConfigError extends HarnessError {
  override readonly code = 'TH_CONFIG';
  readonly problems: string[];
  constructor(message: string, problems: string[] = []) {
    super('config', problems.length ? `${message}\n  - ${problems.join('\n  - ')}` : message);
    this.problems = problems;
  }
}

/** A target could not be started, reached or refused an operation (e.g. irreversible on a rig). */
export class TargetError extends HarnessError {
  override readonly code: string;
  constructor(message: string, code = 'TH_TARGET', ctx: ErrorContext = {}) {
    super('target', message, ctx);
    this.code = code;
  }
}
