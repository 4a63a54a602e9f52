/**
 * A real tagged-protocol server on an ephemeral loopback port for transport tests: each
 * connection's frames go to a behaviour, and what every connection received (tags, payloads,
 * read chunks) is kept for assertions.
 */
import net from 'node:net';
import tls from 'node:tls';
import { TAG, TaggedFrameParser, encodeFrame } from '../protocol/tagged-frame.js';

export interface Connection {
  sock: net.Socket;
  /** Frames received, in order. */
  frames: { tag: number; payload: Uint8Array }[];
  /** Sizes of the reads the server saw (one per 'data' event). */
  chunks: number[];
}

export type Behaviour = (conn: Connection, tag: number, payload: Uint8Array) => void;

export interface LoopbackServer {
  port: number;
  connections: Connection[];
  close: () => Promise<void>;
}

/** Echo: the tag back, SPI_SEND payloads inverted (so a reply is told apart from its request). */
export const echo: Behaviour = (conn, tag, payload) => reply(conn, tag, tag === TAG.SPI_SEND ? payload.map((b) => b ^ 0xff) : new Uint8Array(0));

export function reply(conn: Connection, tag: number, payload: Uint8Array = new Uint8Array(0)): void {
  if (!conn.sock.destroyed) conn.sock.write(encodeFrame(tag, payload));
}

export async function loopbackServer(behaviour: Behaviour, tlsOptions?: tls.TlsOptions, host = '127.0.0.1'): Promise<LoopbackServer> {
  const connections: Connection[] = [];
  const socks = new Set<net.Socket>();
  const onConnection = (sock: net.Socket): void => {
    const conn: Connection = { sock, frames: [], chunks: [] };
    connections.push(conn);
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    const parser = new TaggedFrameParser();
    sock.on('data', (d: Buffer) => {
      conn.chunks.push(d.length);
      for (const f of parser.push(d)) {
        conn.frames.push(f);
        behaviour(conn, f.tag, f.payload);
      }
    });
    sock.on('error', () => {});
  };
  const srv = tlsOptions ? tls.createServer(tlsOptions, onConnection) : net.createServer(onConnection);
  // Handshake failures (a client without a certificate) are expected in TLS tests.
  srv.on('tlsClientError', () => {});
  await new Promise<void>((r) => srv.listen(0, host, r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((r) => (socks.forEach((s) => s.destroy()), srv.close(() => r()))),
  };
}

/** A loopback port free at the time of asking (for servers that must be told their port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
