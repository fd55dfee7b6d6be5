/**
 * Decode worker thread (started by decode-pool.ts): one image per message, decoded by the same
 * function the main thread uses; refusals come back as their code and message.
 */
import { parentPort } from 'node:worker_threads';
import { decodeCheckedImage } from './decode';
import { ImageDecodeError } from './decode-limits';
import type { ImageHeader } from './image-header';

export interface DecodeRequest {
  bytes: Uint8Array;
  header: ImageHeader;
}

export type DecodeReply = { ok: true; pixels: Uint8Array } | { ok: false; code: ImageDecodeError['code']; message: string };

parentPort?.on('message', async ({ bytes, header }: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    reply = { ok: true, pixels: await decodeCheckedImage(bytes, header) };
  } catch (err) {
    const code = err instanceof ImageDecodeError ? err.code : 'corrupt_image';
    reply = { ok: false, code, message: (err as Error).message };
  }
  parentPort?.postMessage(reply, reply.ok ? [reply.pixels.buffer as ArrayBuffer] : []);
});
