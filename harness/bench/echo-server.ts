/**
 * The benchmark's floor: a tagged-message echo server that does nothing else. Each read is
 * answered with one write holding every complete message it carried (as a model server answers a
 * pipelined chip-select window), Nagle off.
 *
 * Run as a script (`node dist/harness/bench/echo-server.js [port]`) it serves on 127.0.0.1 in its
 * own process and prints its port on stdout: a round trip to it crosses processes, as one to the
 * model process, the model container or ts-tvl does. It exits on SIGTERM or SIGINT, and when its
 * stdin closes (the benchmark that started it has gone).
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { TaggedFrameParser, encodeFrame } from '../protocol/tagged-frame.js';
import { CliError } from '../errors.js';

export function createEchoServer(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true);
    const parser = new TaggedFrameParser();
    s.on('data', (d) => {
      const replies = parser.push(d).map((f) => encodeFrame(f.tag, f.payload));
      if (replies.length) s.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies));
    });
    // A client that goes away mid-write is not the server's failure.
    s.on('error', () => s.destroy());
  });
}

function serveStandalone(portArg: string | undefined): void {
  const port = portArg === undefined ? 0 : Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`echo-server: the port must be an integer in 0..65535, got ${JSON.stringify(portArg)}`);
  const server = createEchoServer();
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop).on('close', stop).resume();
  server.listen(port, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) serveStandalone(process.argv[2]);
