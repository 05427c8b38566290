"""Pretrained features: what a network trained on ImageNet photos (EfficientNet-Lite0, from its
PyPI wheel: see ``backbone``) sees in the framed picture, as Teachable Machine uses MobileNet.

1280 numbers per image, L2-normalised; a logistic regression on them learns from ten images per
class what hand-made features need a hundred for (bench/RESULTS.md). predict.py and
predict_skops.py run the same graph (``backbone.onnx`` beside them) with onnxruntime; the ONNX
export is one graph, the network followed by the classifier (``onnx_front``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.features import backbone, image_kernel
from studio.features.image import ImageSpec

BACKBONE_FILE = "backbone.onnx"  # the graph's name beside an exported script
NETWORK = f"efficientnet-lite0-{backbone.SOURCE_SHA256[:16]}"  # which weights a model's features came from


def unit(v):
    """``v`` scaled to length 1 (float32)."""
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


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
    """The L2-normalised 1280 pooled features of EfficientNet-Lite0 on a 224x224 RGB square."""
    return unit(_backbone_session().run(["features"], {"image": network_input(square, spec)[None]})[0][0])


@dataclass(frozen=True)
class PretrainedSpec(ImageSpec):
    kind = "pretrained"
    title = "Pretrained: features from a network trained on ImageNet photos (best measured)"
    head = "logistic"  # an RBF SVC does badly on these at 10 images per class; logistic regression well
    standardise = False  # unit vectors already: per-feature scaling from ten images only adds noise
    extra_kernel = (unit, _backbone_session, network_input, pretrained_features)
    graph_kernel = (network_input,)  # model.onnx holds the network: its scripts feed it the square
    # its JavaScript twin: networkInput in export/templates/predict.mjs
    size: int = backbone.INPUT_SIZE
    network: str = NETWORK
    framing: str | None = "crop"

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(framing=framing)  # the network's own size and colour

    def checked(self):
        if self.size != backbone.INPUT_SIZE or self.network != NETWORK:
            raise ValueError(f"Pretrained features are those of {NETWORK} at {backbone.INPUT_SIZE} px; "
                             f"got {self.network} at {self.size} px.")
        return super().checked()

    batch = 16

    def _square(self, decoded: np.ndarray, variant: str) -> np.ndarray:
        square = image_kernel.framed(decoded, self.json)
        return np.ascontiguousarray(square[:, ::-1] if variant == "mirror" else square)

    def vector(self, decoded: np.ndarray, variant: str = "plain") -> np.ndarray:
        return unit(backbone.features(self._square(decoded, variant)[None])[0])

    def vectors(self, decoded, variant="plain"):
        squares: list = []
        for d in decoded:
            try:
                squares.append(self._square(d, variant))
            except ValueError as e:  # an empty sketch
                squares.append(e)
        framed = [s for s in squares if not isinstance(s, ValueError)]
        out = iter(backbone.features(np.stack(framed), batch=self.batch) if framed else ())
        return [s if isinstance(s, ValueError) else unit(next(out)) for s in squares]

    def needs(self) -> list[str]:
        return ["numpy", "pillow", "onnxruntime"]

    def export_files(self) -> dict[str, bytes]:
        return {BACKBONE_FILE: backbone.feature_graph(backbone.onnx_bytes()).SerializeToString()}

    def onnx_front(self):
        """The network without its ImageNet classifier, then the division by the length: the
        framed square's tensor (``image``) in, this spec's vector (``vector``) out."""
        from onnx import TensorProto, helper

        net = backbone.feature_graph(backbone.onnx_bytes())
        graph = net.graph
        graph.node.extend([  # length = max(sqrt(sum(x^2)), 1e-12), as ``unit`` divides
            helper.make_node("ReduceL2", [backbone.FEATURES_NAME], ["length"], axes=[1], keepdims=1),
            helper.make_node("Max", ["length", "min_length"], ["safe_length"]),
            helper.make_node("Div", [backbone.FEATURES_NAME, "safe_length"], ["vector"])])
        graph.initializer.append(helper.make_tensor("min_length", TensorProto.FLOAT, [], [1e-12]))
        del graph.output[:]
        graph.output.append(helper.make_tensor_value_info("vector", TensorProto.FLOAT, ["N", backbone.FEATURE_DIM]))
        return net

    def metadata(self) -> dict:
        return {**super().metadata(), "backbone": {
            "file": BACKBONE_FILE, "source": backbone.SOURCE, "licence": backbone.LICENCE,
            "weights_sha256": backbone.SOURCE_SHA256, "input": f"{backbone.INPUT_NAME}: float32 [N, 3, "
            f"{self.size}, {self.size}], (pixel - {backbone.INPUT_MEAN:g}) / {backbone.INPUT_STD:g}",
            "output": f"{backbone.FEATURES_NAME}: float32 [N, {backbone.FEATURE_DIM}]"}}

    def describe_square(self) -> list[str]:
        return [f"x = (pixel - {backbone.INPUT_MEAN:g}) / {backbone.INPUT_STD:g} in float32, as a 1x3x{self.size}x"
                f"{self.size} (NCHW) tensor; run {BACKBONE_FILE} ({backbone.SOURCE}; {backbone.LICENCE}) with "
                f"onnxruntime: its output 'features' (1280 numbers, the pooled last layer); divide by its "
                "Euclidean length. model.onnx holds the network and this division already: feed it x as "
                "its input 'image'"]
