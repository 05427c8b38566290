"""Pretrained features: what a network trained on ImageNet photos (EfficientNet-Lite0, from its
PyPI wheel: see ``backbone``) sees in the framed picture, as Teachable Machine uses MobileNet.

The vector is computed by an ONNX graph (``onnx_front``): the network, then pooling and scaling.
Studio runs that graph itself, predict.py and predict_skops.py run it as ``backbone.onnx``
beside them, and the ONNX export is that graph followed by the classifier in one ``model.onnx``,
so every runtime computes the same vector. Two poolings (``pooling``):

- "grid" (the default): the last map's four overlapping 4x4 corners (of 7x7), each averaged and
  scaled to length 1 (5120 numbers: where in the picture things are), beside half of the averaged
  output of block 14 (192 numbers: smaller parts), all scaled to length 1. Measured with logistic
  regression: 0.92 / 0.95 / 0.97 at 10 / 30 / all images per class (bench/RESULTS.md).
- "mean": the last map averaged (1280 numbers), scaled to length 1; models trained before the
  grid keep it.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.features import backbone, image_kernel
from studio.features.image import ImageSpec

BACKBONE_FILE = "backbone.onnx"  # the graph's name beside an exported script
NETWORK = f"efficientnet-lite0-{backbone.SOURCE_SHA256[:16]}"  # which weights a model's features came from
VECTOR, MIRROR = "vector", "mirror"  # the front graph's outputs: the vector, and its mirror copy's
POOLINGS = ("grid", "mean")
GRID_KERNEL, GRID_STRIDE = 4, 3  # 7x7 -> 2x2 overlapping cells
BLOCK, BLOCK_WEIGHT = 14, 0.5  # the block whose averaged output joins the grid, and its share
MIN_LENGTH = 1e-12  # lengths below this are not divided by (a black picture)


def _backbone_session():
    """The exported script's onnxruntime session on ``backbone.onnx`` beside it, made once."""
    global _SESSION
    if "_SESSION" not in globals():
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        path = str(Path(__file__).resolve().parent / "backbone.onnx")
        _SESSION = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return _SESSION


def network_input(square, spec):
    """The framed 224x224 RGB square as the network reads it: (pixel - 127) / 128, float32, 3x224x224."""
    x = (square.astype(np.float32) - np.float32(127.0)) / np.float32(128.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def pretrained_features(square, spec):
    """The feature vector of a framed 224x224 RGB square: ``backbone.onnx`` computes all of it."""
    return _backbone_session().run(["vector"], {"image": network_input(square, spec)[None]})[0][0]


_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


def _front_session(pooling: str) -> Any:
    """This process's onnxruntime session on the front graph of ``pooling`` (built once)."""
    with _sessions_lock:
        if pooling not in _sessions:
            graph = PretrainedSpec(pooling=pooling).onnx_front(mirror=True)
            _sessions[pooling] = backbone.new_session(graph.SerializeToString())
        return _sessions[pooling]


def _grid_nodes(helper: Any, head_map: str, out: str) -> list:
    """Nodes from the head's map to ``out``: the 2x2 grid of cells, each and then all scaled to
    length 1, beside the weighted block mean (``weighted_block``), all scaled to length 1."""
    return [helper.make_node("AveragePool", [head_map], [f"{out}_cells"], kernel_shape=[GRID_KERNEL] * 2,
                             strides=[GRID_STRIDE] * 2),
            *_unit_nodes(helper, f"{out}_cells", f"{out}_unit_cells"),  # each cell to length 1
            helper.make_node("Flatten", [f"{out}_unit_cells"], [f"{out}_grid"], axis=1),
            *_unit_nodes(helper, f"{out}_grid", f"{out}_unit_grid"),
            helper.make_node("Concat", [f"{out}_unit_grid", "weighted_block"], [f"{out}_joined"], axis=1),
            *_unit_nodes(helper, f"{out}_joined", out)]


def _unit_nodes(helper: Any, x: str, out: str, axis: int = 1) -> list:
    """Nodes dividing ``x`` by its length along ``axis`` (at least MIN_LENGTH) into ``out``."""
    return [helper.make_node("ReduceL2", [x], [f"{out}_length"], axes=[axis], keepdims=1),
            helper.make_node("Max", [f"{out}_length", "min_length"], [f"{out}_safe_length"]),
            helper.make_node("Div", [x, f"{out}_safe_length"], [out])]


@dataclass(frozen=True)
class PretrainedSpec(ImageSpec):
    kind = "pretrained"
    title = "Pretrained: features from a network trained on ImageNet photos (best measured)"
    head = "logistic"  # an RBF SVC does badly on these at 10 images per class; logistic regression well
    standardise = False  # unit vectors already: per-feature scaling from ten images only adds noise
    head_options = {"C": 100.0}  # measured: 0.926 / 0.953 / 0.967 against C 10's 0.925 / 0.949 / 0.970
    extra_kernel = (_backbone_session, network_input, pretrained_features)
    graph_kernel = (network_input,)  # model.onnx holds the network: its scripts feed it the square
    # its JavaScript twin: networkInput in export/templates/predict.mjs
    size: int = backbone.INPUT_SIZE
    network: str = NETWORK
    framing: str | None = "crop"
    pooling: str = "grid"
    legacy = {"pooling": "mean"}  # models trained before the grid

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(framing=framing)  # the network's own size and colour

    def checked(self):
        if self.size != backbone.INPUT_SIZE or self.network != NETWORK:
            raise ValueError(f"Pretrained features are those of {NETWORK} at {backbone.INPUT_SIZE} px; "
                             f"got {self.network} at {self.size} px.")
        if self.pooling not in POOLINGS:
            raise ValueError(f"Pretrained features are pooled by {' or '.join(POOLINGS)}; got {self.pooling!r}.")
        return super().checked()

    batch = 16

    def _run(self, squares: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
        """The front graph's ``outputs`` for framed squares, ``batch`` at a time."""
        session = _front_session(self.pooling)
        x = backbone.preprocess(squares)
        parts = [session.run(outputs, {backbone.INPUT_NAME: x[i:i + self.batch]}) for i in range(0, len(x), self.batch)]
        return [np.concatenate([p[k] for p in parts]).astype(np.float32, copy=False) for k in range(len(outputs))]

    def vector(self, decoded: np.ndarray, variant: str = "plain") -> np.ndarray:
        x = self.vectors([decoded], (variant,))[variant][0]
        if isinstance(x, ValueError):
            raise x
        return x

    def vectors(self, decoded, variants=("plain",)):
        """One network pass per sample: the grid's mirror copy flips the network's map, which serves
        as well as a pass of the mirror image (bench/RESULTS.md); the mean of a flipped map is the
        same mean, so mean pooling runs the mirror image."""
        squares: list = []
        for d in decoded:
            try:
                squares.append(np.ascontiguousarray(image_kernel.framed(d, self.json)))
            except ValueError as e:  # an empty sketch
                squares.append(e)
        framed = [s for s in squares if not isinstance(s, ValueError)]
        computed: dict[str, np.ndarray] = {}
        if framed:
            batch = np.stack(framed)
            if self.pooling == "grid":
                names = {"plain": VECTOR, "mirror": MIRROR}
                computed = dict(zip(variants, self._run(batch, [names[v] for v in variants])))
            else:
                computed = {v: self._run(batch[:, :, ::-1] if v == "mirror" else batch, [VECTOR])[0] for v in variants}
        out = {}
        for v in variants:
            rows = iter(computed.get(v, ()))
            out[v] = [s if isinstance(s, ValueError) else next(rows) for s in squares]
        return out

    def needs(self) -> list[str]:
        return ["numpy", "pillow", "onnxruntime"]

    def export_files(self) -> dict[str, bytes]:
        return {BACKBONE_FILE: self.onnx_front().SerializeToString()}

    def graph_input(self) -> tuple[str, list]:
        return backbone.INPUT_NAME, ["N", 3, self.size, self.size]

    @property
    def vector_size(self) -> int:
        if self.pooling == "mean":
            return backbone.FEATURE_DIM
        ends = itertools.accumulate(repeats for repeats, *_ in backbone.STAGES)
        block_channels = next(stage[-1] for stage, end in zip(backbone.STAGES, ends) if BLOCK < end)
        return 4 * backbone.FEATURE_DIM + block_channels

    def onnx_front(self, mirror: bool = False):
        """The network without its ImageNet classifier, then this spec's pooling and scaling: the
        framed square's tensor (``image``) in, this spec's vector (``vector``) out, and with
        ``mirror`` (grid pooling) also the mirror copy's (``mirror``), from the flipped map."""
        from onnx import TensorProto, helper

        net = backbone.feature_graph(backbone.onnx_bytes())
        graph = net.graph
        outputs = [VECTOR]
        constants = {"min_length": (TensorProto.FLOAT, MIN_LENGTH)}  # only what the nodes use: onnxruntime
        if self.pooling == "mean":                                  # warns of every unused one
            nodes = _unit_nodes(helper, backbone.FEATURES_NAME, VECTOR)
        else:
            constants["block_weight"] = (TensorProto.FLOAT, BLOCK_WEIGHT)
            props = {p.key: p.value for p in net.metadata_props}
            head_map, block = props[backbone.HEAD_MAP_PROP], json.loads(props[backbone.BLOCKS_PROP])[BLOCK]
            nodes = [helper.make_node("GlobalAveragePool", [block], ["block_mean"]),
                     helper.make_node("Flatten", ["block_mean"], ["block_flat"], axis=1),
                     *_unit_nodes(helper, "block_flat", "unit_block"),
                     helper.make_node("Mul", ["unit_block", "block_weight"], ["weighted_block"]),
                     *_grid_nodes(helper, head_map, VECTOR)]
            if mirror:
                nodes += [helper.make_node("Slice", [head_map, "last", "before_first", "width_axis", "backwards"],
                                           ["flipped_map"]),
                          *_grid_nodes(helper, "flipped_map", MIRROR)]
                outputs.append(MIRROR)
                constants.update({name: (TensorProto.INT64, value) for name, value in
                                  (("last", -1), ("before_first", -(2**62)), ("width_axis", 3), ("backwards", -1))})
        graph.node.extend(nodes)
        graph.initializer.extend(helper.make_tensor(name, dtype, [] if dtype == TensorProto.FLOAT else [1], [value])
                                 for name, (dtype, value) in constants.items())
        del graph.output[:]
        graph.output.extend(helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", self.vector_size])
                            for o in outputs)
        return net

    def metadata(self) -> dict:
        return {**super().metadata(), "backbone": {
            "file": BACKBONE_FILE, "source": backbone.SOURCE, "licence": backbone.LICENCE,
            "weights_sha256": backbone.SOURCE_SHA256, "input": f"{backbone.INPUT_NAME}: float32 [N, 3, "
            f"{self.size}, {self.size}], (pixel - {backbone.INPUT_MEAN:g}) / {backbone.INPUT_STD:g}",
            "output": f"{VECTOR}: float32 [N, {self.vector_size}], the feature vector ({self.pooling} pooling)"}}

    def describe_square(self) -> list[str]:
        return [f"x = (pixel - {backbone.INPUT_MEAN:g}) / {backbone.INPUT_STD:g} in float32, as a 1x3x{self.size}x"
                f"{self.size} (NCHW) tensor; run {BACKBONE_FILE} ({backbone.SOURCE}; {backbone.LICENCE}) with "
                f"onnxruntime: its output '{VECTOR}' ({self.vector_size} numbers) is the feature vector, "
                f"pooled ({self.pooling}) and scaled to length 1 inside the graph. model.onnx holds the same "
                "graph before the classifier: feed it x as its input 'image'"]
