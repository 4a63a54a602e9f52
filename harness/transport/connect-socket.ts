/**
 * Open one stream socket to one address: plain TCP, or TLS with optional client-certificate
 * authentication. Kept apart from the transport so the link logic does not care which it has.
 */
import net from 'node:net';
import tls from 'node:tls';

/** TLS material as PEM contents (not file paths): configuration reads the files. */
export interface TlsOptions {
  /** Trusted CA certificate(s) for the server; the system store when omitted. */
  ca?: string | Buffer;
  /** Client certificate (for servers that require client authentication). */
  cert?: string | Buffer;
  /** Private key of the client certificate. */
  key?: string | Buffer;
  /** Name the server certificate must carry and SNI; the host name by default (none for IP literals). */
  servername?: string;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
}

export type StreamSocket = net.Socket | tls.TLSSocket;

/** Connection failure, marked when TLS (not TCP) refused it. */
export class ConnectFailure extends Error {
  constructor(message: string, readonly tls: boolean, options?: { cause: unknown }) {
    super(message, options);
  }
}

/** True for OpenSSL and certificate-verification errors (as opposed to plain socket errors). */
export function isTlsError(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException & { library?: string; reason?: string };
  const code = err?.code ?? '';
  return /^ERR_(SSL|TLS)_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code) || typeof err?.library === 'string';
}

/**
 * Resolves once the socket is ready for application data (TCP connected, or TLS handshake done).
 * `hostName` is the name the user gave (for SNI and certificate checks); `address` what it resolved to.
 */
export function connectSocket(address: string, port: number, timeoutMs: number, hostName: string, tlsOptions?: TlsOptions): Promise<StreamSocket> {
  return new Promise((resolve, reject) => {
    const sock: StreamSocket = tlsOptions
      ? tls.connect({
          host: address,
          port,
          ca: tlsOptions.ca,
          cert: tlsOptions.cert,
          key: tlsOptions.key,
          // SNI must not be an IP literal; node then checks the certificate against the address.
          servername: tlsOptions.servername ?? (net.isIP(hostName) ? undefined : hostName),
          rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
        })
      : net.connect({ host: address, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ConnectFailure(`${tlsOptions ? 'TLS connect' : 'connect'} timed out after ${timeoutMs} ms`, false));
    }, timeoutMs);
    sock.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.destroy();
      const viaTls = !!tlsOptions && isTlsError(e);
      reject(new ConnectFailure(viaTls ? `TLS handshake failed: ${e.message}` : e.message, viaTls, { cause: e }));
    });
  });
}

/**
 * Leave a connection with a FIN, reading (and dropping) whatever still arrives until the peer
 * closes, bounded by `boundMs`: destroying it while a reply is in flight makes the kernel answer
 * that reply with an RST, and ts-tvl 2.2 dies on ECONNRESET (known finding
 * ts-tvl-dies-on-connection-reset).
 */
export function retireSocket(sock: net.Socket, boundMs = 2_000): void {
  if (sock.destroyed) return;
  sock.end();
  setTimeout(() => sock.destroy(), boundMs).unref();
}
