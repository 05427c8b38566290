"""Sound projects in-process: decoding, storing, splitting, features, training, prediction and
the live window, on real spoken-digit clips (tests/fixtures/spoken_digits, from FSDD)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np
import pytest
from conftest import FIXTURES, data_set

from studio.errors import BadImage, BadSample, BadSound, StudioError
from studio.features import sound_kernel as audio
from studio.features.sound import LogmelSpec
from studio.features.speech import SpeechSpec
from studio.kinds import PHOTO, SOUND
from studio.kinds.sound import BACKGROUND
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples import sounds

DIGITS = FIXTURES / "spoken_digits"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs Debian's ffmpeg")


def clips(digit: str) -> list:
    return sorted((DIGITS / digit).glob("*.wav"))


def wav_info(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()


def recording(paths, gap: float = 0.6, noise: float = 0.002, sr: int = 16000) -> sounds.Clip:
    """Real clips one after another with quiet, slightly noisy pauses between and around them."""
    rng = np.random.default_rng(0)
    pause = np.zeros(int(gap * sr), np.float32)
    parts = [pause]
    for p in paths:
        parts += [sounds.load(p).at(sr).samples, pause]
    x = np.concatenate(parts)
    return sounds.Clip((x + noise * rng.standard_normal(x.size)).astype(np.float32), sr)


@pytest.fixture
def sound_project(store):
    """A sound project with three digit classes of fixture clips (twelve each)."""
    project = store.create("digits", "sound", classes=["0", "1", "2"])
    for label in ("0", "1", "2"):
        for f in clips(label):
            project.add_sample(label, f)
    return project


# ---- decoding and storing ---------------------------------------------------------------------
def test_wav_is_read_from_a_path_bytes_or_gradio_pair_alike(tmp_path):
    path = clips("1")[0]
    from_path = sounds.load(path)
    from_bytes = sounds.load(path.read_bytes(), "clip")
    assert from_path.sr == from_bytes.sr == 8000
    assert from_path.samples.dtype == np.float32 and np.array_equal(from_path.samples, from_bytes.samples)
    pcm = np.round(from_path.samples * 32768).astype(np.int16)
    stereo = sounds.load((8000, np.stack([pcm, pcm], axis=1)))  # what gr.Audio(type="numpy") gives
    assert np.allclose(stereo.samples, from_path.samples, atol=1e-6)
    floats = sounds.load((8000, from_path.samples.astype(np.float64)))
    assert np.allclose(floats.samples, from_path.samples)


def test_unreadable_sounds_are_refused_with_the_reason(tmp_path):
    with pytest.raises(BadSound, match="no sample rate"):
        sounds.load(np.zeros(100))
    with pytest.raises(BadSound, match="does not exist"):
        sounds.load(tmp_path / "missing.wav")
    with pytest.raises(BadSound, match="sample rate"):
        sounds.load((5, np.zeros(100)))
    with pytest.raises(BadSound):
        sounds.load(b"RIFF\x00\x00\x00\x00WAVEjunk", "broken.wav")
    with pytest.raises(BadSound, match="30 s"):
        sounds.checked_clip(sounds.Clip(np.zeros(16000 * 31, np.float32), 16000), "long.wav")
    assert issubclass(BadSound, BadSample) and issubclass(BadImage, BadSample)  # one handler catches both


@needs_ffmpeg
@pytest.mark.parametrize("suffix", [".mp3", ".ogg", ".flac"])
def test_other_formats_decode_through_ffmpeg(tmp_path, suffix):
    src = clips("2")[0]
    out = tmp_path / f"clip{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), str(out)], check=True)
    clip = sounds.load(out)
    ref = sounds.load(src)
    assert clip.sr == sounds.STORE_RATE
    assert abs(clip.seconds - ref.seconds) < 0.1  # encoders may pad a few milliseconds
    assert np.abs(clip.samples).max() > 0.1


@needs_ffmpeg
def test_garbage_is_refused_by_ffmpeg_without_a_traceback():
    with pytest.raises(BadSound, match="not a readable sound"):
        sounds.load(b"\x00\x01 definitely not audio" * 50, "noise.mp3")


def test_a_sound_project_starts_like_teachable_machines(store):
    project = store.create("voice", "sound")
    assert project.kind.name == "sound"
    assert project.labels() == [BACKGROUND, "Class 2"] and BACKGROUND == "Background noise"
    assert TrainSettings.from_dict(project.settings()).features == "speech"  # the speech embedding
    assert SOUND.feature_kinds() == ("speech", "logmel")  # log-mel stays selectable
    assert store.create("pics").labels() == ["Class 1", "Class 2"]


def test_clips_are_stored_as_16_bit_mono_wav_at_16_khz_with_unique_names(store):
    project = store.create("voice", "sound")
    src = clips("0")[0]
    added = [project.add_sample("Class 2", src), project.add_sample("Class 2", src.read_bytes()),
             project.add_sample("Class 2", (48000, np.zeros(24000, np.int16)))]
    assert len({s.name for s in added}) == 3 and all(s.name.endswith(".wav") for s in added)
    channels, width, rate, frames = wav_info(added[0].path.read_bytes())
    assert (channels, width, rate) == (1, 2, 16000)
    assert abs(frames / rate - sounds.load(src).seconds) < 0.01
    assert wav_info(added[2].path.read_bytes())[3] == 8000  # 0.5 s at 48 kHz, stored at 16 kHz
    (added[0].path.parent / "notes.txt").write_text("not a clip")
    (added[0].path.parent / "picture.png").write_bytes(b"")
    assert project.counts()["Class 2"] == 3
    project.delete_sample("Class 2", added[1].name)
    assert {s.name for s in project.samples("Class 2")} == {added[0].name, added[2].name}
    assert not list(added[0].path.parent.glob(".tmp-*"))


# ---- splitting ------------------------------------------------------------------------------------
def test_split_finds_each_spoken_digit_and_skips_the_pauses():
    words = [clips("0")[0], clips("1")[3], clips("2")[6]]
    rec = recording(words)
    parts = sounds.split(rec)
    assert len(parts) == 3
    assert all(0.5 <= p.seconds <= 1.0 + 1e-9 for p in parts)
    featured = [LogmelSpec().vector(p) for p in parts]
    originals = [LogmelSpec().vector(sounds.load(w)) for w in words]
    for i, got in enumerate(featured):  # each clip holds its own digit, not a neighbour's
        assert int(np.argmin([np.linalg.norm(got - o) for o in originals])) == i


def test_split_keeping_silence_makes_consecutive_clips_as_hold_to_record_does():
    rec = sounds.Clip(np.random.default_rng(1).normal(0, 0.01, 16000 * 5 + 4000).astype(np.float32), 16000)
    parts = sounds.split(rec, 1.0, skip_silence=False)
    assert [len(p.samples) for p in parts] == [16000] * 5  # the last 0.25 s is less than half a clip
    assert np.array_equal(np.concatenate([p.samples for p in parts]), rec.samples[:80000])
    assert sounds.split(sounds.Clip(np.zeros(32000, np.float32), 16000)) == []


def test_a_steady_sound_with_no_quiet_background_is_kept_whole():
    hum = np.sin(2 * np.pi * 120 * np.arange(16000 * 3 + 8000) / 16000) * 0.3  # 3.5 s of a fan's hum
    noise = np.random.default_rng(2).normal(0, 0.1, 16000 * 2)  # 2 s of steady hiss
    for steady, want in ((hum, [1.0, 1.0, 1.0, 0.5]), (noise, [1.0, 1.0])):
        parts = sounds.split(sounds.Clip(steady.astype(np.float32), 16000))
        assert [round(p.seconds, 3) for p in parts] == want
    quiet = np.random.default_rng(3).normal(0, 1e-4, 16000 * 2).astype(np.float32)  # below -55 dBFS
    assert sounds.split(sounds.Clip(quiet, 16000)) == []


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")
def test_split_a_synthesised_count(tmp_path):
    out = tmp_path / "count.wav"
    subprocess.run(["espeak-ng", "-g", "60", "-w", str(out), "one. two. three. four."], check=True)
    assert len(sounds.split(sounds.load(out))) == 4


def test_add_recording_stores_one_clip_per_sound(store):
    project = store.create("voice", "sound")
    rec = recording([clips("0")[0], clips("0")[5]])
    added = project.add_recording("Class 2", rec)
    assert len(added) == 2 and project.counts()["Class 2"] == 2
    with pytest.raises(BadSound, match="without skipping silence"):
        project.add_recording("Class 2", sounds.Clip(np.zeros(16000, np.float32), 16000))
    background = project.add_recording(BACKGROUND, rec, skip_silence=False)
    assert len(background) == int(rec.seconds + 0.5)
    with pytest.raises(StudioError, match="sound projects"):
        store.create("pics").add_recording("Class 1", rec)


# ---- features -------------------------------------------------------------------------------------
def test_features_are_fixed_size_finite_and_deterministic():
    spec = LogmelSpec().json
    dims = set()
    for clip in [sounds.load(p) for p in clips("1")[:3]] + [
            sounds.Clip(np.zeros(16000, np.float32), 16000),  # digital silence
            sounds.Clip(np.ones(10, np.float32) * 0.5, 16000),  # shorter than one analysis window
            sounds.Clip(np.random.default_rng(0).normal(0, 0.1, 48000 * 3).astype(np.float32), 48000)]:
        v = audio.extract_sound(clip.samples, clip.sr, spec)
        assert v.dtype == np.float32 and np.isfinite(v).all()
        assert np.array_equal(v, audio.extract_sound(clip.samples, clip.sr, spec))
        dims.add(v.size)
    assert len(dims) == 1
    with pytest.raises(ValueError, match="empty"):
        audio.extract_sound(np.zeros(0, np.float32), 16000, spec)


def test_features_hardly_depend_on_the_recording_rate_or_level():
    clip = sounds.load(clips("2")[0])
    spec = LogmelSpec().json
    base = audio.extract_sound(clip.samples, clip.sr, spec)
    for sr in (16000, 44100, 48000):
        other = clip.at(sr)
        v = audio.extract_sound(other.samples * 0.5, sr, spec)
        assert np.corrcoef(base[:-2], v[:-2])[0, 1] > 0.99  # all but the level in dB
        assert v[-2] == pytest.approx(base[-2] - 6.02, abs=0.3)


def test_impossible_sound_specs_are_refused():
    with pytest.raises(TypeError, match="size"):
        LogmelSpec(size=3)
    with pytest.raises(ValueError, match="fmax"):
        LogmelSpec(fmax=9000).checked()
    with pytest.raises(ValueError, match="HOG cells"):
        LogmelSpec(frames=8).checked()


def test_training_variants_are_slower_and_faster_copies():
    assert SOUND.variants(True) == ("plain", "slow", "fast")
    assert SOUND.variants(False) == ("plain",)
    clip = sounds.load(clips("0")[0])
    assert sounds.augmented(clip, "slow").sr == 7200 and sounds.augmented(clip, "plain") is clip


# ---- training and prediction ------------------------------------------------------------------------
def test_a_sound_project_trains_and_predicts_like_an_image_project(sound_project, tmp_path):
    record = train(sound_project)
    assert record.spec == SpeechSpec() and record.labels == ["0", "1", "2"]
    test = record.metrics.test.to_json()
    assert test["n"] == 36 and test["accuracy"] is not None and set(test["per_class"]) == {"0", "1", "2"}
    assert record.metrics.n_train == 30
    predictor = Predictor.from_project(sound_project)
    for label in ("0", "1", "2"):
        for f in clips(label)[:2]:
            conf = predictor.predict(f)
            assert list(conf) == ["0", "1", "2"] and abs(sum(conf.values()) - 1) < 1e-6
            assert predictor.top(f)[0] == label  # trained on it
    clip = sounds.load(clips("1")[0])
    mic = (48000, np.round(clip.at(48000).samples * 32767).astype(np.int16))  # a Gradio microphone pair
    assert predictor.top(mic)[0] == "1"
    again = train(sound_project)
    assert again.metrics.cache == (36, 0)


def test_image_features_cannot_train_a_sound_project(sound_project):
    with pytest.raises(StudioError, match="sound project takes speech or logmel"):
        train(sound_project, TrainSettings(features="hog"))
    with pytest.raises(StudioError, match="A photo project takes .*pixels features; got .logmel."):
        TrainSettings(features="logmel").spec_for(PHOTO)


def test_a_damaged_clip_is_named_when_training_and_left_out(sound_project):
    bad = sound_project.path / sound_project.class_info("2").folder / "0000000000000000-broken.wav"
    bad.write_bytes(b"RIFF....WAVEnot really")
    m = train(sound_project).metrics
    assert m.n_train + m.n_test == 36 and len(m.skipped) == 1 and "broken.wav" in m.skipped[0]
    assert m.left_out("clip", "clips").startswith("Left out 1 clip that could not be read: ")
    assert bad.is_file()


def test_every_model_kind_trains_on_sounds(sound_project):
    for model in ("knn", "mlp", "logistic", "forest", "naive_bayes", "linear_svm"):
        record = train(sound_project, TrainSettings(features="logmel", model=model, epochs=5, augment=False))
        assert (record.metrics.n_test, record.metrics.test.n) == (6, 36)  # six held back, each clip in turn


# ---- live ------------------------------------------------------------------------------------------
def test_the_live_listener_predicts_four_times_a_second_and_holds_back_below_the_threshold(sound_project):
    train(sound_project)
    predictor = Predictor.from_project(sound_project)
    rec = recording([clips("0")[1], clips("2")[1]], gap=0.8).at(48000)
    chunk = 12000  # 0.25 s at 48 kHz, as gr.Audio(streaming=True, stream_every=0.25) sends it
    listener = sounds.Listener(predictor, threshold=0.0, every=0.25)
    heard = [listener.hear((48000, rec.samples[i:i + chunk])) for i in range(0, rec.samples.size, chunk)]
    results = [h for h in heard if h is not None]
    assert heard[0] is None  # a quarter of a window is not enough to go on
    assert len(results) >= len(heard) - 2
    assert {"0", "2"} <= {h.label for h in results}
    assert all(h.seconds < 0.5 for h in results)
    strict = sounds.Listener(predictor, threshold=1.01)
    assert all(h is None or h.label is None for h in
               (strict.hear((48000, rec.samples[i:i + chunk])) for i in range(0, rec.samples.size, chunk)))
    window = sounds.SlidingWindow(1.0)
    for _ in range(6):
        window.push((16000, np.ones(4000, np.int16)))
    assert window.filled == 1.0 and window.received == 1.5


def test_hold_to_record_gives_each_clip_as_soon_as_it_is_complete():
    recorder = sounds.Recorder(1.0)
    chunk = (48000, np.full(12000, 1000, np.int16))  # 0.25 s
    got = [len(recorder.record(chunk)) for _ in range(10)]
    assert got == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    last = recorder.finish()
    assert len(last) == 1 and last[0].seconds == 0.5 and recorder.finish() == []


def test_thumbnails_show_the_clip(sound_project):
    clip = sounds.load(clips("1")[0])
    wave_img = sounds.waveform_image(clip, 120, 40)
    spec_img = sounds.spectrogram_image(clip, 120, 50)
    assert wave_img.shape == (40, 120, 3) and spec_img.shape == (50, 120, 3)
    assert wave_img.dtype == spec_img.dtype == np.uint8
    assert (wave_img != 255).any() and spec_img.std() > 10
    assert (sounds.waveform_image(sounds.Clip(np.zeros(0, np.float32), 16000)) == 255).all()


# ---- accuracy on the full set ------------------------------------------------------------------------
@pytest.mark.data
def test_other_takes_of_the_same_speakers_are_recognised(store):
    folder = data_set("spoken_digits")
    project = store.create("fsdd", "sound", classes=[str(d) for d in range(10)])
    held = []
    for path in sorted(folder.glob("*/*.wav")):
        if int(path.stem.split("_")[2]) >= 10:
            project.add_sample(path.parent.name, path)
        else:
            held.append(path)
    train(project, TrainSettings(features="logmel", test_fraction=0.0))
    predictor = Predictor.from_project(project)
    right = sum(predictor.top(p)[0] == p.parent.name for p in held)
    assert right / len(held) >= 0.95, f"{right}/{len(held)}"
