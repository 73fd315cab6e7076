/**
 * The engine's Web Worker (a module worker): `new Worker(url, { type: 'module' })`, then speak
 * the protocol in protocol.ts, most easily through EngineClient (client.ts).
 */
import { EngineHost } from './host.js';
import type { RequestMessage } from './protocol.js';

// This file sits two folders below the package root both as source (src/worker/) and as built
// (dist/components/), so the default model's folder is found the same way from either.
// (A variable, so bundlers do not treat the folder as an asset.)
const relative = '../../models/';
const modelsUrl = new URL(relative, import.meta.url).href;

const scope = self as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<RequestMessage>) => void): void;
};
const host = new EngineHost((message, transfer) => scope.postMessage(message, transfer), modelsUrl);
scope.addEventListener('message', (event) => host.receive(event.data));
