"""Sound clips: turning whatever a user hands us (a microphone chunk, an array and its rate,
WAV / MP3 / OGG / FLAC bytes or files) into a mono clip, storing clips as WAV, splitting long
recordings, small pictures of clips, and the sliding window behind live prediction.

WAV is decoded in-process (scipy, exactly as the exported ``predict.py`` does); other formats
go through Debian's ``ffmpeg`` in a subprocess when it is installed, fed through a pipe with
every other protocol disabled, so a hostile file can neither crash studio nor make ffmpeg
open anything else.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.errors import BadSound
from studio.features import sound_kernel

STORE_RATE = 16000  # samples are stored as 16-bit PCM mono WAV at this rate
CLIP_SECONDS = 1.0  # the length of a recorded clip, as in Teachable Machine
MAX_SECONDS = 600.0  # the longest recording studio decodes (for splitting)
MAX_CLIP_SECONDS = 30.0  # the longest single sample; longer recordings must be split
MAX_BYTES = 256 * 2**20
SAMPLE_SUFFIX = ".wav"
SOUND_SUFFIXES = {".wav", ".wave", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".webm", ".m4a"}
SPEEDS = {"slow": 0.9, "fast": 1.1}  # training variants: the clip played 10 % slower / faster
FFMPEG_TIMEOUT = 120


@dataclass(frozen=True)
class Clip:
    """Mono float32 samples in [-1, 1] and their sample rate."""

    samples: np.ndarray
    sr: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sr

    def at(self, sr: int) -> Clip:
        """This clip resampled to ``sr`` Hz."""
        if sr == self.sr:
            return self
        return Clip(sound_kernel.resample(self.samples, self.sr, sr).astype(np.float32), sr)


SoundSource = Clip | tuple | bytes | str | Path


def is_sound_name(name: str) -> bool:
    return Path(name).suffix.lower() in SOUND_SUFFIXES


def from_array(data, sr, name: str = "array") -> Clip:
    """A clip from samples (integer PCM or float in [-1, 1]; (n,) or (n, channels)) at ``sr`` Hz."""
    try:
        sr = int(sr)
    except (TypeError, ValueError):
        raise BadSound(f"{name}: the sample rate must be a number of Hz; got {sr!r}.") from None
    arr = np.asarray(data)
    if not 1000 <= sr <= 384000:
        raise BadSound(f"{name}: a sample rate of {sr} Hz is not plausible (1000 to 384000).")
    if arr.ndim == 2 and arr.shape[0] < arr.shape[1] and arr.shape[0] <= 8:
        arr = arr.T  # (channels, n) as some libraries give it
    if arr.ndim not in (1, 2) or arr.size == 0 or not (np.issubdtype(arr.dtype, np.number)):
        raise BadSound(f"{name} has shape {arr.shape} and type {arr.dtype}; expected (n,) or (n, channels) samples.")
    if arr.shape[0] / sr > MAX_SECONDS:
        raise BadSound(f"{name} is {arr.shape[0] / sr:.0f} s long; studio reads at most {MAX_SECONDS:.0f} s.")
    return Clip(sound_kernel.as_mono_float(arr), sr)


def load(source: SoundSource, name: str | None = None) -> Clip:
    """Decode ``source``: a Clip, a (sample rate, samples) pair as Gradio's microphone gives it,
    or the bytes or path of a WAV / MP3 / OGG / FLAC file. Raises BadSound saying why not."""
    if isinstance(source, Clip):
        return source
    if isinstance(source, tuple) and len(source) == 2:
        return from_array(source[1], source[0], name or "the recording")
    if isinstance(source, (bytes, bytearray)):
        return decode(bytes(source), name or "the uploaded data")
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise BadSound(f"{name or path} is {size / 2**20:.0f} MiB; studio reads sound files up to "
                               f"{MAX_BYTES // 2**20} MiB.")
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise BadSound(f"{name or path} does not exist or is not a file.") from None
        except OSError as e:
            raise BadSound(f"{name or path} cannot be read ({e.strerror}).") from None
        return decode(data, name or str(path))
    if isinstance(source, np.ndarray):
        raise BadSound("A bare array has no sample rate: pass (sample_rate, samples).")
    raise BadSound(f"Cannot read a sound from a {type(source).__name__}.")


def decode(data: bytes, name: str) -> Clip:
    """WAV in-process; anything else (or a WAV scipy cannot read, e.g. mu-law) through ffmpeg."""
    if len(data) > MAX_BYTES:
        raise BadSound(f"{name} is larger than the {MAX_BYTES // 2**20} MiB studio reads.")
    problem = "is not a WAV file"
    if data[:4] in (b"RIFF", b"RF64") and data[8:12] == b"WAVE":
        try:
            samples, sr = sound_kernel.load_wav(io.BytesIO(data))
            clip = from_array(samples, sr, name)
            if clip.samples.size == 0:
                raise BadSound(f"{name} holds no samples.")
            return clip
        except (ValueError, EOFError, OSError, MemoryError) as e:
            problem = f"is a WAV file scipy cannot read ({str(e)[:120]})"
    if shutil.which("ffmpeg") is None:
        raise BadSound(f"{name} {problem}; decoding MP3, OGG, FLAC and other formats needs ffmpeg "
                       "(Debian: apt-get install ffmpeg), or convert the file to WAV.")
    return _ffmpeg(data, name)


def _ffmpeg(data: bytes, name: str) -> Clip:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-protocol_whitelist", "pipe", "-i", "pipe:0",
           "-t", str(MAX_SECONDS + 1), "-vn", "-f", "s16le", "-ac", "1", "-ar", str(STORE_RATE), "pipe:1"]
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=FFMPEG_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BadSound(f"{name}: decoding took longer than {FFMPEG_TIMEOUT} s; convert it to WAV first.") from None
    samples = np.frombuffer(done.stdout[: len(done.stdout) // 2 * 2], dtype="<i2")
    if done.returncode != 0 or samples.size == 0:
        why = [line.removeprefix("pipe:0: ") for line in done.stderr.decode("utf-8", "replace").strip().splitlines()]
        raise BadSound(f"{name} is not a readable sound file ({why[-1][:160] if why else 'no audio in it'}).")
    return from_array(samples, STORE_RATE, name)


def to_wav(clip: Clip) -> bytes:
    """16-bit PCM mono WAV at STORE_RATE: the format of every stored sample."""
    x = clip.at(STORE_RATE).samples
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(STORE_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def checked_clip(clip: Clip, name: str) -> Clip:
    """Refuse a single sample that is empty or too long to be one clip."""
    if clip.samples.size == 0:
        raise BadSound(f"{name} is empty.")
    if clip.seconds > MAX_CLIP_SECONDS:
        raise BadSound(f"{name} is {clip.seconds:.0f} s long; one clip is at most {MAX_CLIP_SECONDS:.0f} s: "
                       "split it into clips (studio add --split).")
    return clip


# ---- splitting long recordings ------------------------------------------------------------------
def sound_regions(clip: Clip, min_gap: float = 0.25, min_length: float = 0.08) -> list[tuple[int, int]]:
    """(start, end) sample ranges where something louder than the background is heard.

    The background level is the recording's quietest tenth; a sound is at least 12 dB above it,
    at most 40 dB below the loudest moment and above -55 dBFS; pauses shorter than ``min_gap``
    seconds join two sounds, sounds shorter than ``min_length`` are dropped.
    A steady sound with no quieter background (a fan, an engine) is one sound as long as the
    recording."""
    x, sr = clip.samples.astype(np.float64), clip.sr
    hop = max(1, sr // 100)
    n = len(x) // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-9))
    floor = np.percentile(db, 10)
    if floor > -55.0 and db.max() < floor + 12.0:  # never quiet: all of it is the sound
        return [(0, len(x))]
    threshold = max(floor + 12.0, db.max() - 40.0, -55.0)
    active = np.flatnonzero(db > threshold)
    if active.size == 0:
        return []
    regions, start, prev = [], active[0], active[0]
    for i in active[1:]:
        if (i - prev) * hop > min_gap * sr:
            regions.append((start, prev + 1))
            start = i
        prev = i
    regions.append((start, prev + 1))
    return [(a * hop, min(len(x), b * hop)) for a, b in regions if (b - a) * hop >= min_length * sr]


def split(clip: Clip, seconds: float = CLIP_SECONDS, skip_silence: bool = True) -> list[Clip]:
    """Cut a recording into clips of ``seconds``.

    ``skip_silence``: one clip centred on each sound (never reaching past the middle of the
    pause to the next sound; a sound longer than a clip gives consecutive clips), nothing for
    the pauses. Otherwise consecutive clips, as hold-to-record makes them (what a "Background
    noise" class needs); a last piece shorter than half a clip is dropped."""
    n = max(1, int(round(seconds * clip.sr)))
    x = clip.samples
    if not skip_silence:
        return [Clip(x[s:s + n], clip.sr) for s in range(0, len(x), n) if len(x[s:s + n]) * 2 >= n]
    regions = sound_regions(clip)
    out = []
    for i, (a, b) in enumerate(regions):
        lo = 0 if i == 0 else (regions[i - 1][1] + a) // 2
        hi = len(x) if i == len(regions) - 1 else (b + regions[i + 1][0]) // 2
        if b - a > n:
            out += [Clip(x[s:min(s + n, b)], clip.sr) for s in range(a, b, n) if (min(s + n, b) - s) * 2 >= n]
            continue
        start = int(min(max((a + b) // 2 - n // 2, lo), max(lo, hi - n)))
        out.append(Clip(x[start:min(start + n, hi)], clip.sr))
    return out


def augmented(clip: Clip, variant: str) -> Clip:
    """A training variant of ``clip``: ``plain``, or played slower / faster (pitch and tempo
    together, like a slightly different voice)."""
    if variant == "plain":
        return clip
    return Clip(clip.samples, int(round(clip.sr * SPEEDS[variant])))


# ---- pictures -------------------------------------------------------------------------------------
PICTURE = {"sr": 16000, "win": 400, "hop": 160, "n_fft": 512, "n_mels": 40, "fmin": 20.0, "fmax": 8000.0}
_COLOURS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)


def waveform_image(clip: Clip, width: int = 160, height: int = 48,
                   colour: tuple[int, int, int] = (66, 133, 244)) -> np.ndarray:
    """(height, width, 3) uint8: the clip's min-max envelope per column on white."""
    x = clip.samples
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    if x.size == 0:
        return img
    edges = np.linspace(0, x.size, width + 1).astype(int)
    top, bottom = np.empty(width), np.empty(width)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        part = x[a:max(b, a + 1)]
        top[i], bottom[i] = part.max(), part.min()
    scale = max(float(np.abs(x).max()), 1e-3)
    mid = (height - 1) / 2
    y0 = np.round(mid - top / scale * mid).astype(int)
    y1 = np.round(mid - bottom / scale * mid).astype(int)
    rows = np.arange(height)[:, None]
    img[(rows >= y0[None, :]) & (rows <= y1[None, :])] = colour
    return img


def spectrogram_image(clip: Clip, width: int = 160, height: int = 64) -> np.ndarray:
    """(height, width, 3) uint8: the log-mel spectrogram (low pitches at the bottom), 80 dB range."""
    from PIL import Image

    x = clip.at(PICTURE["sr"]).samples.astype(np.float64)
    S = sound_kernel.logmel(x, PICTURE)
    S = np.clip((S - (S.max() - 80.0)) / 80.0, 0.0, 1.0)[::-1]
    pos = S * (len(_COLOURS) - 1)
    i = np.minimum(pos.astype(int), len(_COLOURS) - 2)
    f = (pos - i)[..., None]
    rgb = (_COLOURS[i] * (1 - f) + _COLOURS[i + 1] * f).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))


# ---- live input -----------------------------------------------------------------------------------
class SlidingWindow:
    """The last ``seconds`` of a stream fed chunk by chunk (e.g. Gradio's streaming microphone).

    Samples stay at the stream's own rate (the feature step resamples once per window); a
    change of rate restarts the window."""

    def __init__(self, seconds: float = CLIP_SECONDS):
        self.seconds = float(seconds)
        self.sr = 0
        self.samples = np.zeros(0, dtype=np.float32)
        self.received = 0.0  # seconds fed in since the start

    def push(self, chunk: SoundSource) -> None:
        clip = load(chunk, "the microphone chunk")
        if clip.sr != self.sr:
            self.sr, self.samples = clip.sr, np.zeros(0, dtype=np.float32)
        keep = int(round(self.seconds * self.sr))
        self.samples = np.concatenate([self.samples, clip.samples])[-keep:]
        self.received += clip.seconds

    @property
    def filled(self) -> float:
        """Seconds of audio in the window."""
        return len(self.samples) / self.sr if self.sr else 0.0

    def clip(self) -> Clip:
        return Clip(self.samples.copy(), self.sr or STORE_RATE)


class Recorder:
    """Hold-to-record: microphone chunks in, consecutive clips of ``seconds`` out as soon as each
    is complete (store each with ``Project.add_sample``); ``finish`` returns the last piece if it
    is at least half a clip."""

    def __init__(self, seconds: float = CLIP_SECONDS):
        self.seconds = float(seconds)
        self.sr = 0
        self.pending = np.zeros(0, dtype=np.float32)

    def record(self, chunk: SoundSource) -> list[Clip]:
        clip = load(chunk, "the microphone chunk")
        if clip.sr != self.sr:
            self.sr, self.pending = clip.sr, np.zeros(0, dtype=np.float32)
        self.pending = np.concatenate([self.pending, clip.samples])
        n = int(round(self.seconds * self.sr))
        done = [Clip(self.pending[i:i + n], self.sr) for i in range(0, len(self.pending) - n + 1, n)]
        self.pending = self.pending[len(done) * n:]
        return done

    def finish(self) -> list[Clip]:
        rest, self.pending = self.pending, np.zeros(0, dtype=np.float32)
        return [Clip(rest, self.sr)] if self.sr and len(rest) * 2 >= self.seconds * self.sr else []


@dataclass
class Heard:
    """One live prediction: ``label`` is None while no class reaches the threshold."""

    label: str | None
    confidence: float
    confidences: dict[str, float]
    seconds: float  # time the prediction took


class Listener:
    """Live prediction over a sliding window: feed microphone chunks, get a prediction at most
    every ``every`` seconds of audio once half a window has arrived."""

    def __init__(self, predictor, threshold: float = 0.75, every: float = 0.25):
        self.predictor = predictor
        self.threshold = float(threshold)
        self.every = float(every)
        self.window = SlidingWindow(float(getattr(predictor.spec, "seconds", CLIP_SECONDS)))
        self._last = -np.inf

    def hear(self, chunk: SoundSource) -> Heard | None:
        self.window.push(chunk)
        if self.window.filled * 2 < self.window.seconds or self.window.received - self._last < self.every - 1e-9:
            return None
        self._last = self.window.received
        t0 = time.perf_counter()
        conf = self.predictor.predict(self.window.clip())
        label, _ = self.predictor.top_of(conf)
        heard = label if conf[label] >= self.threshold else None
        return Heard(heard, conf[label], conf, time.perf_counter() - t0)
