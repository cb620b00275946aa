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
import { transfers } from './transfer.js';
import { remember, forget, recall } from './kept-files.js';
import { reloadBrokenThumbnails, formatBytes, formatDuration, dropZoneAsButton, addSummary, addRow } from './rows.js';

const parallel = 3;
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

  const transfer = transfers({ vehicleId, jobs, setState, progress, finish, fail });
  const { start, stop: stopRun } = transfer;

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
