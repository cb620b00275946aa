// The uploader's markup: rows, buttons, progress bars, the summary and its live region, and broken thumbnails.
// Everything a file supplies is set with textContent: never markup.

// Thumbnails of the gallery that failed to load (the connection was gone): asked for again. `now` is "the
// connection is back"; otherwise each broken one is asked for again at most thumbnailTries times.
const thumbnailTries = new WeakMap();
export function reloadBrokenThumbnails(now) {
  for (const img of document.querySelectorAll('.photo-card img')) {
    const src = img.getAttribute('src');
    if (!src || !img.complete || img.naturalWidth > 0) continue;
    const tries = thumbnailTries.get(img) ?? 0;
    if (!now && tries >= 30) continue;
    thumbnailTries.set(img, tries + 1);
    img.src = src;
  }
}

export function formatBytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${Math.round(n)} B`;
}

export function formatDuration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// A real button; `name` (the file's name, or "all uploads") makes its accessible name say what it acts on.
export function button(label, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'upload-action';
  b.textContent = label;
  b.setAttribute('aria-label', `${label} ${name}`);
  return b;
}

export function progressBar(label) {
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-label', label);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', '0');
  return bar;
}

// The drop zone is also the keyboard's way in: a button (Enter or Space) that opens the file picker.
export function dropZoneAsButton(zone, input) {
  zone.setAttribute('role', 'button');
  zone.tabIndex = 0;
  // Its name is the words on screen ("Drop photos here, or Choose files"): an aria-label of other words breaks
  // WCAG 2.5.3 (label in name), and voice control users say what they see.
  zone.addEventListener('keydown', e => {
    if (e.target !== zone || (e.key !== 'Enter' && e.key !== ' ')) return;
    e.preventDefault();
    input.click();
  });
}

export function addSummary(root, list) {
  const box = document.createElement('div');
  box.id = 'upload-summary';
  box.hidden = true;
  const text = document.createElement('span');
  text.className = 'upload-summary-text';
  const bar = progressBar('All uploads');
  const pauseAll = button('Pause', 'all uploads');
  pauseAll.textContent = 'Pause all';
  const resumeAll = button('Resume', 'all uploads');
  resumeAll.textContent = 'Resume all';
  const cancelAll = button('Cancel', 'all uploads');
  cancelAll.textContent = 'Cancel all';
  box.append(text, bar, pauseAll, resumeAll, cancelAll);
  root.insertBefore(box, list);
  // Outside the box, which is hidden while the list is empty: a live region must be in the page to be heard.
  const live = document.createElement('div');
  live.id = 'upload-announcement';
  live.setAttribute('role', 'status');
  live.setAttribute('aria-live', 'polite');
  live.setAttribute('aria-atomic', 'true');
  Object.assign(live.style, {
    position: 'absolute', width: '1px', height: '1px', overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap',
  });
  root.insertBefore(live, box);
  return { root: box, text, bar, pauseAll, resumeAll, cancelAll, live };
}

export function addRow(list, file) {
  const row = document.createElement('div');
  row.className = 'upload-row';
  row.setAttribute('role', 'listitem');
  const name = document.createElement('span');
  name.className = 'upload-name';
  name.textContent = file.name;
  const bar = progressBar(`${file.name} uploaded`);
  const outcome = document.createElement('span');
  outcome.className = 'upload-outcome';
  const pause = button('Pause', file.name);
  const resume = button('Resume', file.name);
  const retry = button('Retry', file.name);
  const cancel = button('Cancel', file.name);
  row.append(name, bar, outcome, pause, resume, retry, cancel);
  list.append(row);
  return { row, bar, outcome, pause, resume, retry, cancel };
}
