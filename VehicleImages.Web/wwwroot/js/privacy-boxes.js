// The privacy-box editor's pointer and keyboard handling (issue 27). The boxes live in the Blazor component
// (PrivacyBoxEditor.razor); this file only turns gestures into rectangles and hands them over:
// - a drag on the photo outside any box draws a new box (mouse, finger or pen: pointer events);
// - a drag on a box moves it, a drag on its corner handle resizes it;
// - on a focused box the arrow keys move it and shift + arrows resize it (1 % of the photo a press, 5 % with
//   ctrl), Delete or Backspace removes it. These keys stop here, so a dialog around the editor does not also
//   take the arrows as "next photo".
// During a drag the box follows the pointer in the page; the component gets the final rectangle once, at the end.
// A key press sends its step to the component, which keeps the box inside the photo and draws it.
// Rectangles are fractions of the photo as shown, which is the oriented image (its variants are stored upright).

const minSize = 0.005;
const step = 0.01;
const bigStep = 0.05;

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const round = v => Math.round(v * 10000) / 10000;

function read(box) {
    return {
        x: parseFloat(box.dataset.x), y: parseFloat(box.dataset.y),
        w: parseFloat(box.dataset.w), h: parseFloat(box.dataset.h),
    };
}

function show(el, r) {
    el.style.left = `${r.x * 100}%`;
    el.style.top = `${r.y * 100}%`;
    el.style.width = `${r.w * 100}%`;
    el.style.height = `${r.h * 100}%`;
}

function store(box, r) {
    box.dataset.x = r.x; box.dataset.y = r.y; box.dataset.w = r.w; box.dataset.h = r.h;
    show(box, r);
}

// A rectangle kept inside the photo and at least minSize on each side.
function fit(r) {
    const w = clamp(r.w, minSize, 1);
    const h = clamp(r.h, minSize, 1);
    return { x: round(clamp(r.x, 0, 1 - w)), y: round(clamp(r.y, 0, 1 - h)), w: round(w), h: round(h) };
}

export function attach(stage, dotnet) {
    let drag = null;

    const point = e => {
        const rect = stage.getBoundingClientRect();
        return { x: clamp((e.clientX - rect.left) / rect.width, 0, 1), y: clamp((e.clientY - rect.top) / rect.height, 0, 1) };
    };

    const onDown = e => {
        if (e.button !== 0 || drag) return;
        const box = e.target.closest('.privacy-box');
        const start = point(e);
        if (box) {
            drag = { mode: e.target.closest('.privacy-handle') ? 'resize' : 'move', box, start, from: read(box), moved: false };
        } else {
            const el = document.createElement('div');
            el.className = 'privacy-box privacy-box-drawing';
            el.setAttribute('aria-hidden', 'true');
            stage.appendChild(el);
            drag = { mode: 'draw', box: el, start, moved: false };
            show(el, { x: start.x, y: start.y, w: 0, h: 0 });
        }
        stage.setPointerCapture(e.pointerId);
        e.preventDefault();
    };

    const rectOf = (e) => {
        const p = point(e);
        const dx = p.x - drag.start.x, dy = p.y - drag.start.y;
        if (drag.mode === 'move') return fit({ ...drag.from, x: drag.from.x + dx, y: drag.from.y + dy });
        if (drag.mode === 'resize') return fit({ ...drag.from, w: drag.from.w + dx, h: drag.from.h + dy });
        return {
            x: round(Math.min(p.x, drag.start.x)), y: round(Math.min(p.y, drag.start.y)),
            w: round(Math.abs(dx)), h: round(Math.abs(dy)),
        };
    };

    const onMove = e => {
        if (!drag) return;
        const r = rectOf(e);
        drag.moved = true;
        show(drag.box, r);
        drag.last = r;
    };

    // The end of a move or a resize: the box keeps the keyboard, and the component gets the rectangle.
    const onUp = e => {
        if (!drag) return;
        const d = drag;
        drag = null;
        if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
        d.box.focus({ preventScroll: true });
        if (!d.moved || !d.last) return;
        store(d.box, d.last);
        dotnet.invokeMethodAsync('Changed', parseInt(d.box.dataset.index, 10), d.last.x, d.last.y, d.last.w, d.last.h);
    };

    // The end of a drawing (rectOf reads the drag, so it is computed before the drag ends), or of a move or resize.
    const onUpDraw = e => {
        if (drag && drag.mode === 'draw') {
            const d = drag;
            const r = d.moved ? rectOf(e) : null;
            drag = null;
            if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
            d.box.remove();
            if (r && r.w >= minSize && r.h >= minSize) dotnet.invokeMethodAsync('Drawn', r.x, r.y, r.w, r.h);
            return;
        }
        onUp(e);
    };

    const onCancel = e => {
        if (!drag) return;
        if (drag.mode === 'draw') drag.box.remove();
        else show(drag.box, drag.from);
        drag = null;
    };

    const onKey = e => {
        const box = e.target.closest && e.target.closest('.privacy-box');
        if (!box || !stage.contains(box)) return;
        const index = parseInt(box.dataset.index, 10);
        if (e.key === 'Delete' || e.key === 'Backspace') {
            e.preventDefault();
            e.stopPropagation();
            dotnet.invokeMethodAsync('Removed', index);
            return;
        }
        const by = e.ctrlKey ? bigStep : step;
        const moves = { ArrowLeft: [-by, 0], ArrowRight: [by, 0], ArrowUp: [0, -by], ArrowDown: [0, by] };
        const m = moves[e.key];
        if (!m) return;
        e.preventDefault();
        e.stopPropagation();
        // A step, not a rectangle: the component applies the steps in the order pressed and draws the box, so a key
        // pressed before the last one's answer is never lost.
        if (e.shiftKey) dotnet.invokeMethodAsync('Nudge', index, 0, 0, m[0], m[1]);
        else dotnet.invokeMethodAsync('Nudge', index, m[0], m[1], 0, 0);
    };

    stage.addEventListener('pointerdown', onDown);
    stage.addEventListener('pointermove', onMove);
    stage.addEventListener('pointerup', onUpDraw);
    stage.addEventListener('pointercancel', onCancel);
    stage.addEventListener('keydown', onKey);

    return {
        dispose() {
            stage.removeEventListener('pointerdown', onDown);
            stage.removeEventListener('pointermove', onMove);
            stage.removeEventListener('pointerup', onUpDraw);
            stage.removeEventListener('pointercancel', onCancel);
            stage.removeEventListener('keydown', onKey);
        },
    };
}

// Puts the keyboard on a box (after "Add box", so the arrows work at once).
export function focusBox(stage, index) {
    const box = stage.querySelector(`.privacy-box[data-index="${index}"]`);
    if (box) box.focus();
}

// Starts a download link once the person has confirmed (the export's count of unreviewed photos).
export function click(link) {
    link.click();
}
