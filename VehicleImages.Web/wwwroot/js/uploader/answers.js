// How the uploader reads the server's answers and waits between tries.

// Waits between tries when nothing answers: doubling from 1 s up to 15 s, each drawn between half and all of it
// (so a page's uploads, or many pages after a server restart, do not come back in step).
const backoffFirstMs = 1000;
const backoffCapMs = 15000;

// Capped, jittered: the wait before the try after `attempt` tries with no answer.
export function backoff(attempt) {
  const ceiling = Math.min(backoffCapMs, backoffFirstMs * 2 ** Math.min(attempt, 10));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

// Retry-After in seconds or as an HTTP date; null when absent or unreadable.
export function retryAfterMs(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

export function detail(body) {
  try {
    return JSON.parse(body).detail ?? null;
  } catch {
    return null;
  }
}

export async function reason(response) {
  return detail(await response.text()) ?? `the server answered ${response.status}`;
}

