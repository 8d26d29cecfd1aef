// The static page's model inputs: what the Python studio computes before the generator, ported so the
// page gives the ONNX generator what PyTorch gets (tests/test_static_inputs.py runs each port beside the
// Python it mirrors, in node). Pure functions on typed arrays; no DOM, so node imports this file too.
//   resizeBicubic  <- PIL's Image.resize(BICUBIC) on 8-bit RGB (models.translator.Translator.prepare)
//   resizeNearest, snapToPalette <- PIL NEAREST + app.handlers.snap_to_palette (label maps)
//   hintChannels   <- models.hints.hint_tensor (area-pooled hint layer)
//   fillHints      <- models.hints.fill_hints (geodesic reach + nearest / harmonic colour)
//   paletteIndex   <- Generator.draw_palette with a seeded torch.Generator (mt19937)

// ---- mt19937, as torch's CPU generator: init_genrand(seed), 32-bit outputs ----
export function mt19937(seed) {
  const mt = new Uint32Array(624);
  mt[0] = seed >>> 0;
  for (let i = 1; i < 624; i++) {
    const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = (Math.imul(1812433253, p) + i) >>> 0;
  }
  let index = 624;
  return function next() {
    if (index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      index = 0;
    }
    let y = mt[index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
}

// torch.randint(n, (1,), generator=torch.Generator().manual_seed(seed)) for n < 2**32: first output % n.
export function paletteIndex(seed, n) {
  return mt19937(seed)() % n;
}

// The page's dropout noise for `seed`: keep-masks (1 = keep, probability 1/2) of the given shapes, drawn
// from their own mt19937 stream (PyTorch's own draw is MKL's and cannot be replayed here; the page hands
// its masks to PyTorch instead, see Generator.net).
export function dropoutMasks(seed, shapes) {
  const next = mt19937((seed ^ 0x5bd1e995) >>> 0);
  return shapes.map(shape => {
    const m = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < m.length; i++) m[i] = next() < 0x80000000 ? 1 : 0;
    return m;
  });
}

// ---- PIL resampling of 8-bit RGB(A) (Resample.c): separable, fixed-point with 22 fraction bits ----
const PRECISION_BITS = 32 - 8 - 2;

function bicubic(x) {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Int32Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) / filterscale);
      ww += w[x];
    }
    for (let x = 0; x < ksize; x++) {
      const k = x < xmax && ww !== 0 ? w[x] / ww : 0;
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return {kk, bounds, ksize};
}

const clip8 = v => { const s = v >> PRECISION_BITS; return s < 0 ? 0 : s > 255 ? 255 : s; };

// rgb: Uint8Array h*w*3 -> Uint8Array outH*outW*3, as PIL's resize((outW, outH), BICUBIC): rows first,
// then columns, each pass rounded to 8 bits. Int32 sums are exact: |sum| < 255 * 2**22 * 1.3 < 2**31.
export function resizeBicubic(rgb, w, h, outW, outH) {
  let src = rgb, sw = w;
  if (outW !== w) {
    const {kk, bounds, ksize} = coefficients(w, outW);
    const out = new Uint8Array(h * outW * 3);
    for (let y = 0; y < h; y++) {
      const row = y * sw * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[2 * xx], xmax = bounds[2 * xx + 1], k = xx * ksize;
        let r = 1 << (PRECISION_BITS - 1), g = r, b = r;
        for (let x = 0, i = row + xmin * 3; x < xmax; x++, i += 3) {
          const wt = kk[k + x];
          r += src[i] * wt; g += src[i + 1] * wt; b += src[i + 2] * wt;
        }
        const o = (y * outW + xx) * 3;
        out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b);
      }
    }
    src = out; sw = outW;
  }
  if (outH !== h) {
    const {kk, bounds, ksize} = coefficients(h, outH);
    const stride = sw * 3, out = new Uint8Array(outH * stride), acc = new Int32Array(stride);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[2 * yy], ymax = bounds[2 * yy + 1], k = yy * ksize;
      acc.fill(1 << (PRECISION_BITS - 1));
      for (let y = 0; y < ymax; y++) {
        const wt = kk[k + y], row = (y + ymin) * stride;
        for (let i = 0; i < stride; i++) acc[i] += src[row + i] * wt;
      }
      for (let i = 0; i < stride; i++) out[yy * stride + i] = clip8(acc[i]);
    }
    src = out;
  }
  return src === rgb ? rgb.slice() : src;
}

// PIL's resize(NEAREST): output pixel x reads input floor((x + 0.5) * in / out).
export function resizeNearest(rgb, w, h, outW, outH) {
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const sy = Math.trunc((y + 0.5) * h / outH);
    for (let x = 0; x < outW; x++) {
      const sx = Math.trunc((x + 0.5) * w / outW);
      for (let c = 0; c < 3; c++) out[(y * outW + x) * 3 + c] = rgb[(sy * w + sx) * 3 + c];
    }
  }
  return out;
}

// Each pixel -> the nearest of `palette` ([[r, g, b], ...]) by squared distance, first on ties.
export function snapToPalette(rgb, palette) {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    let best = 0, bestD = Infinity;
    for (let p = 0; p < palette.length; p++) {
      const dr = rgb[i] - palette[p][0], dg = rgb[i + 1] - palette[p][1], db = rgb[i + 2] - palette[p][2];
      const d = dr * dr + dg * dg + db * db;
      if (d < bestD) { bestD = d; best = p; }
    }
    out.set(palette[best], i);
  }
  return out;
}

// 8-bit RGB -> planes in [-1, 1] (to_tensor), written into `out` at channel `at` of a C x S x S array.
export function toPlanes(rgb, size, out, at) {
  const n = size * size;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[(at + c) * n + i] = rgb[i * 3 + c] / 127.5 - 1;
  }
}

// RGBA hint layer (w x h, alpha > 0 = a hint) -> 4 planes (colour in [-1, 1], mask) at size x size:
// area pooling, a cell hinted if any pixel in it is; its colour the mean of its hinted pixels.
export function hintChannels(rgba, w, h, size, out, at) {
  const n = size * size;
  for (let y = 0; y < size; y++) {
    const y0 = Math.floor(y * h / size), y1 = Math.ceil((y + 1) * h / size);
    for (let x = 0; x < size; x++) {
      const x0 = Math.floor(x * w / size), x1 = Math.ceil((x + 1) * w / size);
      let r = 0, g = 0, b = 0, m = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const i = (yy * w + xx) * 4;
          if (rgba[i + 3] > 0) {
            r += rgba[i] / 127.5 - 1; g += rgba[i + 1] / 127.5 - 1; b += rgba[i + 2] / 127.5 - 1; m += 1;
          }
        }
      }
      const j = y * size + x;
      out[at * n + j] = m ? r / m : 0;
      out[(at + 1) * n + j] = m ? g / m : 0;
      out[(at + 2) * n + j] = m ? b / m : 0;
      out[(at + 3) * n + j] = m ? 1 : 0;
    }
  }
  return out;
}

// ---- the hint fill (models.hints.fill_hints) ----
export const FILL_SIZE = 64;
const FILL_WALL = 2 * FILL_SIZE;
const f32 = Math.fround;

// x: the C x S x S input whose planes 0-2 are the lines and `at`..`at`+3 the hints; writes the 4 fill
// planes (colour, reach) at `to`.
export function fillHints(x, size, at, to, mode) {
  const s = FILL_SIZE, n = size * size, cell = size / s, area = cell * cell;
  const cost = new Float32Array(s * s), hinted = new Uint8Array(s * s), colour = new Float32Array(3 * s * s);
  for (let gy = 0; gy < s; gy++) {
    for (let gx = 0; gx < s; gx++) {
      let inkMax = -Infinity, m = 0, r = 0, g = 0, b = 0;
      for (let yy = gy * cell; yy < (gy + 1) * cell; yy++) {
        for (let xx = gx * cell; xx < (gx + 1) * cell; xx++) {
          const i = yy * size + xx;
          const mean = f32(f32(f32(x[i] + x[n + i]) + x[2 * n + i]) / 3);
          inkMax = Math.max(inkMax, f32(f32(1 - mean) / 2));
          const mk = x[(at + 3) * n + i];
          m += mk; r += x[at * n + i] * mk; g += x[(at + 1) * n + i] * mk; b += x[(at + 2) * n + i] * mk;
        }
      }
      const j = gy * s + gx;
      cost[j] = f32(1 + f32(FILL_WALL * inkMax));
      const mask = f32(m / area);
      hinted[j] = mask > 0 ? 1 : 0;
      if (hinted[j]) {
        colour[j] = f32(f32(r / area) / mask);
        colour[s * s + j] = f32(f32(g / area) / mask);
        colour[2 * s * s + j] = f32(f32(b / area) / mask);
      }
    }
  }
  const {reach, nearest} = geodesic(cost, hinted, colour, s);
  const fill = mode === "harmonic" ? harmonic(cost, hinted, colour, s) : nearest;
  for (let c = 0; c < 3; c++) upsample(fill.subarray(c * s * s, (c + 1) * s * s), s, size, x, (to + c) * n);
  upsample(reach, s, size, x, (to + 3) * n);
  return x;
}

// The shortest paths from the hinted cells, 8-neighbour moves, each step's length in float32 as fill_hints
// adds it. fill_hints relaxes (Bellman-Ford) until nothing shortens; Dijkstra reaches the same distances
// (with steps >= 1, rounding keeps every sum growing, so those equations have one solution) in a fraction of
// the time. The nearest hint's colour comes along the path; where two paths tie exactly, the two may pick
// different hints.
function geodesic(cost, hinted, colour, s) {
  const N = s * s, far = s * s * (FILL_WALL + 2);
  const dist = new Float32Array(N).fill(far), col = colour.slice(), done = new Uint8Array(N);
  const moves = [];
  for (const dy of [-1, 0, 1]) for (const dx of [-1, 0, 1]) if (dy || dx) moves.push([dy, dx, f32(Math.hypot(dy, dx))]);
  const step = moves.map(([, , h]) => cost.map(c => f32(h * c)));
  // A binary min-heap of (distance, cell), stale entries skipped when popped.
  let size = 0;
  const keys = new Float32Array(8 * N + N), cells = new Int32Array(8 * N + N);
  const push = (k, c) => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= k) break;
      keys[i] = keys[parent]; cells[i] = cells[parent]; i = parent;
    }
    keys[i] = k; cells[i] = c;
  };
  const pop = () => {
    const top = cells[0], k = keys[--size], c = cells[size];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && keys[child + 1] < keys[child]) child += 1;
      if (keys[child] >= k) break;
      keys[i] = keys[child]; cells[i] = cells[child]; i = child;
    }
    keys[i] = k; cells[i] = c;
    return top;
  };
  for (let i = 0; i < N; i++) if (hinted[i]) { dist[i] = 0; push(0, i); }
  while (size) {
    const u = pop();
    if (done[u]) continue;
    done[u] = 1;
    const uy = Math.floor(u / s), ux = u - uy * s;
    for (let mi = 0; mi < 8; mi++) {
      // a move (dy, dx) into v comes from u = v + (dy, dx): from u, v = u - (dy, dx)
      const vy = uy - moves[mi][0], vx = ux - moves[mi][1];
      if (vy < 0 || vy >= s || vx < 0 || vx >= s) continue;
      const v = vy * s + vx, cand = f32(dist[u] + step[mi][v]);
      if (cand < dist[v]) {
        dist[v] = cand;
        for (let c = 0; c < 3; c++) col[c * N + v] = col[c * N + u];
        push(cand, v);
      }
    }
  }
  const reach = new Float32Array(N);
  for (let i = 0; i < N; i++) reach[i] = dist[i] < far ? f32(Math.exp(-dist[i] / s)) : 0;
  return {reach, nearest: col};
}

// The harmonic interpolant: hinted cells keep their colour, the rest solve L_ff x_f = -L_fk x_k with
// conductance 2 / (c_a + c_b) between 4-neighbours. Fixed cells become identity rows and columns, so the
// system stays symmetric positive definite with bandwidth s: a banded Cholesky solves it exactly.
function harmonic(cost, hinted, colour, s) {
  const N = s * s, out = new Float32Array(3 * N);
  if (!hinted.some(v => v)) return out;
  const band = s + 1;  // A[i][i - k] for k = 0..s, stored at a[i * band + k]
  const a = new Float64Array(N * band), rhs = [0, 1, 2].map(() => new Float64Array(N));
  const link = (i, j) => {
    const g = 2 / (cost[i] + cost[j]);
    for (const [p, q] of [[i, j], [j, i]]) {
      if (hinted[p]) continue;
      a[p * band] += g;
      if (hinted[q]) for (let c = 0; c < 3; c++) rhs[c][p] += g * colour[c * N + q];
      else if (q < p) a[p * band + (p - q)] -= g;
    }
  };
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const i = y * s + x;
      if (x + 1 < s) link(i, i + 1);
      if (y + 1 < s) link(i, i + s);
    }
  }
  for (let i = 0; i < N; i++) {
    if (hinted[i]) {
      a[i * band] = 1;
      for (let c = 0; c < 3; c++) rhs[c][i] = colour[c * N + i];
    }
  }
  // In-place banded Cholesky: A = L L^T, L[i][i - k] at a[i * band + k]. A fixed cell's row is the identity
  // and stays so.
  for (let i = 0; i < N; i++) {
    if (hinted[i]) continue;
    const ri = i * band;
    for (let k = Math.min(s, i); k >= 1; k--) {
      const rj = (i - k) * band, top = Math.min(s - k, i - k);
      let sum = a[ri + k];
      for (let m = 1; m <= top; m++) sum -= a[ri + k + m] * a[rj + m];
      a[ri + k] = sum / a[rj];
    }
    let d = a[ri];
    for (let k = 1, top = Math.min(s, i); k <= top; k++) d -= a[ri + k] * a[ri + k];
    a[ri] = Math.sqrt(d);
  }
  for (let c = 0; c < 3; c++) {
    const b = rhs[c];
    for (let i = 0; i < N; i++) {
      let sum = b[i];
      for (let k = 1; k <= Math.min(s, i); k++) sum -= a[i * band + k] * b[i - k];
      b[i] = sum / a[i * band];
    }
    for (let i = N - 1; i >= 0; i--) {
      let sum = b[i];
      for (let k = 1; k <= s && i + k < N; k++) sum -= a[(i + k) * band + k] * b[i + k];
      b[i] = sum / a[i * band];
    }
    for (let i = 0; i < N; i++) out[c * N + i] = hinted[i] ? colour[c * N + i] : b[i];
  }
  return out;
}

// F.interpolate(bilinear, align_corners=False) of one s x s plane to size x size, into out[offset..].
function upsample(plane, s, size, out, offset) {
  const scale = s / size;
  const src = v => Math.max(f32(f32(scale * (v + 0.5)) - 0.5), 0);
  for (let y = 0; y < size; y++) {
    const fy = src(y), y0 = Math.floor(fy), y1 = Math.min(y0 + 1, s - 1), ly = f32(fy - y0);
    for (let x = 0; x < size; x++) {
      const fx = src(x), x0 = Math.floor(fx), x1 = Math.min(x0 + 1, s - 1), lx = f32(fx - x0);
      const top = (1 - lx) * plane[y0 * s + x0] + lx * plane[y0 * s + x1];
      const bottom = (1 - lx) * plane[y1 * s + x0] + lx * plane[y1 * s + x1];
      out[offset + y * size + x] = (1 - ly) * top + ly * bottom;
    }
  }
}

// Palette planes (models.hints.palette_planes): an object colour in [-1, 1] (or null: none given).
export function palettePlanes(rgb, size, out, at) {
  const n = size * size, v = rgb ? [...rgb, 1] : [0, 0, 0, 0];
  for (let c = 0; c < 4; c++) out.fill(v[c], (at + c) * n, (at + c + 1) * n);
}
