// The listing page's drag-and-drop (issue 26): SortableJS from npm (client/package.json, copied into wwwroot/lib
// by the build) moves a photo with the mouse, a pen or a finger; the page's Move up/down buttons are the keyboard's way.
//
// Blazor draws the list and keeps its own idea of the order: a drop puts the moved element back where it was and
// hands the move to the page, which saves it with the listing's version (a stale one gets the current order shown)
// and draws the new order itself. Nothing here writes the order; only the page does.
import Sortable from '../lib/sortablejs/sortable.esm.js';

export function attach(listId, dotnet) {
  const list = document.getElementById(listId);
  if (!list) return null;
  const sortable = Sortable.create(list, {
    draggable: '.listing-item',
    // The grip and the photo start a drag; the buttons stay buttons, and a finger elsewhere scrolls the page.
    handle: '.listing-drag',
    // Pointer events rather than the browser's HTML drag and drop: the same on touch screens and with a mouse.
    forceFallback: true,
    fallbackTolerance: 4,
    animation: 120,
    ghostClass: 'listing-ghost',
    chosenClass: 'listing-chosen',
    onEnd: e => {
      if (e.oldIndex === e.newIndex || e.oldIndex === undefined || e.newIndex === undefined) return;
      const item = e.item;
      item.remove();
      list.insertBefore(item, list.children[e.oldIndex] ?? null);
      dotnet.invokeMethodAsync('Dropped', item.dataset.imageId, e.newIndex);
    },
  });
  // Says the list takes drags now (the page's buttons work earlier, as soon as the page is live).
  list.dataset.sortable = 'ready';
  return {
    dispose: () => {
      sortable.destroy();
      delete list.dataset.sortable;
    },
  };
}
