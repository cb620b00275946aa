// A file's SHA-256, a slice at a time (never the whole file in memory), for the duplicate pre-check.
import { sha256 } from '../../lib/noble-hashes/sha2.js';

const hashSlice = 4 * 1024 * 1024;

export async function hashFile(file) {
  const hash = sha256.create();
  for (let at = 0; at < file.size; at += hashSlice)
    hash.update(new Uint8Array(await file.slice(at, at + hashSlice).arrayBuffer()));
  return [...hash.digest()].map(b => b.toString(16).padStart(2, '0')).join('');
}
