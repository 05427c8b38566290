// Predict with a model exported by studio, in Node.js (20.9 or later).
//
//     npm install            # the packages pinned in package.json
//     node predict.mjs IMAGE [IMAGE ...]          (image models: onnxruntime-node and sharp)
//     node predict.mjs SOUND.wav [SOUND.wav ...]  (sound models: onnxruntime-node only)
//     node predict.mjs POSE.json [POSE.json ...]  (pose models: onnxruntime-node only)
//
// prints one line per file: <path><TAB><label><TAB><confidence>, like predict.py
// (--json prints one JSON object per line with every class's confidence).
//
// The input-to-features step is metadata.json's "feature_spec", reimplemented here to give
// the numbers studio's Python code gives: images are decoded by sharp (libjpeg-turbo, as
// Pillow), resized as Pillow's BILINEAR filter does, HOG is computed as OpenCV's
// HOGDescriptor does, in 32-bit floats, and GIST and LBP as studio's image_kernel.py does.
// WAV files are read as scipy.io.wavfile reads them, resampled as scipy.signal.resample_poly
// does, and turned into log-mel, MFCC and HOG features as studio's sound_kernel.py does (in float64).
// For pretrained features model.onnx starts with the network itself: this script only frames,
// resizes and scales the image into the network's input; likewise for the speech embedding it only
// resamples the clip and frames its loudest second in two seconds of silence (Google's
// speech_embedding network, Apache-2.0: see NOTICE-speech-embedding.txt). Pose models read landmark
// JSON and compute their features with pose_kernel.mjs, beside this script.
//
// Its Python twins are studio/features/image_kernel.py, sound_kernel.py, pose_kernel.py, pretrained.py and
// speech.py.

import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ort from 'onnxruntime-node';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const f32 = Math.fround;

/** Decode an image file to 8-bit RGB as studio does (with Pillow): EXIF rotation applied, no colour
 * management, transparency composited on white, CMYK and 16-bit grey converted as Pillow converts them. */
export async function loadRgb(file) {
  const { default: sharp } = await import('sharp'); // only image models need it (and list it in package.json)
  const options = { autoOrient: true, ignoreIcc: true, limitInputPixels: 40_000_000 };
  const meta = await sharp(file, options).metadata();
  let image = sharp(file, options);
  let depth = 'uchar';
  if (meta.space === 'cmyk') {
    image = image.pipelineColourspace('cmyk').toColourspace('cmyk');
  } else if (meta.space === 'grey16') {
    image = image.toColourspace('grey16');
    depth = 'ushort';
  }
  const { data, info } = await image.raw({ depth }).toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (meta.space === 'cmyk') {
    for (let i = 0; i < n; i++) {
      const nk = 255 - data[i * 4 + 3];
      for (let c = 0; c < 3; c++) {
        const t = data[i * 4 + c] * nk + 128;
        out[i * 3 + c] = Math.max(0, nk - (((t >> 8) + t) >> 8));
      }
    }
    return { width, height, data: out };
  }
  if (depth === 'ushort') { // studio scales 16-bit grey to 8 bits, rounding down
    const words = new Uint16Array(data.buffer, data.byteOffset, n * channels);
    let top = 0;
    for (let i = 0; i < n; i++) top = Math.max(top, words[i * channels]);
    top = top > 255 ? 65535 : 255;
    for (let i = 0; i < n; i++) out.fill(Math.min(255, Math.trunc((words[i * channels] / top) * 255)), i * 3, i * 3 + 3);
    return { width, height, data: out };
  }
  const grey = channels < 3;
  // Pillow keeps the alpha of RGBA, LA and palette images only, not a PNG's tRNS colour key on grey or RGB
  const alpha = (channels === 2 || channels === 4) && !(await pngColourKeyed(file));
  for (let i = 0; i < n; i++) {
    const a = alpha ? data[i * channels + channels - 1] : 255;
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + (grey ? 0 : c)];
      out[i * 3 + c] = alpha ? composite(v, a) : v;
    }
  }
  return { width, height, data: out };
}

/** Whether ``file`` is a grey or RGB PNG (colour type 0 or 2), whose only transparency is a tRNS colour key. */
async function pngColourKeyed(file) {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(26);
    await handle.read(head, 0, 26, 0);
    const png = head.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    return png && (head[25] === 0 || head[25] === 2);
  } finally {
    await handle.close();
  }
}

/** One channel of Pillow's alpha_composite of (v, a) over opaque white, in its integer arithmetic. */
function composite(v, a) {
  if (a === 0) return 255;
  const t = 128 * (v * a + 255 * (255 - a)) + 16384;
  return (((t >> 8) + t) >> 8) >> 7;
}

function crop(img, top, left, h, w) {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    const start = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(start, start + w * 3), y * w * 3);
  }
  return { width: w, height: h, data: out };
}

/** Teachable Machine's framing: the largest centred square. */
function centerSquare(img) {
  const side = Math.min(img.width, img.height);
  return crop(img, Math.floor((img.height - side) / 2), Math.floor((img.width - side) / 2), side, side);
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** MNIST-style framing: crop to the ink's bounding box, pad to a centred square on white. */
function sketchSquare(img, framing) {
  let top = img.height, bottom = -1, left = img.width, right = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      if (Math.min(img.data[i], img.data[i + 1], img.data[i + 2]) < framing.ink_below) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) throw new Error('The sketch is empty: draw something first.');
  const ink = crop(img, top, left, bottom - top + 1, right - left + 1);
  const side = Math.max(ink.width, ink.height);
  const pad = Math.max(1, roundHalfEven(side * framing.margin));
  const n = side + 2 * pad;
  const out = { width: n, height: n, data: new Uint8Array(n * n * 3).fill(255) };
  const oy = pad + Math.floor((side - ink.height) / 2), ox = pad + Math.floor((side - ink.width) / 2);
  for (let y = 0; y < ink.height; y++) {
    out.data.set(ink.data.subarray(y * ink.width * 3, (y + 1) * ink.width * 3), ((oy + y) * n + ox) * 3);
  }
  return out;
}

/** Pillow's fixed-point coefficients for one axis of a BILINEAR resize. */
function bilinearCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const rows = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) / filterScale));
      k.push(w);
      total += w;
    }
    const fixed = k.map((w) => {
      const v = (total !== 0 ? w / total : w) * 4194304; // 1 << 22
      return Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    });
    rows.push({ xmin, fixed });
  }
  return rows;
}

function clip8(sum) {
  return Math.min(255, Math.max(0, Math.floor(sum / 4194304)));
}

/** Pillow's Image.resize(size, BILINEAR) of an RGB image: a horizontal pass, then a vertical one. */
function resizeBilinear(img, size) {
  const hc = bilinearCoefficients(img.width, size), vc = bilinearCoefficients(img.height, size);
  const tmp = new Uint8Array(img.height * size * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < size; x++) {
      const { xmin, fixed } = hc[x];
      for (let c = 0; c < 3; c++) {
        let s = 2097152; // 1 << 21
        for (let i = 0; i < fixed.length; i++) s += img.data[(y * img.width + xmin + i) * 3 + c] * fixed[i];
        tmp[(y * size + x) * 3 + c] = clip8(s);
      }
    }
  }
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const { xmin: ymin, fixed } = vc[y];
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 2097152;
        for (let i = 0; i < fixed.length; i++) s += tmp[((ymin + i) * size + x) * 3 + c] * fixed[i];
        out[(y * size + x) * 3 + c] = clip8(s);
      }
    }
  }
  return { width: size, height: size, data: out };
}

const GREY_WEIGHTS = [f32(0.299), f32(0.587), f32(0.114)];

/** grey = round(0.299 R + 0.587 G + 0.114 B) in 32-bit floats, with fused multiply-adds as numpy's
 * matmul does them on x86-64 (a product of two 32-bit floats is exact in a double). */
function greyPlane(img) {
  const n = img.width * img.height, out = new Uint8Array(n), d = img.data;
  const [wr, wg, wb] = GREY_WEIGHTS;
  for (let i = 0; i < n; i++) {
    out[i] = roundHalfEven(f32(d[i * 3 + 2] * wb + f32(d[i * 3 + 1] * wg + f32(d[i * 3] * wr))));
  }
  return out;
}

function channelPlane(img, c) {
  const n = img.width * img.height, out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = img.data[i * 3 + c];
  return out;
}

const DEG = f32(180 / Math.PI);
const ATAN = [0.9997878412794807, -0.3258083974640975, 0.1555786518463281, -0.04432655554792128].map((p) => f32(f32(p) * DEG));
const EPS = f32(2.220446049250313e-16);
const TO_RAD = f32(Math.PI / 180);

/** OpenCV's fastAtan2 in degrees: 32-bit floats, the polynomial in fused multiply-adds (x86-64 AVX2). */
function fastAtan2(y, x) {
  const ax = Math.abs(x), ay = Math.abs(y);
  const c = f32(Math.min(ax, ay) / f32(Math.max(ax, ay) + EPS));
  const c2 = f32(c * c);
  let a = f32(f32(f32(f32(ATAN[3] * c2 + ATAN[2]) * c2 + ATAN[1]) * c2 + ATAN[0]) * c);
  if (ax < ay) a = f32(90 - a);
  if (x < 0) a = f32(180 - a);
  if (y < 0) a = f32(360 - a);
  return a;
}

/** OpenCV's HOGDescriptor(win=size, block=2*cell, stride=cell, cell, nbins).compute on one 8-bit plane,
 * or on three (an RGB image), where each pixel's gradient is that of the plane where it is strongest. */
function hogPlane(planes, size, cell, nbins) {
  // gradients, with the border reflected as OpenCV's BORDER_REFLECT_101 does
  const at = (i) => (i < 0 ? -i : i >= size ? 2 * size - 2 - i : i);
  const mag0 = new Float32Array(size * size), mag1 = new Float32Array(size * size);
  const bin0 = new Uint8Array(size * size), bin1 = new Uint8Array(size * size);
  const angleScale = f32(nbins / Math.PI);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let dx = 0, dy = 0, best = -1;
      for (const plane of planes) { // the strongest plane's gradient; a tie goes to the first (OpenCV's SIMD path)
        const gx = plane[y * size + at(x + 1)] - plane[y * size + at(x - 1)];
        const gy = plane[at(y + 1) * size + x] - plane[at(y - 1) * size + x];
        if (gx * gx + gy * gy > best) [dx, dy, best] = [gx, gy, gx * gx + gy * gy];
      }
      const mag = f32(Math.sqrt(dx * dx + dy * dy));
      let angle = f32(f32(f32(fastAtan2(dy, dx) * TO_RAD) * angleScale) - 0.5);
      let h = Math.floor(angle);
      angle = f32(angle - h);
      const i = y * size + x;
      mag0[i] = f32(mag * f32(1 - angle));
      mag1[i] = f32(mag * angle);
      if (h < 0) h += nbins;
      else if (h >= nbins) h -= nbins;
      bin0[i] = h;
      bin1[i] = h + 1 < nbins ? h + 1 : 0;
    }
  }
  // per-pixel weights inside a block: a Gaussian window and bilinear shares of up to four cells
  const block = 2 * cell, ncells = 2, histSize = ncells * ncells * nbins;
  const sigma = f32((block + block) / 8), scale = f32(1 / f32(f32(sigma * sigma) * 2));
  const half = f32(block * 0.5);
  const groups = [[], [], []];
  for (let j = 0; j < block; j++) {
    for (let i = 0; i < block; i++) {
      let cx = f32(f32((j + 0.5) / cell) - 0.5), cy = f32(f32((i + 0.5) / cell) - 0.5);
      const x0 = Math.floor(cx), y0 = Math.floor(cy);
      cx = f32(cx - x0);
      cy = f32(cy - y0);
      const xs = [], ys = [];
      if (x0 >= 0) xs.push([x0, f32(1 - cx)]);
      if (x0 + 1 < ncells) xs.push([x0 + 1, cx]);
      if (y0 >= 0) ys.push([y0, f32(1 - cy)]);
      if (y0 + 1 < ncells) ys.push([y0 + 1, cy]);
      const di = f32(f32(i - half) * f32(i - half)), dj = f32(f32(j - half) * f32(j - half));
      const weight = f32(Math.exp(f32(-f32(di + dj) * scale)));
      const cells = [];
      // OpenCV's order: (x0,y0), (x1,y0), (x0,y1), (x1,y1)
      for (const [cyIndex, wy] of ys) {
        for (const [cxIndex, wx] of xs) cells.push([(cxIndex * ncells + cyIndex) * nbins, f32(weight * f32(wx * wy))]);
      }
      groups[cells.length === 1 ? 0 : cells.length === 2 ? 1 : 2].push({ offset: i * size + j, cells });
    }
  }
  const pixels = groups.flat();
  const nblocks = (size - block) / cell + 1;
  const out = new Float32Array(nblocks * nblocks * histSize);
  for (let bx = 0; bx < nblocks; bx++) {
    for (let by = 0; by < nblocks; by++) {
      const hist = out.subarray((bx * nblocks + by) * histSize, (bx * nblocks + by + 1) * histSize);
      const base = by * cell * size + bx * cell;
      for (const { offset, cells } of pixels) {
        const p = base + offset;
        for (const [h, w] of cells) {
          hist[h + bin0[p]] = f32(hist[h + bin0[p]] + f32(mag0[p] * w));
          hist[h + bin1[p]] = f32(hist[h + bin1[p]] + f32(mag1[p] * w));
        }
      }
      normalizeL2Hys(hist);
    }
  }
  return out;
}

/** Sum of squares as OpenCV adds it: four running lanes, then the lanes, then the tail. */
function sumSquares(hist) {
  const lanes = [0, 0, 0, 0];
  let i = 0;
  for (; i + 4 <= hist.length; i += 4) {
    for (let l = 0; l < 4; l++) lanes[l] = f32(lanes[l] + f32(hist[i + l] * hist[i + l]));
  }
  let sum = f32(f32(lanes[0] + lanes[1]) + f32(lanes[2] + lanes[3]));
  for (; i < hist.length; i++) sum = f32(sum + f32(hist[i] * hist[i]));
  return sum;
}

function normalizeL2Hys(hist) {
  const threshold = f32(0.2);
  let scale = f32(1 / f32(f32(Math.sqrt(sumSquares(hist))) + f32(hist.length * f32(0.1))));
  for (let i = 0; i < hist.length; i++) hist[i] = Math.min(f32(hist[i] * scale), threshold);
  scale = f32(1 / f32(f32(Math.sqrt(sumSquares(hist))) + f32(1e-3)));
  for (let i = 0; i < hist.length; i++) hist[i] = f32(hist[i] * scale);
}

/** The float32 feature vector of a decoded RGB image, as studio's features.extract computes it. */
export function extract(img, spec, framing) {
  let square = spec.framing === 'sketch' ? sketchSquare(img, framing) : centerSquare(img);
  if (square.width !== spec.size) square = resizeBilinear(square, spec.size);
  return fromFramed(square, spec);
}

function concat(parts) {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** The features of a framed square (resized to each part's own size if need be). */
function fromFramed(square, spec) {
  if (spec.kind === 'combined') {
    return concat(spec.parts.map((p) => fromFramed(square.width === p.size ? square : resizeBilinear(square, p.size), p)));
  }
  if (spec.kind === 'gist') return gist(greyPlane(square), spec);
  if (spec.kind === 'lbp') return lbp(greyPlane(square), spec);
  const color = spec.color ?? true;
  if (spec.kind === 'pixels') {
    const values = color ? square.data : greyPlane(square);
    return Float32Array.from(values, (v) => f32(v / 255));
  }
  const planes = color ? [0, 1, 2].map((c) => channelPlane(square, c)) : [greyPlane(square)];
  if (color && spec.channels === 'max') return hogPlane(planes, spec.size, spec.cell, spec.bins ?? 9);
  return concat(planes.map((p) => hogPlane([p], spec.size, spec.cell, spec.bins ?? 9)));
}

const TWIDDLES = new Map();

/** cos and sin of 2 pi j / n for j < n. */
function twiddles(n) {
  if (!TWIDDLES.has(n)) {
    TWIDDLES.set(n, [Float64Array.from({ length: n }, (_, j) => Math.cos((2 * Math.PI * j) / n)),
      Float64Array.from({ length: n }, (_, j) => Math.sin((2 * Math.PI * j) / n))]);
  }
  return TWIDDLES.get(n);
}

/** In-place discrete Fourier transform of a complex sequence (re, im) of any length (mixed radix);
 * sign -1 forward, +1 inverse (unscaled), as numpy.fft's. */
function dft(re, im, sign) {
  const n = re.length;
  if (n === 1) return;
  let p = 2;
  while (n % p) p++;
  const m = n / p;
  const subRe = [], subIm = [];
  for (let r = 0; r < p; r++) {
    const sr = new Float64Array(m), si = new Float64Array(m);
    for (let k = 0; k < m; k++) { sr[k] = re[k * p + r]; si[k] = im[k * p + r]; }
    dft(sr, si, sign);
    subRe.push(sr); subIm.push(si);
  }
  const [cos, sin] = twiddles(n);
  for (let k = 0; k < n; k++) {
    let accRe = 0, accIm = 0;
    for (let r = 0; r < p; r++) {
      const j = (r * k) % n, c = cos[j], s = sign * sin[j], a = subRe[r][k % m], b = subIm[r][k % m];
      accRe += a * c - b * s;
      accIm += a * s + b * c;
    }
    re[k] = accRe; im[k] = accIm;
  }
}

/** numpy.fft.rfft2 of a real n x n image: n rows of n/2 + 1 complex values. */
function rfft2(values, n) {
  const half = Math.floor(n / 2) + 1;
  const rows = [];
  for (let y = 0; y < n; y++) {
    const re = Float64Array.from(values.subarray(y * n, (y + 1) * n)), im = new Float64Array(n);
    dft(re, im, -1);
    rows.push([re.slice(0, half), im.slice(0, half)]);
  }
  const outRe = new Float64Array(n * half), outIm = new Float64Array(n * half);
  for (let x = 0; x < half; x++) {
    const re = Float64Array.from(rows, (r) => r[0][x]), im = Float64Array.from(rows, (r) => r[1][x]);
    dft(re, im, -1);
    for (let y = 0; y < n; y++) { outRe[y * half + x] = re[y]; outIm[y * half + x] = im[y]; }
  }
  return [outRe, outIm];
}

/** numpy.fft.irfft2(spectrum, s=(n, n)): the imaginary parts of each row's first and Nyquist bins are ignored. */
function irfft2(specRe, specIm, n) {
  const half = Math.floor(n / 2) + 1;
  const colRe = new Float64Array(n * half), colIm = new Float64Array(n * half);
  for (let x = 0; x < half; x++) {
    const re = new Float64Array(n), im = new Float64Array(n);
    for (let y = 0; y < n; y++) { re[y] = specRe[y * half + x]; im[y] = specIm[y * half + x]; }
    dft(re, im, 1);
    for (let y = 0; y < n; y++) { colRe[y * half + x] = re[y]; colIm[y * half + x] = im[y]; }
  }
  const out = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    const re = new Float64Array(n), im = new Float64Array(n);
    for (let x = 0; x < half; x++) {
      re[x] = colRe[y * half + x];
      im[x] = x === 0 || 2 * x === n ? 0 : colIm[y * half + x];
      if (x > 0 && 2 * x < n) { re[n - x] = re[x]; im[n - x] = -im[x]; }
    }
    dft(re, im, 1);
    for (let x = 0; x < n; x++) out[y * n + x] = re[x] / (n * n);
  }
  return out;
}

/** numpy.fft.fftfreq(n)[i]. */
function fftfreq(i, n) {
  return (i < Math.ceil(n / 2) ? i : i - n) / n;
}

const GIST_BANKS = new Map();

/** GIST's low-pass filter and filter bank for a size, made once (as features._gist_filters). */
function gistFilters(n, scales, orients) {
  const key = `${n}/${scales}/${orients}`;
  if (GIST_BANKS.has(key)) return GIST_BANKS.get(key);
  const half = Math.floor(n / 2) + 1, sigma = 4;
  const lowpass = new Float64Array(n * half);
  const filters = [];
  for (let s = 0; s < scales; s++) {
    for (let o = 0; o < orients; o++) filters.push({ f0: 0.35 / 2 ** s, t0: (Math.PI * o) / orients });
  }
  const bank = filters.map(() => new Float32Array(n * half));
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < half; x++) {
      const fy = fftfreq(y, n), fx = x / n;
      const radius = Math.max(Math.hypot(fx, fy), 1e-6), theta = Math.atan2(fy, fx);
      lowpass[y * half + x] = Math.exp(-2 * (Math.PI * sigma * radius) ** 2);
      filters.forEach(({ f0, t0 }, k) => {
        let turn = Math.abs(Math.atan2(Math.sin(theta - t0), Math.cos(theta - t0)));
        turn = Math.min(turn, Math.PI - turn);
        bank[k][y * half + x] = Math.exp(-(Math.log(radius / f0) ** 2) / (2 * Math.log(1.6) ** 2)
          - turn ** 2 / (2 * (Math.PI / orients / 1.2) ** 2));
      });
    }
  }
  GIST_BANKS.set(key, [lowpass, bank]);
  return [lowpass, bank];
}

/** studio's GIST: see features._gist. */
function gist(grey, spec) {
  const n = spec.size, grid = spec.grid;
  const [lowpass, bank] = gistFilters(n, spec.scales, spec.orients);
  const smooth = (values) => {
    const [re, im] = rfft2(values, n);
    for (let i = 0; i < re.length; i++) { re[i] *= lowpass[i]; im[i] *= lowpass[i]; }
    return irfft2(re, im, n);
  };
  let g = Float64Array.from(grey, (v) => Math.log1p(v));
  const blurred = smooth(g);
  g = g.map((v, i) => v - blurred[i]);
  const energy = smooth(g.map((v) => v * v));
  g = g.map((v, i) => v / Math.sqrt(Math.max(energy[i], 0) + 0.01));
  const [re, im] = rfft2(g, n);
  const cell = n / grid, out = new Float64Array(bank.length * grid * grid);
  bank.forEach((filter, k) => {
    const response = irfft2(re.map((v, i) => v * filter[i]), im.map((v, i) => v * filter[i]), n);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        out[(k * grid + Math.floor(y / cell)) * grid + Math.floor(x / cell)] += Math.abs(response[y * n + x]);
      }
    }
  });
  return Float32Array.from(out, (v) => f32(Math.sqrt(v / (cell * cell))));
}

const LBP_NEIGHBOURS = [[-1, -1], [-1, 0], [-1, 1], [0, 1], [1, 1], [1, 0], [1, -1], [0, -1]];

/** Label of each 8-bit LBP code: 0-57 for the uniform ones in increasing order, 58 for the rest. */
const LBP_LABELS = (() => {
  const labels = new Uint8Array(256).fill(58);
  let next = 0;
  for (let code = 0; code < 256; code++) {
    let changes = code ^ (((code << 1) | (code >> 7)) & 255), bits = 0;
    for (; changes; changes >>= 1) bits += changes & 1;
    if (bits <= 2) labels[code] = next++;
  }
  return labels;
})();

/** studio's LBP: see features._lbp. */
function lbp(grey, spec) {
  const n = spec.size, grid = spec.grid, inner = n - 2;
  const edges = Array.from({ length: grid + 1 }, (_, i) => Math.trunc((inner * i) / grid));
  const cellOf = (i) => { let c = 0; while (c + 1 < grid && i >= edges[c + 1]) c++; return c; };
  const hist = new Float64Array(grid * grid * 59);
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const centre = grey[y * n + x];
      let code = 0;
      LBP_NEIGHBOURS.forEach(([dy, dx], bit) => { if (grey[(y + dy) * n + x + dx] >= centre) code |= 1 << bit; });
      hist[(cellOf(y - 1) * grid + cellOf(x - 1)) * 59 + LBP_LABELS[code]] += 1;
    }
  }
  const out = new Float32Array(hist.length);
  for (let c = 0; c < grid * grid; c++) {
    let total = 0;
    for (let b = 0; b < 59; b++) total += hist[c * 59 + b];
    for (let b = 0; b < 59; b++) out[c * 59 + b] = f32(Math.sqrt(f32(f32(hist[c * 59 + b]) / f32(total))));
  }
  return out;
}

// ---- sounds: scipy's WAV reader and resample_poly, then studio's audio.extract_sound ----------------

const FLOAT32_MAX = 3.4028234663852886e38;
const GUID_TAIL = { true: [0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71],
  false: [0, 0, 0, 0x10, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71] };

/** A WAV file as studio's audio.load_wav reads it (with scipy.io.wavfile): {samples, sr}, the samples
 * mono float32 in [-1, 1]: integers divided by 2^(bits-1) (8-bit: (x-128)/128), channels averaged. */
export function loadWav(file) {
  const buf = readFileSync(file);
  try {
    return decodeWav(buf);
  } catch (e) {
    throw new Error(`not a readable WAV file (${e.message})`);
  }
}

function decodeWav(buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const id = (at) => buf.toString('latin1', at, Math.min(at + 4, buf.length));
  const riff = id(0), le = riff === 'RIFF';
  if (!le && riff !== 'RIFX') throw new Error(`file format ${JSON.stringify(riff)} not understood; RIFF and RIFX are`);
  const need = (at, n) => { if (at + n > buf.length) throw new Error('unexpected end of file'); };
  const u16 = (at) => (need(at, 2), view.getUint16(at, le));
  const u32 = (at) => (need(at, 4), view.getUint32(at, le));
  const end = u32(4) + 8; // scipy reads chunks up to the size the header gives
  if (id(8) !== 'WAVE') throw new Error(`not a WAV file; the RIFF form type is ${JSON.stringify(id(8))}`);
  let pos = 12, fmt = null, data = null;
  while (pos < end) {
    const chunk = id(pos);
    if (data && pos + 4 >= buf.length && chunk !== 'fmt ' && chunk !== 'data') break; // scipy stops there too
    const size = u32(pos + 4);
    if (chunk === 'fmt ') {
      if (size < 16) throw new Error('binary structure of wave file is not compliant');
      let tag = u16(pos + 8);
      if (tag === 0xfffe && size >= 18) { // WAVE_FORMAT_EXTENSIBLE: the format is in its sub-format GUID
        if (u16(pos + 24) < 22) throw new Error('binary structure of wave file is not compliant');
        need(pos + 26, 22);
        if (buf.subarray(pos + 36, pos + 48).equals(Buffer.from(GUID_TAIL[le]))) tag = u32(pos + 32);
      }
      if (tag !== 1 && tag !== 3) throw new Error(`unknown wave file format ${tag}; PCM and IEEE_FLOAT are supported`);
      fmt = { tag, channels: u16(pos + 10), sr: u32(pos + 12), align: u16(pos + 20), bits: u16(pos + 22) };
      if (tag === 1 && u32(pos + 16) !== fmt.sr * fmt.align) throw new Error('WAV header is invalid: nAvgBytesPerSec');
    } else if (chunk === 'data') {
      if (!fmt) throw new Error('no fmt chunk before data');
      data = wavSamples(buf.subarray(pos + 8, pos + 8 + size), view, pos + 8, size, fmt, le);
    }
    pos += 8 + size + (size % 2);
  }
  if (!data) throw new Error('no data chunk');
  return { samples: data, sr: fmt.sr };
}

/** The data chunk's samples as float32 mono in [-1, 1], as audio.as_mono_float makes them. */
function wavSamples(bytes, view, at, size, { tag, channels, align, bits }, le) {
  const width = Math.floor(align / channels);
  if (!(width >= 1)) throw new Error('the fmt chunk gives no bytes per sample');
  let values;
  if (tag === 1 && bits <= 8) { // unsigned; scipy reads one byte per sample
    values = Float32Array.from(bytes.subarray(0, Math.floor(size / width)), (b) => (b - 128) / 128);
  } else if (tag === 1 && bits <= 64 && width <= 8) { // signed; scipy left-justifies 3 bytes in 4, 5 to 7 in 8
    const container = width === 3 ? 4 : width > 4 ? 8 : width, shift = 2 ** (8 * (container - width));
    const scale = 2 ** (8 * container - 1);
    values = new Float32Array(Math.floor(bytes.length / width));
    for (let i = 0; i < values.length; i++) {
      let v = 0;
      for (let b = 0; b < width; b++) v = v * 256 + bytes[le ? i * width + width - 1 - b : i * width + b];
      if (v >= 2 ** (8 * width - 1)) v -= 2 ** (8 * width);
      values[i] = Math.fround(v * shift) / scale;
    }
  } else if (tag === 3 && (bits === 32 || bits === 64) && (width === 4 || width === 8)) {
    values = new Float32Array(Math.floor(bytes.length / width));
    for (let i = 0; i < values.length; i++) { // numpy.nan_to_num: NaN to 0, infinities to the largest float32
      const v = width === 4 ? view.getFloat32(at + 4 * i, le) : view.getFloat64(at + 8 * i, le);
      values[i] = Number.isNaN(v) ? 0 : Math.max(-FLOAT32_MAX, Math.min(FLOAT32_MAX, v));
    }
  } else {
    throw new Error(`unsupported sample format: ${bits}-bit ${tag === 3 ? 'float' : 'integer'} in ${width} bytes`);
  }
  if (values.length % channels) throw new Error(`${values.length} samples do not split into ${channels} channels`);
  const out = new Float32Array(values.length / channels);
  for (let i = 0; i < out.length; i++) { // numpy's float32 mean over the channels, then clipped
    let s = values[i * channels];
    for (let c = 1; c < channels; c++) s = Math.fround(s + values[i * channels + c]);
    out[i] = Math.min(1, Math.max(-1, Math.fround(s / channels)));
  }
  return out;
}

function gcd(a, b) {
  return b ? gcd(b, a % b) : a;
}

/** The modified Bessel function of the first kind of order 0 (its power series). */
function besselI0(x) {
  let term = 1, total = 1;
  for (let k = 1; term > total * 1e-18; k++) {
    term *= (x / (2 * k)) ** 2;
    total += term;
  }
  return total;
}

/** scipy.signal.resample_poly(x, up, down) with its defaults: a sinc low-pass filter of 20 * max(up, down) + 1
 * taps (scipy's firwin with a Kaiser window, beta 5) applied to x with up - 1 zeros after each sample, every
 * down-th output kept, aligned as scipy aligns it. */
function resamplePoly(x, up, down) {
  const rate = Math.max(up, down), half = 10 * rate, taps = 2 * half + 1, cutoff = 1 / rate;
  const h = new Float64Array(taps), i0Beta = besselI0(5);
  let total = 0;
  for (let i = 0; i < taps; i++) {
    const m = i - half, y = Math.PI * (cutoff * m);
    h[i] = cutoff * (m === 0 ? 1 : Math.sin(y) / y) * (besselI0(5 * Math.sqrt(1 - (m / half) ** 2)) / i0Beta);
    total += h[i];
  }
  for (let i = 0; i < taps; i++) h[i] = (h[i] / total) * up;
  const pre = down - (half % down), skip = Math.floor((half + pre) / down);
  const out = new Float64Array(Math.ceil((x.length * up) / down));
  for (let k = 0; k < out.length; k++) {
    const t = (k + skip) * down - pre; // where filter tap 0 sits in the zero-stuffed input
    let acc = 0;
    for (let i = Math.max(0, Math.ceil((t - taps + 1) / up)); i <= Math.min(x.length - 1, Math.floor(t / up)); i++) {
      acc += h[t - i * up] * x[i];
    }
    out[k] = acc;
  }
  return out;
}

/** audio.resample: polyphase resampling from sr to target Hz, in float64. */
function resample(x, sr, target) {
  if (sr === target || !x.length) return Float64Array.from(x);
  if (!(sr >= 1)) throw new Error(`a sample rate of ${sr} Hz`);
  const g = gcd(sr, target);
  return resamplePoly(Float64Array.from(x), target / g, sr / g);
}

const sumOf = (a) => a.reduce((s, v) => s + v, 0);
const maxOf = (a) => a.reduce((m, v) => Math.max(m, v), -Infinity);

/** audio.loudest: the n consecutive samples with the most energy (all of x if it is shorter). */
function loudest(x, n) {
  if (x.length <= n) return x;
  const energy = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) energy[i + 1] = energy[i] + x[i] * x[i];
  let start = 0;
  for (let i = 1; i + n < energy.length; i++) if (energy[i + n] - energy[i] > energy[start + n] - energy[start]) start = i;
  return x.subarray(start, start + n);
}

/** audio.level_db: [RMS, peak] in dBFS, -100 for silence. */
function levelDb(x) {
  if (!x.some((v) => v !== 0)) return [-100, -100];
  const db = (v) => Math.max(-100, 20 * Math.log10(v));
  return [db(Math.sqrt(sumOf(x.map((v) => v * v)) / x.length)), db(maxOf(x.map(Math.abs)))];
}

/** audio.mel_filters: n_mels rows of n_fft / 2 + 1 triangular weights on the HTK mel scale. */
function melFilters(sr, nfft, nMels, fmin, fmax) {
  const mel = (f) => 2595 * Math.log10(1 + f / 700);
  const lo = mel(fmin), hi = mel(fmax), step = (hi - lo) / (nMels + 1); // numpy.linspace
  const edges = Array.from({ length: nMels + 2 }, (_, i) => 700 * (10 ** ((i === nMels + 1 ? hi : i * step + lo) / 2595) - 1));
  const unit = 1 / (nfft * (1 / sr)); // numpy.fft.rfftfreq
  return Array.from({ length: nMels }, (_, m) => Float64Array.from({ length: Math.floor(nfft / 2) + 1 }, (_, k) => {
    const f = k * unit;
    return Math.max(0, Math.min((f - edges[m]) / (edges[m + 1] - edges[m]), (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1])));
  }));
}

/** audio.logmel: n_mels rows (bands) of log-mel power in dB, one value per frame. */
function logmel(x, spec) {
  const { win, hop, n_fft: nfft, n_mels: nMels } = spec;
  if (x.length < win) x = Float64Array.from({ length: win }, (_, i) => x[i] ?? 0);
  const n = 1 + Math.floor((x.length - win) / hop), bins = Math.floor(nfft / 2) + 1;
  const hann = Float64Array.from({ length: win }, (_, j) => (win === 1 ? 1 : 0.5 + 0.5 * Math.cos((Math.PI * (1 - win + 2 * j)) / (win - 1))));
  const filters = melFilters(spec.sr, nfft, nMels, spec.fmin, spec.fmax);
  const S = Array.from({ length: nMels }, () => new Float64Array(n)), power = new Float64Array(bins);
  for (let t = 0; t < n; t++) {
    const re = new Float64Array(nfft), im = new Float64Array(nfft);
    for (let j = 0; j < win; j++) re[j] = x[t * hop + j] * hann[j];
    dft(re, im, -1);
    for (let k = 0; k < bins; k++) power[k] = Math.hypot(re[k], im[k]) ** 2;
    for (let m = 0; m < nMels; m++) {
      let acc = 0;
      for (let k = 0; k < bins; k++) acc += power[k] * filters[m][k];
      S[m][t] = 10 * Math.log10(Math.max(acc, 1e-10));
    }
  }
  return S;
}

/** audio.stretch: each row linearly interpolated to `frames` values. */
function stretch(rows, frames) {
  const n = rows[0].length, step = (n - 1) / (frames - 1);
  return rows.map((row) => Float64Array.from({ length: frames }, (_, i) => {
    const pos = i === frames - 1 ? n - 1 : i * step, i0 = Math.floor(pos), f = pos - i0;
    return row[i0] * (1 - f) + row[Math.min(i0 + 1, n - 1)] * f;
  }));
}

/** audio.hog2d: unsigned gradient orientation histograms per cell, 2x2-cell blocks L2-Hys normalised. */
function hog2d(img, cell, bins) {
  const R = img.length, C = img[0].length, rows = Math.floor(R / cell), cols = Math.floor(C / cell);
  const hist = new Float64Array(rows * cols * bins), votes = [];
  for (let r = 0; r < rows * cell; r++) {
    for (let c = 0; c < cols * cell; c++) {
      const gy = r > 0 && r < R - 1 ? img[r + 1][c] - img[r - 1][c] : 0;
      const gx = c > 0 && c < C - 1 ? img[r][c + 1] - img[r][c - 1] : 0;
      let angle = (Math.atan2(gy, gx) * (180 / Math.PI)) % 180; // numpy.remainder: the sign of the divisor
      if (angle < 0) angle += 180;
      const pos = angle / (180 / bins) - 0.5, lo = Math.floor(pos);
      votes.push([(Math.floor(r / cell) * cols + Math.floor(c / cell)) * bins, lo, pos - lo, Math.hypot(gx, gy)]);
    }
  }
  const mod = (b) => ((b % bins) + bins) % bins;
  for (const [at, lo, w, mag] of votes) hist[at + mod(lo)] += mag * (1 - w); // numpy.add.at's order: low bins first
  for (const [at, lo, w, mag] of votes) hist[at + mod(lo + 1)] += mag * w;
  const out = [];
  const norm = (v) => Math.sqrt(sumOf(v.map((a) => a * a)) + 1e-6);
  for (let i = 0; i < rows - 1; i++) {
    for (let j = 0; j < cols - 1; j++) {
      let v = Float64Array.from([[i, j], [i, j + 1], [i + 1, j], [i + 1, j + 1]].flatMap(([a, b]) => [...hist.subarray((a * cols + b) * bins, (a * cols + b + 1) * bins)]));
      const n1 = norm(v);
      v = v.map((a) => Math.min(a / n1, 0.2));
      const n2 = norm(v);
      out.push(...v.map((a) => a / n2));
    }
  }
  return out;
}

/** The float32 feature vector of one clip (mono samples in [-1, 1] at sr Hz), as audio.extract_sound computes it. */
export function extractSound(samples, sr, spec) {
  let x = resample(samples, sr, spec.sr);
  if (!x.length) throw new Error('The sound clip is empty.');
  const mean = sumOf(x) / x.length;
  x = loudest(x.map((v) => v - mean), roundHalfEven(spec.seconds * spec.sr));
  const levels = levelDb(x), peak = maxOf(x.map(Math.abs));
  let S = logmel(peak > 0 ? x.map((v) => v / peak) : x, spec);
  const top = maxOf(S.map(maxOf));
  S = S.map((band) => band.map((v) => Math.max(v, top - spec.floor_db)));
  const loud = [];
  for (let t = 0; t < S[0].length; t++) if (maxOf(S.map((band) => band[t])) >= top - spec.trim_db) loud.push(t);
  S = S.map((band) => band.slice(loud[0], loud[loud.length - 1] + 1));
  const nMels = spec.n_mels;
  const cep = Array.from({ length: spec.mfcc }, (_, k) => { // orthonormal DCT-II over the bands, mean removed
    const basis = Array.from({ length: nMels }, (_, i) => Math.sqrt(2 / nMels) * Math.cos((Math.PI * k * (2 * i + 1)) / (2 * nMels)) / (k === 0 ? Math.SQRT2 : 1));
    const row = Float64Array.from(S[0], (_, t) => sumOf(basis.map((b, i) => b * S[i][t])));
    const m = sumOf(row) / row.length;
    return row.map((v) => v - m);
  });
  const spread = cep.map((row) => {
    const m = sumOf(row) / row.length;
    return Math.sqrt(sumOf(row.map((v) => (v - m) ** 2)) / row.length);
  });
  return Float32Array.from([...stretch(cep, spec.frames).flatMap((row) => [...row]), ...spread,
    ...hog2d(stretch(S, spec.frames), spec.hog_cell, spec.hog_bins), ...levels]);
}

/** The speech embedding network's input, as studio's speech.py speech_input computes it: the clip resampled,
 * its mean removed, the loudest `seconds` centred in `context` seconds of zeros, float32 (model.onnx runs the
 * network and the classifier). */
export function speechInput(samples, sr, spec) {
  let x = resample(samples, sr, spec.sr);
  if (!x.length) throw new Error('The sound clip is empty.');
  const mean = sumOf(x) / x.length;
  x = loudest(x.map((v) => v - mean), roundHalfEven(spec.seconds * spec.sr));
  const out = new Float32Array(roundHalfEven(spec.context * spec.sr)); // setting rounds to float32 as numpy does
  out.set(x, Math.floor((out.length - x.length) / 2));
  return new ort.Tensor('float32', out, [1, out.length]);
}

const isSound = (spec) => spec.kind === 'logmel' || spec.kind === 'speech';
const isPose = (spec) => spec.kind === 'landmarks';

function readMeta(folder = HERE) {
  return JSON.parse(readFileSync(path.join(folder, 'metadata.json'), 'utf8'));
}

/** The model, its labels in order and its feature spec, from this folder. */
export async function loadModel(folder = HERE) {
  const meta = readMeta(folder);
  const session = await ort.InferenceSession.create(path.join(folder, meta.onnx.file));
  return { session, meta };
}

/** The network's input, as studio's pretrained.py network_input computes it: the framed RGB
 * square as (x - 127) / 128 in NCHW order (model.onnx runs the network and the classifier). */
function networkInput(img, spec, framing) {
  let square = spec.framing === 'sketch' ? sketchSquare(img, framing) : centerSquare(img);
  if (square.width !== spec.size) square = resizeBilinear(square, spec.size);
  const n = spec.size * spec.size, x = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) x[c * n + i] = f32(f32(square.data[i * 3 + c] - 127) / 128);
  }
  return new ort.Tensor('float32', x, [1, 3, spec.size, spec.size]);
}

/** {label, confidence, confidences} for one image file, one WAV file for a sound model, or one landmark
 * JSON file for a pose model. */
export async function predict({ session, meta }, file) {
  const spec = meta.feature_spec;
  let input;
  if (isPose(spec)) {
    const { readPose, extractPose } = await import('./pose_kernel.mjs');
    const x = extractPose(readPose(JSON.parse(readFileSync(file, 'utf8'))), spec);
    input = new ort.Tensor('float32', x, [1, x.length]);
  } else if (spec.kind === 'speech') {
    const { samples, sr } = loadWav(file);
    input = speechInput(samples, sr, spec);
  } else if (isSound(spec)) {
    const { samples, sr } = loadWav(file);
    const x = extractSound(samples, sr, spec);
    input = new ort.Tensor('float32', x, [1, x.length]);
  } else if (spec.kind === 'pretrained') {
    input = networkInput(await loadRgb(file), spec, meta.sketch_framing);
  } else {
    const x = extract(await loadRgb(file), spec, meta.sketch_framing);
    input = new ort.Tensor('float32', x, [1, x.length]);
  }
  const result = await session.run({ [session.inputNames[0]]: input });
  const proba = Array.from(result.probabilities.data, Number);
  const classes = meta.onnx.classes;
  // the model's own argmax: ties go to the class it lists first, as its predict does
  const label = classes[proba.indexOf(Math.max(...proba))];
  const confidences = Object.fromEntries(meta.labels.map((lb) => [lb, proba[classes.indexOf(lb)]]));
  return { label, confidence: confidences[label], confidences };
}

/** x with 4 decimals, rounding exact halves to even as Python's format does. */
export function format4(x) {
  const scaled = x * 10000;
  if (Number.isInteger(scaled * 2) && !Number.isInteger(scaled)) {
    const down = Math.floor(scaled);
    return ((down % 2 === 0 ? down : down + 1) / 10000).toFixed(4);
  }
  return x.toFixed(4);
}

async function main(argv) {
  const json = argv.includes('--json');
  const files = argv.filter((a) => a !== '--json');
  if (!files.length || files[0] === '-h' || files[0] === '--help') {
    const spec = readMeta().feature_spec;
    const input = isSound(spec) ? 'SOUND.wav' : isPose(spec) ? 'POSE.json' : 'IMAGE';
    console.log(`usage: node predict.mjs [--json] ${input} [${input} ...]\n` +
      'prints one line per file: <path><TAB><label><TAB><confidence>');
    return files.length ? 0 : 2;
  }
  const model = await loadModel();
  let status = 0;
  for (const file of files) {
    try {
      const { label, confidence, confidences } = await predict(model, file);
      console.log(json ? JSON.stringify({ path: file, label, confidence, confidences })
        : `${file}\t${label}\t${format4(confidence)}`);
    } catch (e) {
      console.error(`${file}: cannot predict: ${e.message}`);
      status = 1;
    }
  }
  return status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
