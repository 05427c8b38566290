"""The sound walk: a sound project created in the project bar; on the sound page, clips recorded
from Chromium's fake microphone (a looping WAV: 3 s of a low tone, 3 s of a high one) into two
classes by holding their buttons, an uploaded clip played and deleted, training, then the live
label following the tones and the threshold turning it into "listening...".

An in-page probe opens its own stream of the same fake microphone (every stream of it plays the
file in step) and notes which tone is playing, so each hold happens inside one tone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from studio.store import Store

from .browser_kit import CHROMIUM, chromium_args, field, new_project, save_json

pytestmark = pytest.mark.browser
PROJECT = "Tones"
CLASSES = {"lo": "Low", "hi": "High"}  # the probe's name for a tone: the class recorded from it
TONES = {"lo": 440, "hi": 2500}  # Hz, 3 s each
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
def mic_browser(pw, y4m, tones_wav, work):
    """A Chromium whose fake microphone loops ``tones_wav`` (Chromium loops it by default)."""
    ctx = pw.chromium.launch_persistent_context(
        str(work / "profile-sound"), executable_path=CHROMIUM, headless=True,
        args=[*chromium_args(y4m), f"--use-file-for-fake-audio-capture={tones_wav}"],
        viewport={"width": 1400, "height": 1600})
    ctx.add_init_script(PROBE_JS)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()



def wait_for_tone(page: Page, tone: str, settle_ms: int = 300) -> None:
    """Wait until the microphone has just switched to ``tone``, plus ``settle_ms``."""
    page.wait_for_function(
        """([tone, n]) => { const t = window.__sound.tone;
                            return t.length > n && t[t.length - 1][1] === tone; }""",
        arg=[tone, len(page.evaluate("window.__sound.tone"))], timeout=15_000)
    page.wait_for_timeout(settle_ms)


def until(page: Page, condition, timeout_s: float = 15) -> None:
    """Poll a server-side ``condition`` (e.g. on the store) until it holds."""
    for _ in range(int(timeout_s * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    assert condition()


def hold(page: Page, button: str, ms: int) -> None:
    page.locator(button).hover()
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


def test_sound_project(mic_browser, server, artifacts):
    page = mic_browser.new_page()
    page.goto(server.url)
    new_project(page, server.captures, PROJECT, "Sounds")
    expect(page.locator("#sound-classes")).to_contain_text("Background noise")
    expect(page.locator("#camera")).to_be_hidden()
    project = Store(server.captures).project(PROJECT)

    link = page.locator("#sketch-note a").filter(has_text="sound page")  # opens a new tab: follow it here
    page.goto(server.url.rstrip("/") + link.get_attribute("href"))
    expect(page).to_have_url(re.compile(r"/sound\?project="))
    expect(page.locator("#sound-project input")).to_have_value(PROJECT)
    for i, label in enumerate(CLASSES.values()):
        field(page, f"snd-name-{i}").fill(label)
        field(page, f"snd-name-{i}").press("Enter")
        expect(field(page, f"snd-name-{i}")).to_have_value(label)
    until(page, lambda: [k.label for k in project.classes()] == list(CLASSES.values()))

    page.evaluate("([lo, hi]) => window.__startProbe(lo, hi)", [TONES["lo"], TONES["hi"]])
    page.locator("#microphone button[aria-label='Start recording'], #microphone button").filter(
        has_text=re.compile("Start|Record")).first.click()
    expect(page.locator("#microphone")).to_contain_text("Stop")

    for i, tone in enumerate(CLASSES):
        for _ in range(2):
            wait_for_tone(page, tone)
            hold(page, f"#snd-hold-{i}", HOLD_MS)
            expect(page.locator(f"#snd-count-{i}")).to_contain_text(re.compile(r"\b[1-9]\d* clips?"))
    assert all(n >= 3 for n in project.counts().values()), project.counts()
    page.screenshot(path=str(artifacts / "09-sound-recorded.png"), full_page=True)

    page.click("#sound-train")
    expect(page.locator("#sound-train-status")).to_contain_text("trained in", timeout=120_000)

    live = page.locator("#sound-live [data-testid='label-output-value']")
    for tone in ("lo", "hi", "lo"):
        wait_for_tone(page, tone, settle_ms=0)
        expect(live).to_have_text(CLASSES[tone], timeout=3_000)  # within the tone (3 s long)
        expect(page.locator("#sound-heard")).to_have_text(CLASSES[tone])
    page.screenshot(path=str(artifacts / "10-sound-live.png"), full_page=True)

    page.locator("#sound-threshold input[type='number']").fill("1")
    page.locator("#sound-threshold input[type='number']").press("Enter")
    expect(page.locator("#sound-heard")).to_have_text("listening...")
    save_json(artifacts / "sound-probe.json", page.evaluate("window.__sound"))
    page.close()
