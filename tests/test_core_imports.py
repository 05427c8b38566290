"""The core never imports gradio: the CLI, the exported scripts and these tests stay headless."""

import ast
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


def import_graph() -> dict[str, set[str]]:
    """{module: the studio modules it imports}, function-level imports included."""
    files = {".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): f
             for f in (ROOT / "studio").rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, f in files.items():
        package = module if f.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: up from the module's package
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                for alias in node.names:
                    found = next((c for c in (f"{base}.{alias.name}", base) if c in files and c != module), None)
                    if found:
                        graph[module].add(found)
            elif isinstance(node, ast.Import):
                graph[module].update(a.name for a in node.names if a.name in files and a.name != module)
    return graph


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "studio.samples.store" in graph["studio.samples.transfer"]  # the graph sees imports
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module):], module]))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
