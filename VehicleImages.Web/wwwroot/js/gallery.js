// The gallery's uploader. Each file goes to the server over tus (POST /api/uploads, then PATCHes,
// see shared/CONTRACT.md) with tus-js-client, three at a time, so a lost connection, a restarted
// server or a reloaded page costs nothing already sent:
// - the picked files are kept in IndexedDB until their outcome is known; when the gallery opens
//   again, they are queued again without anyone picking them (tus-js-client keeps each upload's URL
//   in localStorage and resumes it from the server's offset);
// - before a byte is sent, each file's SHA-256 (hashed a slice at a time, never the whole file in
//   memory) is checked against the vehicle's photos: a file already there is skipped;
// - network errors are retried with backoff; going offline pauses every upload and coming back
//   resumes them, with no click.
// Everything a file supplies (its name, the server's reason) is set with textContent: never markup.
// The login cookie rides along, so every request carries the antiforgery token (fetched once per page).
import { sha256 } from '../lib/noble-hashes/sha2.js';
import '../lib/tus.min.js';

const tus = window.tus;
const parallel = 3;
// Measured with ./bench.sh tus (README): the fastest of 1, 4 and 16 MiB; a file up to this size goes in one PATCH.
const chunkSize = 4 * 1024 * 1024;
const retryDelays = [1000, 2000, 4000, 8000, 15000, 30000, 30000, 30000, 60000, 60000];
const hashSlice = 4 * 1024 * 1024;

export function init(rootId, vehicleId, dotnet) {
  const root = document.getElementById(rootId);
  if (!root || root.dataset.ready) return;
  root.dataset.ready = 'true';
  const input = root.querySelector('#file-input');
  const zone = root.querySelector('#drop-zone');
  const list = root.querySelector('#upload-list');
  const summary = addSummary(root, list);
  const jobs = [];
  let token = null;
  const antiforgery = () => {
    token ??= fetch('api/antiforgery/token', { cache: 'no-store' })
      .then(r => (r.ok ? r.json() : Promise.reject(new Error(`no antiforgery token (${r.status})`))))
      .catch(e => { token = null; throw e; });
    return token;
  };
  const endpoint = new URL('api/uploads', document.baseURI).href;
  // Per vehicle: the same file picked for two vehicles is two uploads.
  const fingerprintOf = file => ['vehicleimages', vehicleId, file.name, file.type, file.size, file.lastModified].join('-');

  const active = () => jobs.filter(j => j.state === 'checking' || j.state === 'uploading').length;
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
    job.row.row.dataset.state = state;
    if (text !== undefined) job.row.outcome.textContent = text;
    job.row.pause.hidden = !(state === 'uploading' || state === 'queued' || state === 'checking');
    job.row.resume.hidden = !(state === 'paused' || state === 'failed');
    job.row.cancel.hidden = ['done', 'cancelled'].includes(state);
  };

  const finish = (job, result) => {
    const kind = result.outcome;
    job.row.bar.value = 100;
    job.sent = job.file.size;
    job.row.row.dataset.outcome = kind;
    setState(job, 'done', kind === 'created' ? 'uploaded'
      : kind === 'duplicate' ? 'already in this vehicle'
      : `rejected: ${result.error ?? 'the server gave no reason'}`);
    forget(job.key);
    dotnet.invokeMethodAsync('UploadFinished', [{ fileName: job.file.name, outcome: kind, imageId: result.imageId ?? null, processingStatus: null, error: result.error ?? null }]);
    pump();
  };

  const fail = (job, text) => {
    setState(job, 'failed', text);
    pump();
  };

  async function start(job) {
    if (job.uploaded) {
      // Every byte was sent; only the outcome was missed (the connection went as it came).
      setState(job, 'checking', 'finishing…');
      return collect(job);
    }
    setState(job, 'checking', 'checking…');
    let header;
    try {
      header = await antiforgery();
      if (await finishedBefore(job)) return;
      job.sha256 ??= await hashFile(job.file);
      if (job.state !== 'checking') return; // paused or cancelled meanwhile
      const answer = await fetch(`api/vehicles/${vehicleId}/images/check`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [header.headerName]: header.requestToken },
        body: JSON.stringify({ sha256: [job.sha256] }),
      });
      if (!answer.ok) throw new Error(await reason(answer));
      const { existing } = await answer.json();
      if (job.state !== 'checking') return;
      if (existing.length > 0) {
        finish(job, { outcome: 'duplicate', imageId: existing[0].imageId });
        return;
      }
    } catch (e) {
      if (!navigator.onLine) { setState(job, 'offline', 'offline: waiting for the connection'); return; }
      fail(job, `failed: ${e.message}`);
      return;
    }

    job.upload ??= new tus.Upload(job.file, {
      endpoint,
      chunkSize,
      retryDelays,
      headers: { [header.headerName]: header.requestToken },
      metadata: { vehicleId, filename: job.file.name, filetype: job.file.type },
      fingerprint: file => Promise.resolve(fingerprintOf(file)),
      removeFingerprintOnSuccess: true,
      onShouldRetry: (err) => {
        if (!navigator.onLine) return false; // the online event resumes it
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        return status === 0 || status === 409 || status === 423 || status === 429 || status >= 500;
      },
      onProgress: (sent, total) => {
        const now = performance.now();
        if (job.mark && now - job.mark.at > 500) {
          job.speed = ((sent - job.mark.sent) / (now - job.mark.at)) * 1000;
          job.mark = { at: now, sent };
        }
        job.mark ??= { at: now, sent };
        job.sent = sent;
        job.row.bar.value = total ? Math.floor((sent / total) * 100) : 100;
        job.row.outcome.textContent = `uploading${job.speed ? ` · ${formatBytes(job.speed)}/s` : ''}`;
      },
      onSuccess: () => { job.uploaded = true; collect(job); },
      onError: err => {
        if (job.state !== 'uploading') return; // paused or cancelled
        if (!navigator.onLine) { setState(job, 'offline', 'offline: waiting for the connection'); return; }
        const response = err.originalResponse;
        const status = response ? response.getStatus() : 0;
        if (response && status >= 400 && status < 500 && status !== 409 && status !== 423 && status !== 429) {
          // The server refused this file for good (too large, vehicle gone…): its reason, and the file is let go.
          finish(job, { outcome: 'rejected', error: detail(response.getBody()) ?? `the server answered ${status}` });
          return;
        }
        fail(job, 'failed: the connection was lost; Resume to try again');
      },
    });
    setState(job, 'uploading', 'uploading');
    job.mark = null;
    const previous = await job.upload.findPreviousUploads();
    if (previous.length > 0) job.upload.resumeFromPreviousUpload(previous[0]);
    if (job.state === 'uploading') job.upload.start();
  }

  // A file whose upload the server had already finished while the answer was lost (going offline, a
  // reload just after the last byte): its outcome, not "already in this vehicle" from the pre-check.
  async function finishedBefore(job) {
    const previous = job.upload?.url ? [{ uploadUrl: job.upload.url }] : [];
    if (job.restored)
      previous.push(...await tus.defaultOptions.urlStorage.findUploadsByFingerprint(fingerprintOf(job.file)).catch(() => []));
    for (const p of previous) {
      const r = await fetch(p.uploadUrl, { cache: 'no-store' }).catch(() => null);
      const body = r?.ok ? await r.json() : null;
      if (body && body.outcome !== 'uploading') {
        if (p.urlStorageKey) tus.defaultOptions.urlStorage.removeUpload(p.urlStorageKey).catch(() => {});
        finish(job, body);
        return true;
      }
    }
    return false;
  }

  // The upload's outcome (created, duplicate or rejected with its reason), from GET on its URL.
  async function collect(job) {
    try {
      finish(job, await outcome(job));
    } catch (e) {
      if (!navigator.onLine) setState(job, 'offline', 'offline: waiting for the connection');
      else fail(job, `failed: ${e.message}`);
    }
  }

  async function outcome(job) {
    // The last PATCH answered once the file was stored; on another instance it may still be finishing.
    for (let attempt = 0; ; attempt++) {
      let r = null;
      try {
        r = await fetch(job.upload.url, { cache: 'no-store' });
      } catch (e) {
        if (!navigator.onLine || attempt >= 5) throw e;
      }
      if (r?.ok) {
        const body = await r.json();
        if (body.outcome !== 'uploading' || attempt >= 30) return body;
      } else if (r && attempt >= 5) {
        throw new Error(await reason(r));
      }
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  }

  const pause = job => {
    if (job.state === 'uploading') job.upload?.abort();
    if (['queued', 'checking', 'uploading', 'offline'].includes(job.state)) setState(job, 'paused', 'paused');
    pump();
  };
  const resume = job => {
    if (job.state === 'paused' || job.state === 'failed') setState(job, 'queued', 'waiting');
    pump();
  };
  const cancel = job => {
    const wasUploading = job.state === 'uploading' || job.upload?.url;
    if (job.upload && wasUploading) job.upload.abort(true).catch(() => {}); // termination: the server drops its bytes
    setState(job, 'cancelled', 'cancelled');
    job.row.row.dataset.outcome = 'cancelled';
    forget(job.key);
    pump();
  };

  const add = (file, key, restored) => {
    const job = { key, file, restored, state: 'queued', sent: 0, row: addRow(list, file) };
    job.row.pause.onclick = () => pause(job);
    job.row.resume.onclick = () => resume(job);
    job.row.cancel.onclick = () => cancel(job);
    setState(job, 'queued', restored ? 'waiting (kept from before the page was closed)' : 'waiting');
    jobs.push(job);
    return job;
  };

  const enqueue = async files => {
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

  window.addEventListener('offline', () => {
    for (const job of jobs) {
      if (job.state === 'uploading') job.upload?.abort();
      if (job.state === 'uploading' || job.state === 'checking') setState(job, 'offline', 'offline: waiting for the connection');
    }
    render();
  });
  window.addEventListener('online', () => {
    for (const job of jobs) if (job.state === 'offline') setState(job, 'queued', 'waiting');
    pump();
  });

  function render() {
    const total = jobs.filter(j => j.state !== 'cancelled');
    const finished = total.filter(j => j.state === 'done').length;
    const left = total.filter(j => j.state !== 'done').reduce((sum, j) => sum + (j.file.size - (j.sent || 0)), 0);
    const speed = jobs.filter(j => j.state === 'uploading').reduce((sum, j) => sum + (j.speed || 0), 0);
    summary.root.hidden = total.length === 0;
    const all = total.reduce((sum, j) => sum + j.file.size, 0);
    summary.bar.value = all ? Math.floor(((all - left) / all) * 100) : 0;
    const eta = speed > 0 && left > 0 ? `, about ${formatDuration(left / speed)}` : '';
    const offline = navigator.onLine ? '' : ' · offline, resumes by itself';
    summary.text.textContent = `${finished} of ${total.length}, ${formatBytes(left)} left${eta}${offline}`;
    summary.root.dataset.finished = String(finished);
    summary.root.dataset.total = String(total.length);
  }
  setInterval(render, 500);

  input.addEventListener('change', () => { enqueue([...input.files]); input.value = ''; });
  zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('drag-over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('drag-over'));
  zone.addEventListener('drop', e => {
    e.preventDefault();
    zone.classList.remove('drag-over');
    enqueue([...e.dataTransfer.files]);
  });

  // Files picked before the page was closed or reloaded: back in the queue, nobody picks them again.
  recall(vehicleId).then(kept => {
    for (const entry of kept) add(entry.file, entry.key, true);
    pump();
  }, () => {});
}

// --- kept files (IndexedDB keeps the File itself; the browser stores its bytes on disk, not in memory)

const dbName = 'vehicleimages-uploads';
const storeName = 'files';
let database = null;
function db() {
  database ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(storeName, { keyPath: 'key' }).createIndex('vehicleId', 'vehicleId');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return database;
}
async function request(mode, act) {
  const tx = (await db()).transaction(storeName, mode);
  const req = act(tx.objectStore(storeName));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}
const remember = entry => request('readwrite', s => s.put(entry));
const forget = key => request('readwrite', s => s.delete(key)).catch(() => {});
const recall = async vehicleId => {
  const all = await request('readonly', s => s.index('vehicleId').getAll(vehicleId));
  return all.sort((a, b) => a.addedAt - b.addedAt);
};

// --- helpers

async function hashFile(file) {
  const hash = sha256.create();
  for (let at = 0; at < file.size; at += hashSlice)
    hash.update(new Uint8Array(await file.slice(at, at + hashSlice).arrayBuffer()));
  return [...hash.digest()].map(b => b.toString(16).padStart(2, '0')).join('');
}

function detail(body) {
  try {
    return JSON.parse(body).detail ?? null;
  } catch {
    return null;
  }
}

async function reason(response) {
  return detail(await response.text()) ?? `the server answered ${response.status}`;
}

function formatBytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${Math.round(n)} B`;
}

function formatDuration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function button(label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'upload-action';
  b.textContent = label;
  return b;
}

function addSummary(root, list) {
  const box = document.createElement('div');
  box.id = 'upload-summary';
  box.hidden = true;
  const text = document.createElement('span');
  text.className = 'upload-summary-text';
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  const pauseAll = button('Pause all');
  const resumeAll = button('Resume all');
  const cancelAll = button('Cancel all');
  box.append(text, bar, pauseAll, resumeAll, cancelAll);
  root.insertBefore(box, list);
  return { root: box, text, bar, pauseAll, resumeAll, cancelAll };
}

function addRow(list, file) {
  const row = document.createElement('div');
  row.className = 'upload-row';
  const name = document.createElement('span');
  name.className = 'upload-name';
  name.textContent = file.name;
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  const outcome = document.createElement('span');
  outcome.className = 'upload-outcome';
  const pause = button('Pause');
  const resume = button('Resume');
  const cancel = button('Cancel');
  row.append(name, bar, outcome, pause, resume, cancel);
  list.append(row);
  return { row, bar, outcome, pause, resume, cancel };
}
