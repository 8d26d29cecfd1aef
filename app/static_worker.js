// The static studio's worker (written out by app/static.py): a drawing's model inputs, computed as
// models.Translator computes them (app/static_inputs.js), and the generator (onnxruntime-web), both off the
// page's main thread, so the pen never waits for a photo, hints or not. The page posts
// {id, drawing, model, seed, colour}; the worker answers {id, image, asked, masks, hinted, parts} or {id, error}.
import * as ort from "./ort/ort.wasm.min.mjs";
import * as inputs from "./static_inputs.js";

ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
// Threads: onnxruntime-web's own choice, one unless the page is cross-origin isolated (the host's headers, or
// sw.js's), else up to 4 (half the cores: on 2 busy cores, 2 threads measured slower than 1).

const sessions = {};
let manifest = null;
let lastInput = null;  // the last drawing's inputs: a new seed, colour or variation skips the resize and hint fill

function sessionFor(m) {
  sessions[m.key] ??= (async () => {
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

// A PNG (data URL or a file of the page) as the page's canvas would read it.
async function pixels(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d", {willReadFrequently: true});
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

// The drawing (RGBA, any alpha composited on the paper colour) at model size, as the studio sizes it.
function drawingAt(ink, m) {
  const SIZE = manifest.size, CANVAS = manifest.canvas;
  if (ink.width !== CANVAS || ink.height !== CANVAS) throw new Error(`the drawing must be ${CANVAS} px square`);
  const rgb = new Uint8Array(CANVAS * CANVAS * 3), bg = m.paper, d = ink.data;
  for (let i = 0, j = 0; i < d.length; i += 4, j += 3) {
    const a = d[i + 3];
    for (let c = 0; c < 3; c++) rgb[j + c] = a === 255 ? d[i + c] : Math.round((d[i + c] * a + bg[c] * (255 - a)) / 255);
  }
  if (m.kind === "labels") {
    return inputs.snapToPalette(inputs.resizeNearest(rgb, CANVAS, CANVAS, SIZE, SIZE), manifest.labels);
  }
  return inputs.resizeBicubic(rgb, CANVAS, CANVAS, SIZE, SIZE);
}

// The generator's `x` for a drawing, without the palette planes (they depend on the seed and colour only).
async function computeInput(drawing, m) {
  const SIZE = manifest.size, x = new Float32Array(m.channels * SIZE * SIZE);
  inputs.toPlanes(drawingAt(drawing.ink || await pixels(drawing.image), m), SIZE, x, 0);
  let at = 3;
  const hinted = Boolean(m.hints && drawing.hintsUrl);
  if (m.hints) {
    if (hinted) {
      const h = drawing.hints || await pixels(drawing.hintsUrl);
      inputs.hintChannels(h.data, h.width, h.height, SIZE, x, 3);
    }
    at = 7;
  }
  if (m.fill) inputs.fillHints(x, SIZE, 3, at, m.fill);
  return {x, hinted};
}

async function photo({drawing, model: m, seed, colour}) {
  const session = await sessionFor(m);
  const SIZE = manifest.size, t0 = performance.now();
  if (!lastInput || lastInput.id !== drawing.id || lastInput.key !== m.key) {
    lastInput = {id: drawing.id, key: m.key, ...await computeInput(drawing, m)};
  }
  const x = lastInput.x.slice(), hinted = lastInput.hinted;
  // The overall colour as Translator takes it: the one picked, else none when hints say the colours, else
  // one drawn by the seed from the training photos' colours.
  const asked = colour || "auto";
  const planes = colour ? colour.map(v => v / 127.5 - 1) : hinted ? null : m.prior[inputs.paletteIndex(seed, m.prior.length)];
  if (m.palette) inputs.palettePlanes(planes, SIZE, x, m.channels - 4);
  const masks = inputs.dropoutMasks(seed, m.masks);
  const t1 = performance.now();
  const feeds = {x: new ort.Tensor("float32", x, [1, m.channels, SIZE, SIZE])};
  masks.forEach((mask, i) => { feeds[`mask${i + 1}`] = new ort.Tensor("float32", mask, m.masks[i]); });
  const {y} = await session.run(feeds);
  const image = new ImageData(SIZE, SIZE), n = SIZE * SIZE;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = Math.round((Math.min(Math.max(y.data[c * n + i], -1), 1) + 1) * 127.5);
    image.data[i * 4 + 3] = 255;
  }
  const parts = {inputs: t1 - t0, generator: performance.now() - t1};
  return {image, asked, masks, hinted, parts, threads: ort.env.wasm.numThreads};
}

self.onmessage = async ({data}) => {
  try {
    if (data.manifest) {
      manifest = data.manifest;
      sessionFor(manifest.models[0]).catch(() => {});  // the first photo's model, while the page sets up
      self.postMessage({id: data.id});
    } else {
      const out = await photo(data);
      self.postMessage({id: data.id, ...out}, [out.image.data.buffer]);
    }
  } catch (e) {
    self.postMessage({id: data.id, error: String(e.message || e)});
  }
};
