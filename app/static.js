// The static studio (written out by app/static.py): the Python studio's canvas, and the generator in
// onnxruntime-web. Each change of the drawing (a stroke, undo, an example, an upload, a model switch) gives
// one photo, computed as models.Translator does (app/static_inputs.js), with the dropout noise drawn from
// the seed. window.studio exposes the last run and the timings for tests and benchmarks.
import * as ort from "./ort/ort.wasm.min.mjs";
import {mountCanvas} from "./canvas.js";
import * as inputs from "./static_inputs.js";

ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
// The generator runs in onnxruntime-web's worker, so a stroke is never held up by the last photo; on several
// threads where the page is cross-origin isolated (the host's headers, or sw.js's from the second visit on).
ort.env.wasm.proxy = true;
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

const $ = id => document.getElementById(id);
const studio = window.studio = {latencies: [], parts: [], runs: 0, busy: false, last: null, firstPhotoMs: null, upAt: null, error: null,
                                threads: ort.env.wasm.numThreads, offline: null};
const manifest = await (await fetch("models.json")).json();
const SIZE = manifest.size, CANVAS = 512, VARIATIONS = 4, MAX_SEED = 2 ** 31 - 1;
const byKey = Object.fromEntries(manifest.models.map(m => [m.key, m]));
const sessions = {};
const used = new Set();  // the model and example files this page has loaded: sw.js keeps them for offline use
let model = manifest.models[0];

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

// ---- model inputs ----
async function pixels(url) {
  if (!url.startsWith("data:")) used.add(url);
  const img = new Image();
  img.src = url;
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const ctx = c.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(img, 0, 0);
  return ctx.getImageData(0, 0, c.width, c.height);
}

const paper = m => (m.kind === "labels" ? manifest.paper.labels : [255, 255, 255]);

// The drawing (RGBA, any alpha composited on the paper colour) at model size, as the studio sizes it.
function drawingAt(ink, m) {
  if (ink.width !== CANVAS || ink.height !== CANVAS) throw new Error(`the drawing must be ${CANVAS} px square`);
  const rgb = new Uint8Array(CANVAS * CANVAS * 3), bg = paper(m), d = ink.data;
  for (let i = 0, j = 0; i < d.length; i += 4, j += 3) {
    const a = d[i + 3];
    for (let c = 0; c < 3; c++) rgb[j + c] = a === 255 ? d[i + c] : Math.round((d[i + c] * a + bg[c] * (255 - a)) / 255);
  }
  if (m.kind === "labels") {
    return inputs.snapToPalette(inputs.resizeNearest(rgb, CANVAS, CANVAS, SIZE, SIZE), manifest.labels);
  }
  return inputs.resizeBicubic(rgb, CANVAS, CANVAS, SIZE, SIZE);
}

function chosenColour() {
  const hex = $("colour").value;
  return [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
}

// The generator's `x` for a drawing, without the palette planes (they depend on the seed and colour only);
// kept for the last drawing, so a new seed, colour or variations skip the resize and the hint fill.
let lastInput = null;
async function modelInput(v, m) {
  if (!lastInput || lastInput.v !== v || lastInput.m !== m) lastInput = {v, m, ...await computeInput(v, m)};
  return {x: lastInput.x.slice(), hinted: lastInput.hinted};
}

async function computeInput(v, m) {
  const x = new Float32Array(m.channels * SIZE * SIZE), layers = drawn.get(v) || {};
  inputs.toPlanes(drawingAt(layers.image || await pixels(v.image), m), SIZE, x, 0);
  let at = 3;
  const hinted = Boolean(m.hints && v.hints);
  if (m.hints) {
    if (hinted) {
      const h = layers.hints || await pixels(v.hints);
      inputs.hintChannels(h.data, h.width, h.height, SIZE, x, 3);
    }
    at = 7;
  }
  if (m.fill) inputs.fillHints(x, SIZE, 3, at, m.fill);
  return {x, hinted};
}

// The overall colour as Translator takes it: the one picked, else none when hints say the colours, else
// one drawn by the seed from the training photos' colours. Returns [8-bit colour or "auto", planes' colour].
function paletteColour(m, hinted, seed) {
  if ($("use-colour").checked) {
    const rgb = chosenColour();
    return [rgb, rgb.map(v => v / 127.5 - 1)];
  }
  return ["auto", hinted ? null : m.prior[inputs.paletteIndex(seed, m.prior.length)]];
}

function sessionFor(m) {
  sessions[m.key] ??= (async () => {
    used.add(m.onnx);
    const response = await fetch(m.onnx);
    if (!response.ok) {  // a page cached from an earlier export, now replaced on the host
      throw new Error(`${m.label}: this page's model is gone from the server (${response.status}); reload the page`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    return ort.InferenceSession.create(bytes, {executionProviders: ["wasm"], graphOptimizationLevel: "all"});
  })();
  sessions[m.key].catch(() => { delete sessions[m.key]; });  // a failed load is tried again next time
  return sessions[m.key];
}

async function generate(m, x, seed, hinted) {
  const [asked, colour] = paletteColour(m, hinted, seed);
  if (m.palette) inputs.palettePlanes(colour, SIZE, x, m.channels - 4);
  const masks = inputs.dropoutMasks(seed, m.masks);
  const feeds = {x: new ort.Tensor("float32", x, [1, m.channels, SIZE, SIZE])};
  // Copies: the worker takes the buffers it is given (studio.last keeps the masks).
  masks.forEach((mask, i) => { feeds[`mask${i + 1}`] = new ort.Tensor("float32", mask.slice(), m.masks[i]); });
  const {y} = await (await sessionFor(m)).run(feeds);
  const out = new ImageData(SIZE, SIZE), n = SIZE * SIZE;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out.data[i * 4 + c] = Math.round((Math.min(Math.max(y.data[c * n + i], -1), 1) + 1) * 127.5);
    out.data[i * 4 + 3] = 255;
  }
  return {image: out, asked, masks};
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
  if (!sessions[m.key]) status(`Loading ${m.label}…`);
  await sessionFor(m);
  const t0 = performance.now();
  const {x, hinted} = await modelInput(v, m);
  const t1 = performance.now();
  const {image, asked, masks} = await generate(m, x, seed, hinted);
  $("photo").getContext("2d").putImageData(image, 0, 0);
  const now = performance.now();
  if (upAt !== null) {
    studio.latencies.push(now - upAt);
    studio.parts.push({inputs: t1 - t0, generator: now - t1});
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
    const {x, hinted} = await modelInput(v, m);
    const {image} = await generate(m, x, seed + i, hinted);
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
    const worker = (await navigator.serviceWorker.ready).active, reply = new MessageChannel();
    const cached = new Promise(resolve => { reply.port1.onmessage = e => resolve(e.data); });
    worker.postMessage({cache: [...used]}, [reply.port2]);  // loaded before the worker was there
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
  ctx.fillStyle = `rgb(${paper(model).join(",")})`;
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
