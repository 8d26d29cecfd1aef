// The static studio (written out by app/static.py): the Python studio's canvas, and the generator in
// onnxruntime-web. Each change of the drawing (a stroke, undo, an example, an upload, a model switch) gives
// one photo, computed as models.Translator does (app/static_inputs.js), with the dropout noise drawn from
// the seed, in a worker (app/static_worker.js). window.studio exposes the last run and the timings for tests
// and benchmarks.
import {mountCanvas} from "./canvas.js";
import * as inputs from "./static_inputs.js";

const $ = id => document.getElementById(id);
const studio = window.studio = {latencies: [], parts: [], runs: 0, busy: false, last: null, firstPhotoMs: null, upAt: null, error: null,
                                threads: null, offline: null};
// The worker starts loading (onnxruntime-web, the inputs) while the page fetches models.json.
const worker = new Worker(new URL("./static_worker.js", import.meta.url), {type: "module"});
const manifest = await (await fetch("models.json")).json();
const {size: SIZE, canvas: CANVAS, variations: VARIATIONS, max_seed: MAX_SEED} = manifest;  // the studio's (app/handlers.py)
const byKey = Object.fromEntries(manifest.models.map(m => [m.key, m]));
const used = new Set();  // the model and example files this page has used: sw.js keeps them for offline use
let model = manifest.models[0];

// ---- the worker's answers, matched to the questions by id ----
const pending = new Map();
let requests = 0;
worker.onmessage = ({data}) => {
  const [resolve, reject] = pending.get(data.id);
  pending.delete(data.id);
  if (data.error) reject(new Error(data.error));
  else resolve(data);
};
worker.onerror = e => status(`The studio's worker failed: ${e.message}`, true);
function ask(message, transfer = []) {
  const id = ++requests;
  return new Promise((resolve, reject) => {
    pending.set(id, [resolve, reject]);
    worker.postMessage({id, ...message}, transfer);
  });
}
ask({manifest});  // it starts on the first model at once

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

// ---- the canvas, mounted as gr.HTML mounts it: props.value set by the canvas = a new drawing ----
let value = null;
const watchers = [];
const props = {};
// A drawing the canvas sends is also read straight from its layers (the pixels its PNGs hold: the ink is
// opaque, hints are all-or-nothing), which saves decoding them again; keyed by the value, so a run never
// mixes one drawing's pixels with another's value.
const drawn = new WeakMap();
const ids = new WeakMap();  // each drawing value's number: the worker keeps the last one's inputs
let drawings = 0;
const idOf = v => ids.get(v) ?? (ids.set(v, ++drawings), drawings);
const layer = name => {
  const c = $("canvas").querySelector(`canvas.${name}`);
  return c.getContext("2d", {willReadFrequently: true}).getImageData(0, 0, c.width, c.height);
};
Object.defineProperty(props, "value", {get: () => value, set: v => {
  value = v;
  drawn.set(v, {image: layer("ink"), hints: v.hints ? layer("hints") : null});
  translate();
}});
function show(v) {  // a value from outside the canvas (example, upload, model switch), as the server sends one
  value = v;
  watchers.forEach(f => f());
  translate();
}
document.addEventListener("pointerup", e => {  // pen-up on the canvas: where the latency counts from
  if (e.target.closest && e.target.closest(".stack")) studio.upAt = performance.now();
}, true);

// ---- a photo, from the worker ----
function chosenColour() {
  const hex = $("colour").value;
  return [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
}

function remember(url) {  // a file of the page in use: cached for offline use
  if (url.startsWith("data:") || used.has(url)) return;
  used.add(url);
  if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage({cache: [url]});
}

// The photo of drawing `v` by model `m` with `seed`: {image, asked, masks, hinted, parts}.
function generate(v, m, seed) {
  // The canvas's pixels go to the worker once, moved rather than copied; if it needs them again (its one
  // kept drawing is another by then), it decodes the PNGs.
  const layers = drawn.get(v) || {};
  drawn.delete(v);
  [m.onnx, v.image, ...(v.hints ? [v.hints] : [])].forEach(remember);
  const drawing = {id: idOf(v), image: v.image, hintsUrl: v.hints || null, ink: layers.image, hints: layers.hints};
  const moved = [layers.image, layers.hints].filter(Boolean).map(d => d.data.buffer);
  return ask({drawing, model: m, seed, colour: $("use-colour").checked ? chosenColour() : null}, moved);
}

function seedValue() {
  const s = Number($("seed").value);
  if (!Number.isInteger(s) || s < 0 || s > MAX_SEED) throw new Error(`Seed must be a whole number from 0 to ${MAX_SEED}.`);
  return s;
}

// ---- one photo per change; only the latest pending change is computed ----
let busy = false, again = false;
async function translate() {
  if (busy) { again = true; return; }
  busy = studio.busy = true;
  try {
    do {
      again = false;
      await photo();
    } while (again);
  } catch (e) {
    studio.error = String(e.message || e);
    status(studio.error, true);
  } finally {
    busy = studio.busy = false;
  }
}

async function photo() {
  const upAt = studio.upAt, v = value, m = model;
  studio.upAt = null;
  if (!v || !v.image) return;
  const seed = seedValue();
  if (!used.has(m.onnx)) status(`Loading ${m.label}…`);
  const {image, asked, masks, hinted, parts, threads} = await generate(v, m, seed);
  studio.threads = threads;
  $("photo").getContext("2d").putImageData(image, 0, 0);
  const now = performance.now();
  if (upAt !== null) {
    studio.latencies.push(now - upAt);
    studio.parts.push(parts);
  }
  if (studio.firstPhotoMs === null) {
    studio.firstPhotoMs = now;
    offline();  // only now: caching for offline use never delays the first photo
  }
  studio.runs += 1;
  studio.last = {model: m.key, seed, image: v.image, hints: hinted ? v.hints : null, colour: asked, masks};
  studio.error = null;
  status(upAt !== null ? `${m.label}: ${Math.round(now - upAt)} ms from pen-up to photo` : m.label);
}

async function variations() {
  const v = value, m = model, seed = seedValue(), box = $("variations");
  box.replaceChildren();
  for (let i = 1; i <= VARIATIONS; i++) {
    const {image} = await generate(v, m, seed + i);
    const figure = document.createElement("figure"), c = document.createElement("canvas"), caption = document.createElement("figcaption");
    c.width = c.height = SIZE;
    c.getContext("2d").putImageData(image, 0, 0);
    caption.textContent = `seed ${seed + i}`;
    figure.append(c, caption);
    box.append(figure);
  }
}

// ---- offline and updates (sw.js) ----
async function offline() {
  if (!("serviceWorker" in navigator)) return;
  const updating = Boolean(navigator.serviceWorker.controller);  // an earlier visit's worker serves this page
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (updating) status("A new version of this studio is ready: reload the page to use it.");
  });
  try {
    await navigator.serviceWorker.register("sw.js");
    const active = (await navigator.serviceWorker.ready).active, reply = new MessageChannel();
    const cached = new Promise(resolve => { reply.port1.onmessage = e => resolve(e.data); });
    active.postMessage({cache: [...used]}, [reply.port2]);  // used before the service worker was there
    studio.offline = await cached;
  } catch (e) {
    studio.offline = `unavailable: ${e.message || e}`;  // e.g. a file:// page; the studio works regardless
  }
}

// ---- the rest of the page ----
const exampleValue = m => ({image: m.example, hints: null, kind: m.kind, brush: m.hints, model: m.key});

function selectModel(key) {
  model = byKey[key];
  $("variations").replaceChildren();  // they were the last model's
  $("colour-row").hidden = !model.palette;
  const same = value && value.kind === model.kind && value.image;
  show(same ? {...value, brush: model.hints, model: key, hints: model.hints ? value.hints : null} : exampleValue(model));
}

async function upload(file) {
  const img = new Image();
  img.src = URL.createObjectURL(file);
  try {
    await img.decode();
  } catch {
    throw new Error(`${file.name}: not an image this browser can read`);
  }
  const c = document.createElement("canvas");
  c.width = c.height = CANVAS;
  const ctx = c.getContext("2d");
  ctx.fillStyle = `rgb(${model.paper.join(",")})`;
  ctx.fillRect(0, 0, CANVAS, CANVAS);
  const s = CANVAS / Math.max(img.naturalWidth, img.naturalHeight), w = img.naturalWidth * s, h = img.naturalHeight * s;
  ctx.imageSmoothingEnabled = model.kind !== "labels";  // label maps are categorical: never blended
  ctx.drawImage(img, (CANVAS - w) / 2, (CANVAS - h) / 2, w, h);
  if (model.kind === "labels") {
    const data = ctx.getImageData(0, 0, CANVAS, CANVAS), rgb = new Uint8Array(CANVAS * CANVAS * 3);
    for (let i = 0; i < rgb.length / 3; i++) rgb.set(data.data.subarray(i * 4, i * 4 + 3), i * 3);
    const snapped = inputs.snapToPalette(rgb, manifest.labels);
    for (let i = 0; i < rgb.length / 3; i++) data.data.set(snapped.subarray(i * 3, i * 3 + 3), i * 4);
    ctx.putImageData(data, 0, 0);
  }
  show({...value, image: c.toDataURL("image/png"), hints: null});
}

$("seed").max = MAX_SEED;
for (const m of manifest.models) $("model").append(new Option(m.label, m.key));
$("model").addEventListener("change", e => selectModel(e.target.value));
$("seed").addEventListener("change", translate);
$("use-colour").addEventListener("change", translate);
$("colour").addEventListener("input", () => { $("use-colour").checked = true; translate(); });
$("example").addEventListener("click", () => show(exampleValue(model)));
$("more").addEventListener("click", () => variations().catch(e => status(String(e.message || e), true)));
$("upload").addEventListener("change", e => {
  if (e.target.files[0]) upload(e.target.files[0]).catch(err => status(err.message, true));
  e.target.value = "";
});
$("photo-box").addEventListener("click", e => e.currentTarget.classList.toggle("enlarged"));
$("download-input").addEventListener("click", e => { e.currentTarget.href = value.image; });
$("download-photo").addEventListener("click", e => { e.currentTarget.href = $("photo").toDataURL("image/png"); });

value = exampleValue(model);
$("colour-row").hidden = !model.palette;
mountCanvas($("canvas"), props, (name, fn) => watchers.push(fn));
translate();
