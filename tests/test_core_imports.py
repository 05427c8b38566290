"""The core never imports gradio: the CLI, the exported scripts and these tests stay headless."""

import json
import pkgutil
import subprocess
import sys

from conftest import ROOT
from helpers import clean_env

import studio

WEB_APP = {"studio.server", "studio.ui", "studio.__main__"}  # the web app, and the module that runs the CLI


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(studio.__path__, "studio.")
                  if not any(m.name == w or m.name.startswith(w + ".") for w in WEB_APP))


def test_core_modules_are_found():
    found = core_modules()
    for name in ("studio.samples.store", "studio.features.image_kernel", "studio.model.training",
                 "studio.model.predictor", "studio.export.bundle", "studio.samples.transfer", "studio.cli",
                 "studio.features.cache", "studio.samples.images", "studio.samples.names"):
        assert name in found


def test_no_core_module_imports_gradio(tmp_path):
    code = (
        "import importlib, json, sys\n"
        "culprits = []\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'gradio' in sys.modules and not culprits:\n"
        "        culprits.append(name)\n"
        "from studio.cli import main\n"
        f"main(['--captures', {str(tmp_path / 'caps')!r}, 'projects'])\n"
        "print(json.dumps({'culprits': culprits, 'gradio': 'gradio' in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result == {"culprits": [], "gradio": False}
