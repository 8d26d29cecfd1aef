// The studio's drawing canvas (run by gr.HTML's js_on_load with `element`, `props` and `watch`).
// Two layers: the drawing ("ink") and the colour hints on top. On pointer-up it sets props.value
// to {image, hints} PNG data URLs, which fires the component's change event: one small payload per
// stroke, no file uploads. Values the server sends (uploads, examples, model switches) are drawn in.
const root = element.querySelector(".studio-canvas");
const ink = root.querySelector("canvas.ink");
const hints = root.querySelector("canvas.hints");
const stack = root.querySelector(".stack");
const sizeSelect = root.querySelector(".size select");
const colourInput = root.querySelector("input.colour");
const inkCtx = ink.getContext("2d", {willReadFrequently: true});
const hintCtx = hints.getContext("2d", {willReadFrequently: true});
const LABEL_BACKGROUND = "#0000aa";
const sizes = {pen: 3, eraser: 16, box: 0, colour: 16};
let tool = "pen";
let label = "#0055ff";  // 'window', the label people paint most
let undoStack = [];
let redoStack = [];
let shown = null;  // the image data URL the canvas holds, as last sent or loaded
let stroke = null;

const kind = () => (props.value && props.value.kind) || "edges";
const labels = () => kind() === "labels";
const paper = () => (labels() ? LABEL_BACKGROUND : "#ffffff");

function snapshot() {
  return {w: ink.width, h: ink.height, ink: inkCtx.getImageData(0, 0, ink.width, ink.height),
          hints: hintCtx.getImageData(0, 0, hints.width, hints.height)};
}

function restore(s) {
  resize(s.w, s.h);
  inkCtx.putImageData(s.ink, 0, 0);
  hintCtx.putImageData(s.hints, 0, 0);
}

function remember() {
  undoStack.push(snapshot());
  if (undoStack.length > 30) undoStack.shift();
  redoStack = [];
}

function resize(w, h) {
  if (ink.width !== w || ink.height !== h) {
    ink.width = hints.width = w;
    ink.height = hints.height = h;
  }
}

// Hints are all or nothing per pixel: the faint anti-aliased rim a stroke or the eraser leaves
// would otherwise be a hint nobody can see. Returns whether any hint is left.
function settleHints() {
  const data = hintCtx.getImageData(0, 0, hints.width, hints.height);
  const a = data.data;
  let any = false;
  for (let i = 3; i < a.length; i += 4) {
    a[i] = a[i] >= 128 ? 255 : 0;
    any = any || a[i] > 0;
  }
  hintCtx.putImageData(data, 0, 0);
  return any;
}

function send() {
  shown = ink.toDataURL("image/png");
  const withHints = root.dataset.brush === "1" && settleHints();  // hints go only to models that take them
  props.value = Object.assign({}, props.value, {image: shown, hints: withHints ? hints.toDataURL("image/png") : null});
}

function point(e) {
  const r = stack.getBoundingClientRect();
  return [(e.clientX - r.left) * ink.width / r.width, (e.clientY - r.top) * ink.height / r.height];
}

function setTool(name) {
  tool = name;
  root.querySelectorAll("[data-tool]").forEach(b => b.classList.toggle("active", b.dataset.tool === name));
  sizeSelect.disabled = name === "box";
  if (name !== "box") sizeSelect.value = String(sizes[name]);
}

function line(ctx, from, to, width, colour, erase) {
  ctx.save();
  ctx.globalCompositeOperation = erase ? "destination-out" : "source-over";
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0] + (from[0] === to[0] && from[1] === to[1] ? 0.01 : 0), to[1]);
  ctx.stroke();
  ctx.restore();
}

function paint(from, to) {
  const width = sizes[tool];
  if (tool === "pen") line(inkCtx, from, to, width, labels() ? label : "#000000", false);
  else if (tool === "colour") line(hintCtx, from, to, width, colourInput.value, false);
  else if (tool === "eraser") {
    line(inkCtx, from, to, width, paper(), false);
    line(hintCtx, from, to, width, "#000", true);
  }
}

function box(a, b) {
  inkCtx.putImageData(stroke.before.ink, 0, 0);
  inkCtx.fillStyle = label;
  inkCtx.fillRect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]));
}

stack.addEventListener("pointerdown", e => {
  if (e.button !== 0 || stroke) return;  // a second finger mid-stroke (a pinch) neither draws nor splits it
  e.preventDefault();
  stack.setPointerCapture(e.pointerId);
  remember();
  const p = point(e);
  stroke = {id: e.pointerId, start: p, last: p, before: undoStack[undoStack.length - 1]};
  if (tool === "box") box(p, p); else paint(p, p);
});

stack.addEventListener("pointermove", e => {
  if (!stroke || e.pointerId !== stroke.id) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = point(ev);
    if (tool === "box") box(stroke.start, p); else paint(stroke.last, p);
    stroke.last = p;
  }
});

function finish(e) {
  if (!stroke || e.pointerId !== stroke.id) return;
  stroke = null;
  send();
}
stack.addEventListener("pointerup", finish);
stack.addEventListener("pointercancel", finish);
stack.addEventListener("lostpointercapture", finish);  // a stroke never outlives its pointer

function undo() {
  if (!undoStack.length) return;
  redoStack.push(snapshot());
  restore(undoStack.pop());
  send();
}

function redo() {
  if (!redoStack.length) return;
  undoStack.push(snapshot());
  restore(redoStack.pop());
  send();
}

function clear() {
  remember();
  inkCtx.fillStyle = paper();
  inkCtx.fillRect(0, 0, ink.width, ink.height);
  hintCtx.clearRect(0, 0, hints.width, hints.height);
  send();
}

root.querySelectorAll("[data-tool]").forEach(b => b.addEventListener("click", () => setTool(b.dataset.tool)));
root.querySelectorAll("[data-label]").forEach(b => b.addEventListener("click", () => {
  label = b.dataset.label;
  root.querySelectorAll("[data-label]").forEach(o => o.classList.toggle("active", o === b));
  if (tool !== "box") setTool("pen");
}));
root.querySelector("[data-action=undo]").addEventListener("click", undo);
root.querySelector("[data-action=redo]").addEventListener("click", redo);
root.querySelector("[data-action=clear]").addEventListener("click", clear);
sizeSelect.addEventListener("change", () => { sizes[tool] = Number(sizeSelect.value); });
colourInput.addEventListener("input", () => setTool("colour"));

// One keyboard handler per page, replaced if the component is mounted again.
if (window.studioCanvasKeys) document.removeEventListener("keydown", window.studioCanvasKeys);
window.studioCanvasKeys = e => {
  if (e.target.closest && e.target.closest("input, textarea, select, [contenteditable]")) return;
  const key = e.key.toLowerCase();
  if ((e.ctrlKey || e.metaKey) && (key === "z" || key === "y")) {
    e.preventDefault();
    if (key === "y" || e.shiftKey) redo(); else undo();
  } else if (!e.ctrlKey && !e.metaKey && !e.altKey) {
    const pick = {p: "pen", e: "eraser", b: "box", c: "colour"}[key];
    if (pick && root.querySelector(`[data-tool=${pick}]`).offsetParent) setTool(pick);
  }
};
document.addEventListener("keydown", window.studioCanvasKeys);

function mode(v) {
  const was = root.dataset.kind;
  root.dataset.kind = v.kind || "edges";
  root.dataset.brush = v.brush ? "1" : "0";
  if (was !== root.dataset.kind) {
    sizes.pen = labels() ? 12 : 3;
    root.querySelectorAll("[data-label]").forEach(o => o.classList.toggle("active", o.dataset.label === label));
  }
  if ((tool === "box" && !labels()) || (tool === "colour" && !v.brush)) tool = "pen";
  setTool(tool);
}

function draw(url, ctx, takeSize) {
  return new Promise(done => {
    const img = new Image();
    img.onload = () => { if (takeSize) resize(img.naturalWidth, img.naturalHeight); ctx.drawImage(img, 0, 0); done(); };
    img.onerror = () => done();
    img.src = url;
  });
}

async function load(v, undoable) {
  if (!v) return;
  mode(v);
  const sameHints = !v.hints && !settleHints();  // a model without hints gets none: the layer is cleared
  if (v.image === shown && sameHints) return;  // our own drawing, echoed back with new tools
  if (undoable) remember();
  shown = v.image;
  if (v.image !== undefined) await draw(v.image, inkCtx, true);
  hintCtx.clearRect(0, 0, hints.width, hints.height);
  if (v.hints) await draw(v.hints, hintCtx, false);
}

load(props.value, false);
watch("value", () => load(props.value, true));
