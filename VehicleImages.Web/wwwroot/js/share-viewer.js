// The share page's full-screen viewer: a photo's link opens it (without this script the link opens the large photo);
// arrow keys and swipes move through the photos, Escape (the dialog's own) and the close button end it.
(() => {
  const dialog = document.getElementById('share-viewer');
  const links = Array.from(document.querySelectorAll('#share-grid .share-photo'));
  if (!dialog || links.length === 0 || typeof dialog.showModal !== 'function') return;
  const image = document.getElementById('share-viewer-image');
  const caption = document.getElementById('share-viewer-caption');
  let index = 0;
  let opener = null;

  const show = (i) => {
    index = (i + links.length) % links.length;
    const link = links[index];
    // The grid's own markup says it all (kept small: the page of 60 photos stays under 60 KB): the thumbnail's srcset, the caption.
    const text = link.closest('figure')?.querySelector('figcaption')?.textContent || '';
    image.removeAttribute('src');
    image.srcset = link.querySelector('img')?.srcset || '';
    image.src = link.href;
    image.alt = text;
    caption.textContent = `${text} (${index + 1} of ${links.length})`;
    dialog.dataset.index = String(index);
  };

  links.forEach((link, i) => link.addEventListener('click', (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    opener = link;
    show(i);
    dialog.showModal();
  }));

  document.getElementById('share-viewer-prev').addEventListener('click', () => show(index - 1));
  document.getElementById('share-viewer-next').addEventListener('click', () => show(index + 1));
  document.getElementById('share-viewer-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => { image.removeAttribute('src'); if (opener) opener.focus(); });
  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft') { event.preventDefault(); show(index - 1); }
    else if (event.key === 'ArrowRight') { event.preventDefault(); show(index + 1); }
  });

  // Swipe: a mostly horizontal drag of 40 px or more moves one photo.
  let startX = null;
  let startY = null;
  dialog.addEventListener('pointerdown', (event) => { startX = event.clientX; startY = event.clientY; });
  dialog.addEventListener('pointerup', (event) => {
    if (startX === null) return;
    const dx = event.clientX - startX;
    const dy = event.clientY - startY;
    startX = null;
    if (Math.abs(dx) >= 40 && Math.abs(dx) > Math.abs(dy)) show(index + (dx < 0 ? 1 : -1));
  });
})();
