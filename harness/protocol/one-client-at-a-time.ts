/**
 * The serving discipline of libtropic's tagged TCP servers (ts-tvl, the embedded model server, the
 * DevKit bridge): one client holds the chip at a time. A client connecting meanwhile is accepted
 * but not read (paused) until the client being served has gone; then it is served with the chip
 * as left. Shared by the model server and the rig bridge so both queue clients the same way.
 */
import type net from 'node:net';

export type ServeLog = (level: 'info' | 'warn', message: string) => void;

export const clientName = (sock: net.Socket): string => `${sock.remoteAddress}:${sock.remotePort}`;

export class OneClientAtATime {
  private active?: net.Socket;
  private waiting: net.Socket[] = [];
  private closing = false;

  /** `serve` takes over a socket; the server calls `done()` once that client is finished with. */
  constructor(private readonly serve: (sock: net.Socket) => void, private readonly log: ServeLog) {}

  /** A new connection: served now, or queued unread behind the client being served. */
  admit(sock: net.Socket): void {
    sock.setNoDelay(true);
    if (!this.active) return this.start(sock);
    const who = clientName(sock);
    this.log('info', `client ${who} waits: another client is being served`);
    sock.pause();
    this.waiting.push(sock);
    sock.on('error', (e) => this.log('warn', `waiting client ${who}: socket error ${e.message}`));
    sock.once('close', () => (this.waiting = this.waiting.filter((w) => w !== sock)));
  }

  /** The client being served is finished with: serve the next waiting one, if any. */
  done(): void {
    this.active = undefined;
    const next = this.waiting.shift();
    if (next && !this.closing) {
      this.start(next);
      next.resume();
    }
  }

  /** Stop serving: every client, served or waiting, is disconnected. */
  closeAll(): void {
    this.closing = true;
    for (const s of [this.active, ...this.waiting]) s?.destroy();
    this.waiting = [];
  }

  private start(sock: net.Socket): void {
    this.active = sock;
    this.serve(sock);
  }
}
