// Uploads go straight from the browser to POST /api/vehicles/{id}/images (not through the Blazor
// circuit), one request per file, two at a time, each with its own progress bar and outcome.
// Everything a file supplies (its name, the server's reason) is set with textContent: never markup.
// Each upload's answer goes to the page, which adds the photos it created without reloading its list.
// The login cookie rides along, so each upload also carries the antiforgery token (fetched once per page).
const parallel = 2;

export function init(rootId, vehicleId, dotnet) {
  const root = document.getElementById(rootId);
  if (!root || root.dataset.ready) return;
  const input = root.querySelector('#file-input');
  const zone = root.querySelector('#drop-zone');
  const list = root.querySelector('#upload-list');
  const queue = [];
  let running = 0;
  let token = null;
  const antiforgery = () => {
    token ??= fetch('api/antiforgery/token', { cache: 'no-store' })
      .then(r => (r.ok ? r.json() : Promise.reject(new Error(`no antiforgery token (${r.status})`))))
      .catch(e => { token = null; throw e; });
    return token;
  };

  const enqueue = files => {
    for (const file of files) queue.push({ file, row: addRow(list, file) });
    pump();
  };
  const pump = () => {
    while (running < parallel && queue.length > 0) {
      const job = queue.shift();
      running++;
      upload(vehicleId, job, antiforgery).then(results => {
        running--;
        dotnet.invokeMethodAsync('UploadFinished', results);
        pump();
      });
    }
  };

  input.addEventListener('change', () => { enqueue([...input.files]); input.value = ''; });
  zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('drag-over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('drag-over'));
  zone.addEventListener('drop', e => {
    e.preventDefault();
    zone.classList.remove('drag-over');
    enqueue([...e.dataTransfer.files]);
  });
  root.dataset.ready = 'true';
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
  outcome.textContent = 'waiting';
  row.append(name, bar, outcome);
  list.prepend(row);
  return { row, bar, outcome };
}

// Resolves (never rejects) with the server's per-file results, or [] when there are none.
async function upload(vehicleId, { file, row }, antiforgery) {
  let header;
  try {
    header = await antiforgery();
  } catch {
    row.outcome.textContent = 'failed: no upload token from the server (still signed in?)';
    row.row.dataset.outcome = 'rejected';
    return [];
  }
  return new Promise(resolve => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append('files', file, file.name);
    xhr.open('POST', `api/vehicles/${vehicleId}/images`);
    xhr.setRequestHeader(header.headerName, header.requestToken);
    xhr.upload.onprogress = e => {
      if (e.lengthComputable) row.bar.value = Math.round((e.loaded / e.total) * 100);
      row.outcome.textContent = 'uploading';
    };
    xhr.onload = () => {
      // Over the upload rate limit: wait as long as the server says, then send this file again.
      if (xhr.status === 429) {
        const wait = Math.max(1, Number(xhr.getResponseHeader('Retry-After')) || 5);
        row.outcome.textContent = `waiting ${wait} s (upload limit)`;
        setTimeout(() => upload(vehicleId, { file, row }).then(resolve), wait * 1000);
        return;
      }
      row.bar.value = 100;
      let text;
      let kind;
      let results = [];
      try {
        const body = JSON.parse(xhr.responseText);
        if (xhr.status === 200) {
          results = body.results;
          const r = results[0];
          kind = r.outcome;
          text = r.outcome === 'created' ? 'uploaded' : r.outcome === 'duplicate' ? 'already in this vehicle' : `rejected: ${r.error}`;
        } else {
          kind = 'rejected';
          text = body.detail || `failed (${xhr.status})`;
        }
      } catch {
        kind = 'rejected';
        text = `failed (${xhr.status})`;
      }
      row.outcome.textContent = text;
      row.row.dataset.outcome = kind;
      resolve(results);
    };
    xhr.onerror = () => {
      row.outcome.textContent = 'failed: the connection was lost';
      row.row.dataset.outcome = 'rejected';
      resolve([]);
    };
    xhr.send(form);
  });
}
