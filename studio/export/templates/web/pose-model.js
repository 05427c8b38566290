// The exported pose classifier in the browser: MediaPipe Pose landmarks -> studio's pose features
// (pose_kernel.mjs, the twin of studio's pose_kernel.py) -> model.onnx in onnxruntime-web.
//
//   import { loadPoseModel } from './pose-model.js';
//   const model = await loadPoseModel();
//   const { label, confidence, confidences } = await model.predict({ landmarks, width, height });
//
// Everything is read from this folder; nothing comes from the internet.

import * as ort from './ort/ort.wasm.min.mjs';
import { extractPose, readPose } from './pose_kernel.mjs';

const HERE = new URL('./', import.meta.url);

/** The model in this folder: its labels and a predict(pose) that gives every class's confidence. */
export async function loadPoseModel(folder = HERE) {
  ort.env.wasm.numThreads = 1; // threads need a cross-origin-isolated page; one is plenty for a small head
  ort.env.wasm.wasmPaths = new URL('ort/', folder).href;
  const meta = await (await fetch(new URL('model.json', folder))).json();
  const session = await ort.InferenceSession.create(new URL('model.onnx', folder).href,
    { executionProviders: ['wasm'] });

  /** {label, confidence, confidences} for one pose ({landmarks: 33 x [x, y, z, visibility], width, height}). */
  async function predict(pose) {
    const x = extractPose(readPose(pose), meta.feature_spec);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, x.length]) });
    const proba = Array.from(out.probabilities.data, Number);
    const label = meta.classes[proba.indexOf(Math.max(...proba))]; // ties: the model's first, as its predict
    const confidences = Object.fromEntries(meta.labels.map((lb) => [lb, proba[meta.classes.indexOf(lb)]]));
    return { label, confidence: confidences[label], confidences };
  }
  return { labels: meta.labels, predict };
}
