/** Package root: the transport, the driver, the model server and the protocol codecs. */
export { TcpTransport, type TcpTransportOptions, type ConnectionState, type StateEvent } from './transport/tcp-transport.js';
export type { L1Transport, ExchangeRecord } from './transport/l1-transport.js';
export { TropicSquare, type TropicSquareOptions, type Signature, type L3Reply } from './driver/tropic-square.js';
export { L2Link, type PollOptions } from './driver/l2-link.js';
export { ModelServer, DEFAULT_MODEL_PORT } from './model/server.js';
export { TropicModel } from './model/chip.js';
export { loadModelConfig, parseModelConfig } from './model/model-config.js';
export * from './errors.js';
export * as l2 from './protocol/l2.js';
export * as l3 from './protocol/l3.js';
export * as configObjects from './protocol/config-objects.js';
export { decodeChipId, decodeFwVersion } from './protocol/chip-id.js';
export { decodeCertStore, chipPublicKey } from './protocol/cert-store.js';
export { FrameRecorder, parseFrameLog } from './framelog/frame-log.js';
export { decodeFrameLog } from './framelog/decode.js';
export { replayFrameLog } from './framelog/replay.js';
export { resolveConfig } from './config/env.js';
