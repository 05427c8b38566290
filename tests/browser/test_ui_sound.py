"""The sound walk, as the sound issue's "done when" describes it: a sound project created in the
project bar; on the sound page, clips recorded from Chromium's fake microphone (a looping WAV:
3 s of a low tone, 3 s of a high one) into two classes by holding their buttons, a third class
made of uploaded noise files (a long one split into clips), a clip played back and deleted, an
empty fourth class switched off (its card dimmed, training leaves it out), training, the live
label following the tones and the threshold turning it into "listening...", then the export
downloaded from the page and its ``predict.py`` run on WAV files in a Python where ``import
studio`` fails; a class's clips downloaded as a zip, the fourth class deleted (after its
confirmation), and the live line saying what to do next without a model and with one.

An in-page probe opens its own stream of the same fake microphone (every stream of it plays the
file in step) and notes which tone is playing, so each hold happens inside one tone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from helpers import run_without_studio
from playwright.sync_api import Page, expect

from studio.model import modelfile
from studio.samples.store import Store
from studio.ui import sound
from studio.ui.colours import PALETTE

from .browser_kit import (
    bar_colours,
    download_export,
    download_zip,
    edge_colours,
    field,
    launch,
    new_project,
    rgb,
    save_json,
    until,
)

pytestmark = pytest.mark.browser
PROJECT = "Tones"
CLASSES = {"lo": "Low", "hi": "High"}  # the probe's name for a tone: the class recorded from it
TONES = {"lo": 440, "hi": 2500}  # Hz, 3 s each
NOISE = "Noise"  # the third class: uploaded files
HOLD_MS = 2300  # within a 3 s tone, started 300 ms into it

# Every 20 ms: which tone the fake microphone plays (its own AudioContext analyser) and the text
# of the live label and of the "heard" line; each change is kept with its time.
PROBE_JS = """
(() => {
  const P = window.__sound = {tone: [], label: [], heard: [], updates: 0};
  const push = (list, value) => {
    if (!list.length || list[list.length - 1][1] !== value) list.push([Date.now(), value]);
  };
  window.__startProbe = async (lo, hi) => {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true});
    const ctx = new AudioContext();
    const an = ctx.createAnalyser();
    an.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.frequencyBinCount);
    const bin = (f) => buf[Math.round(f / (ctx.sampleRate / 2) * buf.length)];
    let last = '';
    setInterval(() => {
      an.getFloatFrequencyData(buf);
      const a = bin(lo), b = bin(hi);
      if (a > b + 20) push(P.tone, 'lo'); else if (b > a + 20) push(P.tone, 'hi');
      const label = document.querySelector('#sound-live [data-testid="label-output-value"]');
      if (label) push(P.label, label.textContent.trim());
      const heard = document.querySelector('#sound-heard');
      if (heard) push(P.heard, heard.textContent.trim());
      const bars = document.querySelector('#sound-live')?.textContent || '';
      if (bars !== last) { P.updates += 1; last = bars; }
    }, 20);
  };
})();
"""


@pytest.fixture(scope="module")
def tones_wav(work) -> Path:
    if not shutil.which("sox"):
        pytest.skip("needs sox (apt-get install sox)")
    parts = []
    for name, hz in TONES.items():
        part = work / f"{name}.wav"
        subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(part), "synth", "3", "sine", str(hz),
                        "vol", "0.5"], check=True)
        parts.append(str(part))
    dest = work / "tones.wav"
    subprocess.run(["sox", *parts, str(dest)], check=True)
    return dest


@pytest.fixture(scope="module")
def noise_wavs(work) -> list[Path]:
    """A 3.5 s white-noise recording (split into clips on upload) and a 1 s pink-noise clip."""
    if not shutil.which("sox"):
        pytest.skip("needs sox (apt-get install sox)")
    out = []
    for name, seconds, colour in (("street noise.wav", 3.5, "whitenoise"), ("fan.wav", 1, "pinknoise")):
        out.append(work / name)
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(out[-1]), "synth", str(seconds),
                        colour, "vol", "0.4"], check=True)
    return out


@pytest.fixture(scope="module")
def mic_browser(pw, y4m, tones_wav, work):
    """A Chromium whose fake microphone loops ``tones_wav`` (Chromium loops it by default)."""
    ctx = launch(pw, y4m, work / "profile-sound", microphone=tones_wav, probe_js=PROBE_JS, height=1600)
    yield ctx
    ctx.close()



def wait_for_tone(page: Page, tone: str, settle_ms: int = 300) -> None:
    """Wait until the microphone has switched to ``tone`` and played it for ``settle_ms``."""
    page.wait_for_function(
        """([tone, n, ms]) => { const t = window.__sound.tone, last = t[t.length - 1];
                                return t.length > n && last[1] === tone && Date.now() - last[0] >= ms; }""",
        arg=[tone, len(page.evaluate("window.__sound.tone")), settle_ms], timeout=15_000)


def rename_card(page: Page, card: int, label: str, project) -> None:
    field(page, f"snd-name-{card}").fill(label)
    field(page, f"snd-name-{card}").press("Enter")
    expect(field(page, f"snd-name-{card}")).to_have_value(label)
    until(page, lambda: project.classes()[card].label == label, f"card {card} is named {label!r} on disk", 15)


def hold(page: Page, button: str, ms: int) -> None:
    page.locator(button).hover()
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


def test_sound_project(mic_browser, server, artifacts, tones_wav, noise_wavs, work):
    page = mic_browser.new_page()
    page.goto(server.url)
    new_project(page, server.captures, PROJECT, "Sounds")
    expect(page.locator("#sound-classes")).to_contain_text("Background noise")
    expect(page.locator("#camera")).to_be_hidden()
    project = Store(server.captures).project(PROJECT)
    page.locator("#advanced").click()  # the studio page's settings, in the words of a sound project
    expect(page.locator("#set-augment")).to_contain_text("Add a slower and a faster copy of each clip")
    expect(page.locator("#set-augment")).to_contain_text("speech features train without them")
    expect(page.locator("#set-size")).to_be_hidden()
    expect(page.locator("#set-color")).to_be_hidden()

    link = page.locator("#sketch-note a").filter(has_text="sound page")  # opens a new tab: follow it here
    page.goto(server.url.rstrip("/") + link.get_attribute("href"))
    expect(page).to_have_url(re.compile(r"/sound\?project="))
    expect(page.locator("#sound-project input")).to_have_value(PROJECT)
    expect(page.locator("#sound-heard")).to_have_text(sound.NO_MODEL)
    expect(page.locator("#export-images")).to_contain_text("Include the training clips")
    for i, label in enumerate(CLASSES.values()):
        rename_card(page, i, label, project)

    page.evaluate("([lo, hi]) => window.__startProbe(lo, hi)", [TONES["lo"], TONES["hi"]])
    page.locator("#microphone button[aria-label='Start recording'], #microphone button").filter(
        has_text=re.compile("Start|Record")).first.click()
    expect(page.locator("#microphone")).to_contain_text("Stop")

    for i, tone in enumerate(CLASSES):
        for _ in range(2):
            wait_for_tone(page, tone)
            hold(page, f"#snd-hold-{i}", HOLD_MS)
            # the stream stores the hold's last clip and redraws the cards: wait for both, so that
            # no redraw is still on its way when the next step types or uploads
            expect(page.locator("#sound-rec-status")).to_contain_text(f"Saved clips to {CLASSES[tone]}")
            n = project.counts()[CLASSES[tone]]
            expect(page.locator(f"#snd-count-{i}")).to_contain_text(re.compile(rf"\b{n} clips?"))
    assert all(n >= 3 for n in project.counts().values()), project.counts()

    page.click("#sound-add-class")
    until(page, lambda: len(project.classes()) == 3, "the project has 3 classes on disk", 15)
    expect(field(page, "snd-name-2")).to_have_value(project.classes()[2].label)
    rename_card(page, 2, NOISE, project)
    with page.expect_file_chooser() as chooser:
        page.click("#snd-upload-2")
    chooser.value.set_files(noise_wavs)
    expect(page.locator("#snd-count-2")).to_contain_text(re.compile(r"\b[3-9] clips"))  # 3.5 s split, plus 1
    uploaded = [c.name for c in project.samples(NOISE)]
    play_and_delete(page, 2, uploaded[-1])
    expect(page.locator("#snd-count-2")).to_contain_text(f"{len(uploaded) - 1} clip")
    assert [c.name for c in project.samples(NOISE)] == uploaded[:-1], "only the chosen clip is deleted"
    off = switch_off_a_new_class(page, project)
    page.screenshot(path=str(artifacts / "09-sound-recorded.png"), full_page=True)

    page.click("#sound-train")
    expect(page.locator("#sound-train-status")).to_contain_text("trained in", timeout=120_000)
    assert modelfile.info(project.model_dir)["labels"] == [*CLASSES.values(), NOISE], "the class off is left out"

    live = page.locator("#sound-live [data-testid='label-output-value']")
    for tone in ("lo", "hi", "lo"):
        wait_for_tone(page, tone, settle_ms=0)
        expect(live).to_have_text(CLASSES[tone], timeout=3_000)  # within the tone (3 s long)
        # the "heard" line said it too during this tone (on a busy machine the next tone may have
        # begun by the time a check after the label's would run)
        page.wait_for_function(
            """(text) => { const s = window.__sound, start = s.tone[s.tone.length - 1][0];
                           return s.heard.some(([t, h], i) => h.endsWith(text)
                             && (t >= start || (s.heard[i + 1]?.[0] ?? Infinity) > start)); }""",
            arg=CLASSES[tone], timeout=5_000)
    page.screenshot(path=str(artifacts / "10-sound-live.png"), full_page=True)
    # each class its own colour, as on the other pages: the card's edge and its live bar
    used = [*CLASSES.values(), NOISE]
    assert edge_colours(page, [f"snd-card-{i}" for i in range(len(used))]) == [rgb(c) for c in PALETTE[:len(used)]]
    bars = bar_colours(page, "#sound-live")
    assert len(bars) >= 2 and bars == {label: rgb(PALETTE[used.index(label)]) for label in bars}, bars

    page.locator("#sound-threshold input[type='number']").fill("1")
    page.locator("#sound-threshold input[type='number']").press("Enter")
    expect(page.locator("#sound-heard")).to_have_text("listening...")
    save_json(artifacts / "sound-probe.json", page.evaluate("window.__sound"))

    with zipfile.ZipFile(download_export(page)) as z:
        z.extractall(work / "sound-export")
    folder = next((work / "sound-export").iterdir())
    tones = {}
    for tone, hz in TONES.items():  # 1 s of each tone, as 44.1 kHz WAV files
        tones[tone] = work / f"{CLASSES[tone]}.wav"
        subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", "-b", "16", str(tones[tone]), "synth", "1", "sine",
                        str(hz), "vol", "0.5"], check=True)
    done = run_without_studio(folder / "predict.py", [*tones.values(), noise_wavs[1]], folder)
    assert done.returncode == 0, done.stderr
    said = [line.split("\t")[1] for line in done.stdout.splitlines()]
    assert said == [*CLASSES.values(), NOISE], done.stdout

    download_class(page, 0, project.counts()[CLASSES["lo"]])
    delete_class(page, 3, off, project)
    page.reload()  # the microphone stops; the project has a model: the live line says how to hear it
    expect(page.locator("#sound-heard")).to_have_text(sound.READY.replace("**", ""))
    page.close()


# The opacity of the part of card ``card`` that holds its Download button (a child of the card).
OPACITY_JS = """(card) => {
    const box = document.querySelector(`#snd-card-${card}`);
    let row = document.querySelector(`#snd-class-download-${card}`);
    while (row.parentElement !== box) row = row.parentElement;
    return Number(getComputedStyle(row).opacity); }"""


def dimmed(page: Page, card: int) -> float:
    return page.evaluate(OPACITY_JS, card)


def switch_off_a_new_class(page: Page, project) -> str:
    """Add a fourth class, empty (so its Download is disabled, and training would refuse it if it
    were used), and untick its Use box: its card is dimmed and the class is off on disk."""
    page.click("#sound-add-class")
    until(page, lambda: len(project.classes()) == 4, "the project has 4 classes on disk", 15)
    off = project.classes()[3].label
    expect(field(page, "snd-name-3")).to_have_value(off)
    expect(page.locator("#snd-class-download-3")).to_be_disabled()
    expect(page.locator("#snd-class-download-0")).to_be_enabled()
    assert dimmed(page, 3) == 1
    page.locator("#snd-enabled-3 input").uncheck()
    until(page, lambda: not project.class_info(off).enabled, f"{off!r} is disabled on disk", 15)
    page.wait_for_function(f"(card) => ({OPACITY_JS})(card) < 0.5", arg=3)  # the page's CSS dims it
    assert dimmed(page, 0) == 1 and project.class_info(CLASSES["lo"]).enabled
    return off


def download_class(page: Page, card: int, n: int) -> None:
    """Download the card's clips as a zip of its ``n`` clips."""
    names = download_zip(page, f"#snd-class-download-{card}", f"#snd-class-zip-{card} a")
    assert len(names) == n and all(name.endswith(".wav") for name in names), names


def delete_class(page: Page, card: int, label: str, project) -> None:
    """Delete class asks first: "Keep it" keeps it, "Delete for good" deletes it."""
    page.click(f"#snd-class-delete-{card}")
    expect(page.locator(f"#snd-class-confirm-{card}")).to_be_visible()
    page.click(f"#snd-class-delete-no-{card}")
    expect(page.locator(f"#snd-class-confirm-{card}")).to_be_hidden()
    assert label in project.labels()
    page.click(f"#snd-class-delete-{card}")
    page.click(f"#snd-class-delete-yes-{card}")
    expect(page.locator(f"#snd-card-{card}")).to_have_count(0)
    assert label not in project.labels()


def play_and_delete(page: Page, card: int, name: str) -> None:
    """Play the clip the card shows (its newest) to its end, then choose clip ``name`` and delete
    it. The clock is not watched while playing: on a busy machine it can skip the one second a
    short clip lasts; the player's own states (playing, then stopped at the end) are waited on."""
    player = page.locator(f"#snd-player-{card}")
    expect(player.locator(".timestamps time").last).to_have_text(re.compile(r"^0:0[1-9]$"))  # loaded, 1 s+
    for attempt in range(3):  # a click that lands while the card is redrawn is lost: click again
        expect(player.get_by_role("button", name="Play", exact=True)).to_be_visible()
        player.get_by_role("button", name="Play", exact=True).click()
        try:
            expect(player.get_by_role("button", name="Pause", exact=True)).to_be_visible()  # playing
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(player.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=20_000)  # played out
    page.locator(f"#snd-clips-{card} input").click()
    page.locator("[data-testid='dropdown-option']").filter(has_text=name).first.click()
    expect(player.locator("a[download]")).to_have_attribute("download", name)  # the chosen clip is loaded
    page.click(f"#snd-delete-{card}")
