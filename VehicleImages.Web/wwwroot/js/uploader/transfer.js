// One go at a file, the uploader's part that talks to the server: the pre-check (finished before? already in the
// vehicle?), the tus upload from the server's offset, and the outcome read, until an answer ends the file or the person
// stops it. Only answers end a file (uploader.js tells the whole story); the uploader keeps the queue, rows and states.
import '../../lib/tus.min.js';
import { backoff, retryAfterMs, detail } from './answers.js';
import { hashFile } from './hashing.js';
import { reloadBrokenThumbnails, formatBytes } from './rows.js';

const tus = window.tus;
// Measured with ./bench.sh tus (README): the fastest of 1, 4 and 16 MiB; a file up to this size goes in one PATCH.
const chunkSize = 4 * 1024 * 1024;
// A 5xx is an answer: after this many in a row (no byte moved between them) the file fails with the server's reason.
const serverErrorLimit = 10;
// A check or an outcome read with no answer after this long is a request with no answer.
const requestTimeoutMs = 30000;
// A tus request (creation, HEAD, PATCH) with neither progress nor an answer for this long is one with no
// answer; the last PATCH's answer waits for the ingest (decode and variants), which takes seconds, not this.
const stallMs = 90000;
// Reads of an outcome the server is still finishing (the last PATCH answered on another instance).
const finishingReads = 60;

// A run stopped where it was (a pause, a cancel, going offline): whatever it awaited ends with this, quietly.
class Stopped extends Error {}
// A tus request with neither progress nor an answer for stallMs: as good as no answer.
class NoAnswer extends Error {}
// An answer that ends the file as failed (a 5xx too many times, a refusal of the pre-check): the server's reason.
class Failed extends Error {}

// The runs of one uploader's files. `jobs` is the uploader's list (a file resting for the connection wakes when any
// request is answered again); setState, progress, finish and fail are how a run shows itself and ends.
export function transfers({ vehicleId, jobs, setState, progress, finish, fail }) {
  let token = null;
  const endpoint = new URL('api/uploads', document.baseURI).href;
  // Per vehicle: the same file picked for two vehicles is two uploads.
  const fingerprintOf = file => ['vehicleimages', vehicleId, file.name, file.type, file.size, file.lastModified].join('-');

  // The connection: `silent` once a request got no answer, until one gets an answer again; then every file
  // resting for want of an answer tries at once, and thumbnails that failed meanwhile load again.
  let silent = false;
  const heard = () => {
    if (!silent) return;
    silent = false;
    for (const job of jobs) if (job.run?.resting === 'connection') job.run.wake?.();
    reloadBrokenThumbnails(true);
  };

  const stopRun = job => {
    const run = job.run;
    job.run = null;
    if (run) {
      run.stopped = true;
      run.controller.abort();
      run.wake?.();
      run.settle?.reject(new Stopped());
    }
    job.upload?.abort();
  };

  // Waits `ms` (less when woken: an answer elsewhere, the online event) showing why, then shows what it did before.
  const rest = async (job, run, ms, why, kind) => {
    const before = { state: job.state, text: job.row.outcome.textContent };
    setState(job, 'retrying', why);
    await new Promise(resolve => {
      const wake = () => {
        clearTimeout(timer);
        run.wake = null;
        run.resting = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      run.wake = wake;
      run.resting = kind;
    });
    if (run.stopped) throw new Stopped();
    setState(job, before.state, before.text);
  };
  const waitingText = 'waiting for the connection (tries again by itself)';

  // Sends a request until it gets an answer: with none (a network error, a reset, a timeout) it waits and sends
  // again for as long as the page is open; a 429 waits out Retry-After; a 5xx is tried again up to
  // serverErrorLimit times, then ends the file with the server's reason. Any other answer is returned with its body.
  async function ask(job, run, send) {
    let quiet = 0;
    let serverErrors = 0;
    for (;;) {
      let answer = null;
      try {
        const response = await send(AbortSignal.any([run.controller.signal, AbortSignal.timeout(requestTimeoutMs)]));
        // A body cut off half-way is no answer either.
        answer = { response, body: await response.text() };
      } catch {
        // TypeError: no answer (network error, reset); TimeoutError: none in time; AbortError: stopped.
      }
      if (run.stopped) throw new Stopped();
      if (answer === null) {
        silent = true;
        await rest(job, run, backoff(quiet++), waitingText, 'connection');
        continue;
      }
      heard();
      const status = answer.response.status;
      if (status === 429) {
        await rest(job, run, retryAfterMs(answer.response.headers.get('Retry-After')) ?? backoff(quiet++), 'the server asks to wait; trying again by itself', 'busy');
        continue;
      }
      if (status >= 500) {
        const why = detail(answer.body) ?? `the server answered ${status}`;
        if (++serverErrors > serverErrorLimit) throw new Failed(why);
        await rest(job, run, backoff(serverErrors - 1), `${why}; trying again (${serverErrors} of ${serverErrorLimit})`, 'server');
        continue;
      }
      return answer;
    }
  }

  const antiforgery = async (job, run) => {
    if (token) return token;
    const { response, body } = await ask(job, run, signal => fetch('api/antiforgery/token', { cache: 'no-store', signal }));
    if (!response.ok) throw new Failed(detail(body) ?? `no antiforgery token (${response.status})`);
    token = JSON.parse(body);
    return token;
  };

  async function start(job) {
    stopRun(job);
    const run = job.run = { stopped: false, controller: new AbortController(), wake: null, settle: null, resting: null };
    try {
      let result = null;
      if (!job.uploaded) {
        setState(job, 'checking', 'checking…');
        result = await check(job, run) ?? await send(job, run);
      }
      if (result === null) {
        // Every byte was sent (now or before the connection went): the outcome is the server's to tell.
        job.uploaded = true;
        setState(job, 'checking', 'finishing…');
        result = await outcome(job, run);
      }
      if (job.run === run) finish(job, result);
    } catch (e) {
      if (e instanceof Stopped || run.stopped) return;
      fail(job, `failed: ${e.message}`);
    }
  }

  // The pre-check: the file's outcome when the server already finished its upload, "duplicate" when the vehicle
  // has its bytes, else null (send it).
  async function check(job, run) {
    const header = await antiforgery(job, run);
    const before = await finishedBefore(job, run);
    if (before) return before;
    job.sha256 ??= await hashFile(job.file);
    if (run.stopped) throw new Stopped();
    const { response, body } = await ask(job, run, signal => fetch(`api/vehicles/${vehicleId}/images/check`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [header.headerName]: header.requestToken },
      body: JSON.stringify({ sha256: [job.sha256] }),
      signal,
    }));
    if (!response.ok) throw new Failed(detail(body) ?? `the server answered ${response.status}`);
    const { existing } = JSON.parse(body);
    return existing.length > 0 ? { outcome: 'duplicate', imageId: existing[0].imageId } : null;
  }

  // A file whose upload the server had already finished while the answer was lost (going offline, a
  // reload just after the last byte): its outcome, not "already in this vehicle" from the pre-check.
  async function finishedBefore(job, run) {
    const previous = job.upload?.url ? [{ uploadUrl: job.upload.url }] : [];
    if (job.restored)
      previous.push(...await tus.defaultOptions.urlStorage.findUploadsByFingerprint(fingerprintOf(job.file)).catch(() => []));
    for (const p of previous) {
      const { response, body } = await ask(job, run, signal => fetch(p.uploadUrl, { cache: 'no-store', signal }));
      const result = response.ok ? JSON.parse(body) : null;
      if (result && result.outcome !== 'uploading') {
        if (p.urlStorageKey) tus.defaultOptions.urlStorage.removeUpload(p.urlStorageKey).catch(() => {});
        return result;
      }
    }
    return null;
  }

  // The tus upload, from the server's offset (HEAD) whenever it goes again. Null once every byte is
  // acknowledged; the "rejected" outcome when the server refuses the file for good.
  async function send(job, run) {
    const header = await antiforgery(job, run);
    if (!job.upload) {
      job.upload = new tus.Upload(job.file, {
        endpoint,
        chunkSize,
        retryDelays: null, // retried here: tus-js-client gives up after its last delay, and it trusts navigator.onLine
        headers: { [header.headerName]: header.requestToken },
        metadata: { vehicleId, filename: job.file.name, filetype: job.file.type },
        fingerprint: file => Promise.resolve(fingerprintOf(file)),
        removeFingerprintOnSuccess: true,
        onProgress: (sent, total) => {
          const now = performance.now();
          job.lastSign = now;
          if (job.mark && now - job.mark.at > 500) {
            job.speed = ((sent - job.mark.sent) / (now - job.mark.at)) * 1000;
            job.mark = { at: now, sent };
          }
          job.mark ??= { at: now, sent };
          job.sent = sent;
          progress(job, total ? Math.floor((sent / total) * 100) : 100);
          if (job.state === 'uploading') job.row.outcome.textContent = `uploading${job.speed ? ` · ${formatBytes(job.speed)}/s` : ''}`;
        },
        onChunkComplete: (_, accepted) => { job.lastSign = performance.now(); job.accepted = accepted; },
        onSuccess: () => job.run?.settle?.resolve(),
        onError: err => job.run?.settle?.reject(err),
      });
      const previous = await job.upload.findPreviousUploads();
      if (previous.length > 0) job.upload.resumeFromPreviousUpload(previous[0]);
    }
    let quiet = 0;
    let serverErrors = 0;
    let conflicts = 0;
    for (;;) {
      if (run.stopped) throw new Stopped();
      setState(job, 'uploading', 'uploading');
      job.mark = null;
      const acceptedBefore = job.accepted ?? 0;
      let err;
      try {
        await once(job, run);
        return null;
      } catch (e) {
        err = e;
      }
      if (run.stopped || err instanceof Stopped) throw new Stopped();
      if (!(err instanceof NoAnswer) && !err.originalRequest) throw err; // not a request's failure (the file could not be read…)
      if ((job.accepted ?? 0) > acceptedBefore) {
        quiet = 0;
        serverErrors = 0;
        conflicts = 0;
      }
      const response = err.originalResponse ?? null;
      const status = response ? response.getStatus() : 0;
      if (status === 0) {
        silent = true;
        await rest(job, run, backoff(quiet++), waitingText, 'connection');
        continue;
      }
      heard();
      if (status === 429) {
        await rest(job, run, retryAfterMs(response.getHeader('Retry-After')) ?? backoff(quiet++), 'the server asks to wait; trying again by itself', 'busy');
      } else if (status === 409 || status === 423) {
        // Another request moved the offset or holds the upload: the next go asks the server where it stands (HEAD).
        // Bounded like a 5xx: a server that says so forever, with no byte moving, is an answer too.
        if (++conflicts > serverErrorLimit)
          throw new Failed(detail(response.getBody()) ?? `the server kept answering ${status}`);
        await rest(job, run, backoff(Math.min(quiet++, 3)), 'resuming from where the server stands', 'conflict');
      } else if (status >= 500) {
        const why = detail(response.getBody()) ?? `the server answered ${status}`;
        if (++serverErrors > serverErrorLimit) throw new Failed(why);
        await rest(job, run, backoff(serverErrors - 1), `${why}; trying again (${serverErrors} of ${serverErrorLimit})`, 'server');
      } else {
        // The server refused this file for good (too large, vehicle gone…): its reason, and the file is let go.
        return { outcome: 'rejected', error: detail(response.getBody()) ?? `the server answered ${status}` };
      }
    }
  }

  // One start of the tus upload (a creation, or a HEAD and PATCHes from the server's offset) until its last byte
  // is acknowledged or a request fails; a request with neither progress nor an answer for stallMs counts as no answer.
  function once(job, run) {
    return new Promise((resolve, reject) => {
      job.lastSign = performance.now();
      const watch = setInterval(() => {
        if (performance.now() - job.lastSign < stallMs) return;
        job.upload.abort();
        run.settle.reject(new NoAnswer('no answer'));
      }, 1000);
      const settled = () => {
        clearInterval(watch);
        run.settle = null;
      };
      run.settle = {
        resolve: () => { settled(); resolve(); },
        reject: e => { settled(); reject(e); },
      };
      job.upload.start();
    });
  }

  // The upload's outcome (created, duplicate or rejected with its reason), from GET on its URL.
  async function outcome(job, run) {
    // The last PATCH answered once the file was stored; on another instance it may still be finishing.
    for (let read = 1; ; read++) {
      const { response, body } = await ask(job, run, signal => fetch(job.upload.url, { cache: 'no-store', signal }));
      if (!response.ok) throw new Failed(detail(body) ?? `the server answered ${response.status}`);
      const result = JSON.parse(body);
      if (result.outcome !== 'uploading') return result;
      if (read >= finishingReads) throw new Failed('the server has not finished this file yet; Retry to ask again');
      await rest(job, run, 1000, 'finishing…', 'finishing');
    }
  }

  return { start, stop: stopRun };
}
