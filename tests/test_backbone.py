"""The pretrained EfficientNet-Lite0 backbone: its weights are the pinned file, it classifies ordinary
photos as ImageNet says, its features are well-formed, its ONNX cache is reused and repaired, and a
tampered or crafted checkpoint is refused without running anything."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import pickle
import struct
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, missing
from PIL import Image

from studio.errors import StudioError, UnsafeFile
from studio.features import backbone

PHOTOS = FIXTURES / "imagenet"
# ImageNet-1k class indices (only the few these photos need)
TABBY_CAT, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
ESPRESSO, CUP, COFFEE_MUG = 967, 968, 504
MISSILE, PROJECTILE, SPACE_SHUTTLE = 657, 744, 812
EXPECTED = {  # photo: the classes of which one must be in its top-5 (and top-1 where marked)
    "chelsea.jpg": ({TABBY_CAT, TIGER_CAT, EGYPTIAN_CAT}, True),
    "coffee.jpg": ({ESPRESSO, CUP, COFFEE_MUG}, True),
    "rocket.jpg": ({MISSILE, PROJECTILE, SPACE_SHUTTLE}, False),  # top-1 is "drilling platform"
}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Every test converts into its own folder: none writes to the real ~/.cache."""
    folder = tmp_path / "studio-cache"
    monkeypatch.setenv("STUDIO_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def source() -> Path:
    try:
        importlib.metadata.distribution(backbone.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        missing(f"{backbone.INSTALL_HINT} (in requirements.txt; make test installs it)")
    return backbone.source_path()


@pytest.fixture(scope="module")
def weights(source) -> dict[str, np.ndarray]:
    return backbone.load_weights()


@pytest.fixture(scope="module")
def onnx_data(weights) -> bytes:
    return backbone.build_onnx(weights)


@pytest.fixture(scope="module")
def net(onnx_data, tmp_path_factory):
    """The process's session, its graph converted into a temporary cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STUDIO_CACHE", str(tmp_path_factory.mktemp("net-cache")))
        return backbone.session()


def square(path: Path) -> np.ndarray:
    """The centre square of a photo at 224x224, RGB uint8."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    im = im.crop((left, top, left + s, top + s)).resize((backbone.INPUT_SIZE,) * 2, Image.BICUBIC)
    return np.asarray(im)


# --- the source ----------------------------------------------------------------------------------

def test_the_weights_are_the_pinned_file_found_through_the_installed_wheel(source):
    assert source.name == backbone.SOURCE_FILE and source.is_file()
    assert hashlib.sha256(source.read_bytes()).hexdigest() == backbone.SOURCE_SHA256
    assert backbone.SOURCE_SHA256.startswith("57934424")
    assert backbone.LICENCE == "Apache-2.0"
    assert f"{backbone.DISTRIBUTION}=={backbone.DISTRIBUTION_VERSION}" in backbone.SOURCE
    assert importlib.metadata.version(backbone.DISTRIBUTION) == backbone.DISTRIBUTION_VERSION


def test_the_checkpoint_reads_as_efficientnet_lite0(weights):
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert weights["_fc.weight"].shape == (backbone.NUM_CLASSES, backbone.FEATURE_DIM)
    assert not any(k.startswith("_blocks.16.") for k in weights)
    assert sum(v.size for k, v in weights.items() if v.dtype == np.float32) == pytest.approx(4.65e6, rel=0.01)
    assert all(v.flags.c_contiguous for v in weights.values())
    # the stem's tensor is stored non-contiguously (strides (1, 32, 288, 96)): reading it right matters
    assert np.isfinite(weights["_conv_stem.weight"]).all()


def test_the_graph_is_plain_onnx_at_a_modest_opset(onnx_data):
    import onnx

    model = onnx.load_from_string(onnx_data)
    onnx.checker.check_model(model)
    assert model.ir_version == backbone.IR_VERSION
    assert [(o.domain, o.version) for o in model.opset_import] == [("", backbone.OPSET)]
    assert {n.op_type for n in model.graph.node} <= {"Conv", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm"}
    assert [i.name for i in model.graph.input] == [backbone.INPUT_NAME]
    assert [o.name for o in model.graph.output] == [backbone.FEATURES_NAME, backbone.LOGITS_NAME]
    props = {p.key: p.value for p in model.metadata_props}
    assert props["licence"] == "Apache-2.0" and props["source_sha256"] == backbone.SOURCE_SHA256
    print(f"\nbackbone ONNX: {len(onnx_data) / 1e6:.1f} MB, {len(model.graph.node)} nodes")


# --- what it computes ----------------------------------------------------------------------------

@pytest.mark.parametrize("photo", sorted(EXPECTED))
def test_ordinary_photos_get_their_imagenet_labels(net, photo):
    logits = backbone.logits(square(PHOTOS / photo))
    assert logits.shape == (1, backbone.NUM_CLASSES)
    top5 = np.argsort(-logits[0])[:5].tolist()
    expected, top1 = EXPECTED[photo]
    assert expected & set(top5), f"{photo}: top-5 {top5}, expected one of {sorted(expected)}"
    if top1:
        assert top5[0] in expected, f"{photo}: top-1 {top5[0]}, expected one of {sorted(expected)}"


def test_features_are_finite_deterministic_and_batch_independent(net):
    images = np.stack([square(PHOTOS / p) for p in sorted(EXPECTED)])
    f = backbone.features(images)
    assert f.shape == (len(images), backbone.FEATURE_DIM) and f.dtype == np.float32
    assert np.isfinite(f).all()
    assert (f >= 0).all() and (f <= 6).all()  # averages of ReLU6 outputs
    assert np.array_equal(f, backbone.features(images))
    one_by_one = np.concatenate([backbone.features(im) for im in images])
    np.testing.assert_allclose(one_by_one, f, rtol=1e-4, atol=1e-5)
    assert np.array_equal(backbone.features(images, batch=1), one_by_one)
    assert not np.allclose(f[0], f[1])
    assert backbone.features(np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, backbone.FEATURE_DIM)


def test_preprocess_scales_and_transposes():
    image = np.zeros((224, 224, 3), np.uint8)
    image[0, 1] = (0, 127, 255)
    x = backbone.preprocess(image)
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x[0, :, 0, 1].tolist() == [-127 / 128, 0.0, 1.0]
    assert backbone.preprocess(np.stack([image, image])).shape == (2, 3, 224, 224)
    for bad in (np.zeros((224, 224, 3), np.float32), np.zeros((200, 224, 3), np.uint8),
                np.zeros((224, 224), np.uint8), np.zeros((1, 224, 224, 4), np.uint8)):
        with pytest.raises(ValueError, match="224"):
            backbone.preprocess(bad)


def test_one_session_per_process_even_under_threads(onnx_data, monkeypatch):
    monkeypatch.setattr(backbone, "_session", None)
    got, barrier = [], threading.Barrier(4)

    def worker():
        barrier.wait()
        got.append(backbone.session())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(s is got[0] for s in got)
    assert got[0].get_session_options().intra_op_num_threads == 1


def test_speed_one_thread(net):
    """Prints (does not assert) the median time for one 224x224 image on one thread."""
    x = backbone.preprocess(square(PHOTOS / "chelsea.jpg"))
    for _ in range(3):
        net.run([backbone.FEATURES_NAME], {backbone.INPUT_NAME: x})
    times = []
    for _ in range(30):
        t = time.perf_counter()
        net.run([backbone.FEATURES_NAME], {backbone.INPUT_NAME: x})
        times.append((time.perf_counter() - t) * 1e3)
    print(f"\nbackbone: {np.median(times):.1f} ms median per 224x224 image, one thread "
          f"(min {min(times):.1f}, max {max(times):.1f})")


# --- the cache -----------------------------------------------------------------------------------

def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_CACHE", str(tmp_path / "a"))
    assert backbone.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("STUDIO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backbone.cache_dir() == tmp_path / "xdg" / "studio"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert backbone.cache_dir() == tmp_path / "home" / ".cache" / "studio"


@pytest.fixture
def counted_builds(monkeypatch, onnx_data) -> list[int]:
    """Counts conversions; each returns the module's already-converted graph to save time."""
    calls: list[int] = []

    def build():
        calls.append(1)
        return onnx_data

    monkeypatch.setattr(backbone, "build_onnx", build)
    return calls


def test_the_cache_is_reused(isolated_cache, counted_builds, onnx_data):
    assert backbone.onnx_bytes() == onnx_data and len(counted_builds) == 1
    path = backbone.cache_path()
    assert path.parent == isolated_cache and path.read_bytes() == onnx_data
    assert backbone.SOURCE_SHA256[:16] in path.name and f"v{backbone.FORMAT_VERSION}" in path.name
    before = path.stat().st_mtime_ns
    assert backbone.onnx_bytes() == onnx_data
    assert len(counted_builds) == 1 and path.stat().st_mtime_ns == before
    assert not [p for p in isolated_cache.iterdir() if p.name.startswith(".tmp-")]


def test_a_new_converter_version_gets_a_new_file(counted_builds, monkeypatch):
    backbone.onnx_bytes()
    old = backbone.cache_path()
    monkeypatch.setattr(backbone, "FORMAT_VERSION", backbone.FORMAT_VERSION + 1)
    assert backbone.cache_path() != old
    backbone.onnx_bytes()
    assert len(counted_builds) == 2 and backbone.cache_path().is_file()


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "lose the digest"])
def test_a_damaged_cache_is_rebuilt(counted_builds, onnx_data, damage):
    backbone.onnx_bytes()
    path = backbone.cache_path()
    if damage == "flip a byte":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        Path(str(path) + ".sha256").unlink()
    assert backbone.onnx_bytes() == onnx_data
    assert len(counted_builds) == 2 and path.read_bytes() == onnx_data
    assert backbone.onnx_bytes() == onnx_data and len(counted_builds) == 2


def test_a_cached_graph_that_onnxruntime_cannot_load_is_rebuilt(counted_builds, onnx_data, monkeypatch):
    """Even a file whose recorded digest matches (say, written by a broken converter) is not trusted
    when onnxruntime refuses it."""
    monkeypatch.setattr(backbone, "_session", None)
    path = backbone.cache_path()
    junk = b"not an onnx graph"
    path.parent.mkdir(parents=True)
    path.write_bytes(junk)
    Path(str(path) + ".sha256").write_text(hashlib.sha256(junk).hexdigest())
    sess = backbone.session()
    assert [o.name for o in sess.get_outputs()] == [backbone.FEATURES_NAME, backbone.LOGITS_NAME]
    assert len(counted_builds) == 1 and path.read_bytes() == onnx_data


# --- hostile and damaged checkpoints -------------------------------------------------------------

def test_a_tampered_copy_of_the_weights_is_refused(source, tmp_path):
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside a tensor: still a readable checkpoint, but other weights
    copy = tmp_path / source.name
    copy.write_bytes(bytes(data))
    with pytest.raises(StudioError, match="not the expected file"):
        backbone.load_weights(copy)


@pytest.mark.parametrize("cut", [10, 200, 50_000, 1_000_000])
def test_a_truncated_checkpoint_is_a_clear_error(source, tmp_path, cut):
    copy = tmp_path / "cut.pth"
    copy.write_bytes(source.read_bytes()[:cut])
    with pytest.raises(StudioError, match="damaged"):
        backbone.read_checkpoint(copy)


class _Exec:
    """Pickles as a call of ``builtins.exec`` that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


class _System:
    """Pickles as a call of ``os.system`` that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def _legacy(payload: bytes) -> bytes:
    """A legacy torch checkpoint whose valid header is followed by ``payload`` as its object."""
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    return b"".join(pickle.dumps(x, protocol=2) for x in (backbone._LEGACY_MAGIC, 1001, info)) + payload


def _torch_zip(payload: bytes, storages: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", payload)
        for key, raw in (storages or {}).items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


@pytest.mark.parametrize("gadget", [_Exec, _System])
@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("where", ["first pickle", "legacy state dict", "inside a tensor list", "zip data.pkl"])
def test_a_checkpoint_that_asks_for_code_is_refused_without_running_it(tmp_path, gadget, protocol, where):
    if gadget is _System and os.name != "posix":
        pytest.skip("the os.system gadget uses touch")
    control = tmp_path / "control"
    evil = pickle.dumps(gadget(control), protocol=protocol)
    pickle.loads(evil)  # noqa: S301  the control: unrestricted, the gadget really runs
    assert control.exists()

    marker = tmp_path / "pwned"
    evil = pickle.dumps(gadget(marker), protocol=protocol)
    wrapped = pickle.dumps({"x": [1, 2, gadget(marker)]}, protocol=protocol)
    data = {"first pickle": evil, "legacy state dict": _legacy(evil), "inside a tensor list": _legacy(wrapped),
            "zip data.pkl": _torch_zip(evil)}[where]
    path = tmp_path / "model.pth"
    path.write_bytes(data)
    with pytest.raises(UnsafeFile, match=r"(__builtin__|builtins|posix|os)\.(exec|system), .*refuses"):
        backbone.read_checkpoint(path)
    with pytest.raises(StudioError):  # through the public door it fails even earlier, on the sha256
        backbone.load_weights(path)
    with pytest.raises(UnsafeFile):  # and a matching sha256 does not make it trusted
        backbone.load_weights(path, sha256=hashlib.sha256(data).hexdigest())
    assert not marker.exists()


@pytest.mark.parametrize("junk", [b"", b"PK\x03\x04 not a zip", b"\x80\x02K\x01.", pickle.dumps([1, 2, 3], 2),
                                  _legacy(pickle.dumps({"w": 1.5}, 2)), _torch_zip(pickle.dumps({"w": "x"}, 2))])
def test_junk_is_a_clear_error(tmp_path, junk):
    path = tmp_path / "junk.pth"
    path.write_bytes(junk)
    with pytest.raises(StudioError):
        backbone.read_checkpoint(path)


def _split_legacy(data: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The state-dict pickle of a legacy checkpoint and the raw bytes of each storage."""
    f = io.BytesIO(data)
    for _ in range(3):
        backbone._unpickle(f, "test")
    start = f.tell()
    _obj, storages = backbone._unpickle(f, "test")
    state = data[start:f.tell()]
    keys = backbone._unpickle(f, "test")[0]
    raw, pos = {}, f.tell()
    for key in keys:
        (numel,) = struct.unpack_from("<q", data, pos)
        nbytes = numel * storages[key].dtype.itemsize
        raw[key] = data[pos + 8:pos + 8 + nbytes]
        pos += 8 + nbytes
    return state, raw


def test_the_zip_format_reads_the_same_tensors(source, weights, tmp_path):
    """torch has written zip archives since 1.6: the same state dict repacked that way reads the same."""
    state, raw = _split_legacy(source.read_bytes())
    path = tmp_path / "zipped.pth"
    path.write_bytes(_torch_zip(state, raw))
    zipped = backbone.read_checkpoint(path)
    assert zipped.keys() == weights.keys()
    assert all(np.array_equal(zipped[k], weights[k]) and zipped[k].dtype == weights[k].dtype for k in weights)

    short = dict(raw)
    key = next(iter(short))
    short[key] = short[key][:-4]
    path.write_bytes(_torch_zip(state, short))
    with pytest.raises(StudioError, match="shorter"):
        backbone.read_checkpoint(path)
    del short[key]
    path.write_bytes(_torch_zip(state, short))
    with pytest.raises(StudioError, match="damaged"):
        backbone.read_checkpoint(path)


@pytest.mark.parametrize("size, stride, offset", [((5,), (1,), 0), ((2, 2), (3, 1), 0), ((4,), (1,), 1),
                                                 ((2,), (-1,), 1), ((-1,), (1,), 0), ((1,), (1,), -1),
                                                 ((100_000, 100_000), (0, 0), 0)])
def test_a_tensor_reaching_outside_its_storage_is_refused(tmp_path, size, stride, offset):
    """A crafted size, stride or offset must not read memory outside the file's bytes, nor blow a
    one-element storage up into 10^10 elements (stride 0)."""
    path = tmp_path / "bad.pth"
    path.write_bytes(_torch_zip(_tensor_pickle(size, stride, offset), {"0": struct.pack("<4f", 1, 2, 3, 4)}))
    with pytest.raises(StudioError, match="storage|negative"):
        backbone.read_checkpoint(path)


def test_strided_tensors_read_right(tmp_path):
    path = tmp_path / "ok.pth"
    path.write_bytes(_torch_zip(_tensor_pickle((2, 2), (1, 2), 0), {"0": struct.pack("<4f", 1, 2, 3, 4)}))
    assert backbone.read_checkpoint(path)["w"].tolist() == [[1, 3], [2, 4]]  # a transposed view
    path.write_bytes(_torch_zip(_tensor_pickle((3,), (1,), 1), {"0": struct.pack("<4f", 1, 2, 3, 4)}))
    assert backbone.read_checkpoint(path)["w"].tolist() == [2, 3, 4]  # an offset


def _tensor_pickle(size: tuple[int, ...], stride: tuple[int, ...], offset: int) -> bytes:
    """A zip-format state-dict pickle {"w": tensor} built from raw opcodes (no torch here)."""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"

    return (b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w"
            b"ctorch._utils\n_rebuild_tensor_v2\n("
            b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
            + b"J" + struct.pack("<i", offset) + tup(size) + tup(stride) + b"\x89N" + b"tRu.")
