// The gallery's uploader (the gallery page imports this module; its parts are the modules beside it). Each file goes to the server over tus (POST /api/uploads, then PATCHes,
// see shared/CONTRACT.md) with tus-js-client, three at a time, so a lost connection, a restarted
// server or a reloaded page costs nothing already sent:
// - the picked files are kept in IndexedDB until their outcome is known; when the gallery opens
//   again, they are queued again without anyone picking them (tus-js-client keeps each upload's URL
//   in localStorage and resumes it from the server's offset);
// - before a byte is sent, each file's SHA-256 (hashed a slice at a time, never the whole file in
//   memory) is checked against the vehicle's photos: a file already there is skipped;
// - only answers end a file, never their absence. Every request of an upload (the pre-check, the
//   tus creation, its PATCHes and HEADs, the outcome read) that gets no answer (a network error, a
//   reset, a timeout) is sent again, with capped and jittered backoff, for as long as the page is
//   open, until the person pauses or cancels: the file shows "waiting for the connection". A 429
//   waits out Retry-After; a 409 or 423 resumes from HEAD; a 5xx, or a 409/423 with no byte moving, is
//   tried again up to serverErrorLimit times, then the file fails with the server's reason and a Retry button.
//   navigator.onLine is not trusted to be false during an outage (a Wi-Fi drop, a captive portal, a
//   VPN reconnecting, a server restarting all keep it true); going offline still pauses every upload
//   at once and coming back resumes them, with no click.
// Everything a file supplies (its name, the server's reason) is set with textContent: never markup.
// The login cookie rides along, so every request carries the antiforgery token (fetched once per page).
import '../../lib/tus.min.js';
import { backoff, retryAfterMs, detail, reason } from './answers.js';
import { hashFile } from './hashing.js';
import { remember, forget, recall } from './kept-files.js';
import { reloadBrokenThumbnails, formatBytes, formatDuration, button, progressBar, dropZoneAsButton, addSummary, addRow } from './rows.js';

const tus = window.tus;
const parallel = 3;
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

// One uploader per vehicle for as long as the page's script runs. When Blazor draws the gallery again (a new
// circuit after the server restarted, or navigating away and back), the uploader moves its rows into the new
// markup and carries on: its uploads neither stop nor start twice.
const uploaders = new Map();

export function init(rootId, vehicleId, dotnet) {
  const root = document.getElementById(rootId);
  if (!root || root.dataset.ready) return;
  root.dataset.ready = 'true';
  const uploader = uploaders.get(vehicleId);
  if (uploader) uploader.attach(root, dotnet);
  else uploaders.set(vehicleId, create(root, vehicleId, dotnet));
}

function create(root, vehicleId, dotnet) {
  let list = root.querySelector('#upload-list');
  const summary = addSummary(root, list);
  const jobs = [];
  let batch = null; // the files picked since the list was last idle, for the announcement when they are all through
  let token = null;
  const endpoint = new URL('api/uploads', document.baseURI).href;
  // Per vehicle: the same file picked for two vehicles is two uploads.
  const fingerprintOf = file => ['vehicleimages', vehicleId, file.name, file.type, file.size, file.lastModified].join('-');

  const running = job => ['checking', 'uploading', 'retrying'].includes(job.state);
  const active = () => jobs.filter(running).length;
  const pump = () => {
    if (!navigator.onLine) return;
    for (const job of jobs) {
      if (active() >= parallel) break;
      if (job.state === 'queued') start(job);
    }
    render();
  };

  const setState = (job, state, text) => {
    job.state = state;
    const row = job.row;
    row.row.dataset.state = state;
    if (text !== undefined) row.outcome.textContent = text;
    row.pause.hidden = !(running(job) || state === 'queued' || state === 'offline');
    row.resume.hidden = state !== 'paused';
    row.retry.hidden = state !== 'failed';
    row.cancel.hidden = ['done', 'cancelled'].includes(state);
  };

  const progress = (job, percent) => {
    job.row.bar.value = percent;
    job.row.bar.setAttribute('aria-valuenow', String(percent));
  };

  // The batch's finished rows, kept for this tab: a page that loads again mid-batch (Blazor reloads it when the
  // server restarted and no longer knows its circuit) shows them again beside the kept files, so the overall line
  // still counts the whole batch ("20 of 20"), not only the files that were still on their way.
  const finishedKey = `vehicleimages-finished-${vehicleId}`;
  const keptFinished = () => {
    try { return JSON.parse(sessionStorage.getItem(finishedKey) ?? '[]'); } catch { return []; }
  };
  const keepFinished = entries => {
    try { sessionStorage.setItem(finishedKey, JSON.stringify(entries)); } catch { /* storage refused: only the count suffers */ }
  };

  const finish = (job, result) => {
    const kind = result.outcome;
    job.run = null;
    progress(job, 100);
    job.sent = job.file.size;
    job.row.row.dataset.outcome = kind;
    const text = kind === 'created' ? 'uploaded'
      : kind === 'duplicate' ? 'already in this vehicle'
      : `rejected: ${result.error ?? 'the server gave no reason'}`;
    setState(job, 'done', text);
    keepFinished([...keptFinished(), { name: job.file.name, size: job.file.size, outcome: kind, text }]);
    forget(job.key);
    // The circuit may be gone (the server restarted): the page shows the photo when it loads again.
    try {
      dotnet.invokeMethodAsync('UploadFinished', [{ fileName: job.file.name, outcome: kind, imageId: result.imageId ?? null, processingStatus: null, error: result.error ?? null }])
        .catch(() => {});
    } catch {
      // A reference the gallery already released: nothing to tell.
    }
    pump();
  };

  const fail = (job, text) => {
    job.run = null;
    setState(job, 'failed', text);
    pump();
  };

  // --- one go at a file: from its pre-check to its outcome, until an answer ends it or the person stops it

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
    let conflicts = 0;
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

  const pause = job => {
    if (running(job)) stopRun(job);
    if (running(job) || ['queued', 'offline'].includes(job.state)) setState(job, 'paused', 'paused');
    pump();
  };
  const resume = job => {
    if (job.state === 'paused' || job.state === 'failed') setState(job, 'queued', 'waiting');
    pump();
  };
  const cancel = job => {
    stopRun(job);
    if (job.upload?.url) job.upload.abort(true).catch(() => {}); // termination: the server drops its bytes
    setState(job, 'cancelled', 'cancelled');
    job.row.row.dataset.outcome = 'cancelled';
    forget(job.key);
    pump();
  };

  const add = (file, key, restored) => {
    const job = { key, file, restored, state: 'queued', sent: 0, row: addRow(list, file) };
    if (restored) job.row.row.dataset.kept = 'true'; // taken back from the browser's storage after a reload
    job.row.pause.onclick = () => pause(job);
    job.row.resume.onclick = () => resume(job);
    job.row.retry.onclick = () => resume(job);
    job.row.cancel.onclick = () => cancel(job);
    setState(job, 'queued', restored ? 'waiting (kept from before the page was closed)' : 'waiting');
    jobs.push(job);
    batch ??= { from: jobs.length - 1 };
    return job;
  };

  const enqueue = async files => {
    if (files.length > 0 && !batch)
      announce(`Uploading ${files.length} ${files.length === 1 ? 'photo' : 'photos'}`);
    for (const file of files) {
      const key = crypto.randomUUID();
      try {
        await remember({ key, vehicleId, file, addedAt: Date.now() });
      } catch {
        // Private windows may refuse storage: the upload still runs, it only cannot survive a reload.
      }
      add(file, key, false);
      pump();
    }
  };

  summary.pauseAll.onclick = () => jobs.forEach(pause);
  summary.resumeAll.onclick = () => jobs.forEach(resume);
  summary.cancelAll.onclick = () => jobs.filter(j => !['done', 'cancelled'].includes(j.state)).forEach(cancel);

  // The browser says the network is gone: every upload pauses at once (no request is spent on it) and goes on
  // by itself when it says the network is back. Not the only sign: requests failing while it says online are
  // retried above.
  window.addEventListener('offline', () => {
    for (const job of jobs) {
      if (!running(job)) continue;
      stopRun(job);
      setState(job, 'offline', 'offline: waiting for the connection');
    }
    render();
  });
  window.addEventListener('online', () => {
    for (const job of jobs) {
      if (job.state === 'offline') setState(job, 'queued', 'waiting');
      else if (job.run?.resting === 'connection') job.run.wake?.();
    }
    reloadBrokenThumbnails(true);
    pump();
  });

  const announce = text => {
    // Cleared first, so the same words said twice are announced twice.
    summary.live.textContent = '';
    setTimeout(() => { summary.live.textContent = text; }, 100);
  };

  function render() {
    const total = jobs.filter(j => j.state !== 'cancelled');
    const finished = total.filter(j => j.state === 'done').length;
    const left = total.filter(j => j.state !== 'done').reduce((sum, j) => sum + (j.file.size - (j.sent || 0)), 0);
    const speed = jobs.filter(j => j.state === 'uploading').reduce((sum, j) => sum + (j.speed || 0), 0);
    summary.root.hidden = total.length === 0;
    const all = total.reduce((sum, j) => sum + j.file.size, 0);
    const percent = all ? Math.floor(((all - left) / all) * 100) : 0;
    summary.bar.value = percent;
    summary.bar.setAttribute('aria-valuenow', String(percent));
    const eta = speed > 0 && left > 0 ? `, about ${formatDuration(left / speed)}` : '';
    const waiting = !navigator.onLine ? ' · offline, resumes by itself'
      : jobs.some(j => j.run?.resting === 'connection') ? ' · waiting for the connection, resumes by itself' : '';
    summary.text.textContent = `${finished} of ${total.length}, ${formatBytes(left)} left${eta}${waiting}`;
    summary.root.dataset.finished = String(finished);
    summary.root.dataset.total = String(total.length);
    // The batch is through when no file of it is waiting its turn or on its way: one announcement of how it went.
    if (batch && !jobs.some(j => running(j) || j.state === 'queued' || j.state === 'offline')) {
      const mine = jobs.slice(batch.from);
      batch = null;
      keepFinished([]); // through: a later reload has nothing of this batch to show again
      const count = (test, words) => { const n = mine.filter(test).length; return n ? [`${n} ${words}`] : []; };
      announce(['Uploads done:',
        [...count(j => j.row.row.dataset.outcome === 'created', 'uploaded'),
          ...count(j => j.row.row.dataset.outcome === 'duplicate', 'already in this vehicle'),
          ...count(j => j.row.row.dataset.outcome === 'rejected', 'rejected'),
          ...count(j => j.state === 'failed', 'failed'),
          ...count(j => j.state === 'paused', 'paused'),
          ...count(j => j.state === 'cancelled', 'cancelled')].join(', ')].join(' '));
    }
  }
  setInterval(render, 500);
  // A thumbnail that failed while the connection was gone and is not shown again by an answer or the online event.
  setInterval(() => reloadBrokenThumbnails(false), 10000);

  // The markup Blazor draws: the file input, the drop zone (a button for keyboards too) and the list.
  const wire = (into, dotnetNow) => {
    dotnet = dotnetNow;
    const input = into.querySelector('#file-input');
    const zone = into.querySelector('#drop-zone');
    list = into.querySelector('#upload-list');
    // One polite announcement per batch (summary.live), not one per photo: the list itself is not a live region.
    list.removeAttribute('aria-live');
    list.setAttribute('role', 'list');
    list.setAttribute('aria-label', 'Uploads');
    into.insertBefore(summary.live, list);
    into.insertBefore(summary.root, list);
    for (const job of jobs) list.append(job.row.row);
    dropZoneAsButton(zone, input);
    input.addEventListener('change', () => { enqueue([...input.files]); input.value = ''; });
    zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('drag-over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('drag-over'));
    zone.addEventListener('drop', e => {
      e.preventDefault();
      zone.classList.remove('drag-over');
      enqueue([...e.dataTransfer.files]);
    });
  };
  wire(root, dotnet);

  // Files picked before the page was closed or reloaded: back in the queue, nobody picks them again.
  recall(vehicleId).then(kept => {
    if (kept.length > 0) announce(`Resuming ${kept.length} ${kept.length === 1 ? 'upload' : 'uploads'} from before the page was closed`);
    // The batch was interrupted: its finished rows come back first, as they were.
    for (const entry of kept.length > 0 ? keptFinished() : []) {
      const file = { name: entry.name, size: entry.size };
      const job = { key: null, file, restored: true, state: 'done', sent: entry.size, row: addRow(list, file) };
      job.row.row.dataset.outcome = entry.outcome;
      progress(job, 100);
      setState(job, 'done', entry.text);
      jobs.push(job);
    }
    if (kept.length === 0) keepFinished([]);
    for (const entry of kept) add(entry.file, entry.key, true);
    pump();
  }, () => {}).finally(() => { root.dataset.restored = 'true'; });
  return {
    attach: (into, dotnetNow) => {
      wire(into, dotnetNow);
      into.dataset.restored = 'true';
      render();
    },
  };
}
