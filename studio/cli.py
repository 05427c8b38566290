"""The command line: every web-app action has a command here. User mistakes print one
line on stderr and exit 1; there are no tracebacks for them."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings
from pathlib import Path

from studio import __version__
from studio.errors import BadSample, DiskFull, StudioError, disk_full
from studio.features import registry
from studio.kinds import KINDS, Kind
from studio.model.settings import HEADS, MODELS, PREPROCESSING, TrainSettings, head_of
from studio.progress import TextProgress

COMMANDS = {}


def command(name: str, help: str):
    def wrap(fn):
        COMMANDS[name] = (fn, help)
        return fn
    return wrap


def _store(args):
    from studio.samples.store import Store
    return Store(args.captures)


def _emit(args, data, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if getattr(args, "json", False) else text)


# ---- projects and classes ---------------------------------------------------------------
@command("projects", "list projects")
def cmd_projects(args):
    projects = _store(args).projects()
    rows = [{"name": p.name, "kind": p.kind.name, "classes": len(p.classes()),
             "images": sum(p.counts().values())} for p in projects]  # "images": samples of any kind
    lines = [f"{r['name']}\t{r['kind']}\t{r['classes']} classes\t{p.kind.count(r['images'])}"
             for r, p in zip(rows, projects)]
    _emit(args, rows, "\n".join(lines) or "(no projects yet: create one with 'studio new NAME')")


@command("new", "create a project")
def cmd_new(args):
    p = _store(args).create(args.name, args.kind, tuple(args.classes) if args.classes else None)
    print(f"Created {p.kind} project {p.name!r} in {p.path}")


@command("rename", "rename a project")
def cmd_rename(args):
    _store(args).rename(args.project, args.new_name)
    print(f"Renamed {args.project!r} to {args.new_name!r}")


@command("delete", "delete a project and all its samples")
def cmd_delete(args):
    _confirm(args, f"project {args.project!r} and all its samples")
    _store(args).delete(args.project)
    print(f"Deleted project {args.project!r}")


@command("classes", "list a project's classes with their sample (image or clip) counts")
def cmd_classes(args):
    classes = _store(args).project(args.project).classes()
    rows = [{"label": c.label, "images": c.count, "enabled": c.enabled, "folder": c.folder} for c in classes]
    _emit(args, rows, "\n".join(f"{c.label}\t{c.count}" + ("" if c.enabled else "\tdisabled") for c in classes))


@command("add-class", "add a class")
def cmd_add_class(args):
    c = _store(args).project(args.project).add_class(args.label)
    print(f"Added class {c.label!r}")


@command("rename-class", "rename a class")
def cmd_rename_class(args):
    _store(args).project(args.project).rename_class(args.label, args.new_label)
    print(f"Renamed class {args.label!r} to {args.new_label!r}")


@command("delete-class", "delete a class and its samples")
def cmd_delete_class(args):
    _confirm(args, f"class {args.label!r} and its samples")
    _store(args).project(args.project).delete_class(args.label)
    print(f"Deleted class {args.label!r}")


@command("enable", "enable a class for training")
def cmd_enable(args):
    _store(args).project(args.project).set_enabled(args.label, True)
    print(f"Enabled class {args.label!r}")


@command("disable", "leave a class out of training")
def cmd_disable(args):
    _store(args).project(args.project).set_enabled(args.label, False)
    print(f"Disabled class {args.label!r}")


@command("reorder", "set the class order")
def cmd_reorder(args):
    _store(args).project(args.project).reorder(args.labels)
    print("Class order: " + ", ".join(args.labels))


# ---- samples ----------------------------------------------------------------------------
@command("add", "add files (images, sounds, or zips of them) to a class")
def cmd_add(args):
    from studio.samples.transfer import add_files
    project = _store(args).project(args.project)
    if args.split or args.keep_silence:
        return _add_recordings(project, args)
    report = add_files(project, args.label, [Path(f) for f in args.files])
    if not report.added:  # one line, the error: no summary of nothing before it
        said = f"skipped {report.skipped_text()}" if report.skipped else \
            f"no {project.kind.nouns} in {', '.join(args.files)}"
        if len(report.skipped) == 1:
            name, why = report.skipped[0]
            said = f"{Path(name).name or name} is {why}"
        raise StudioError(f"No {project.kind.noun} was added to {project.class_info(args.label).label!r}: "
                          f"{said}. Give {project.kind.noun} files, or zips of them.")
    print(report.summary())


def _add_recordings(project, args) -> None:
    """Each file cut into clips: around its sounds, or (--keep-silence, and for a background-noise
    class) all of it."""
    label = project.class_info(args.label).label
    added, skipped = 0, []
    for f in args.files:
        try:
            added += len(project.add_recording(label, Path(f), Path(f).name, args.seconds,
                                               False if args.keep_silence else None))
        except BadSample as e:
            skipped.append(str(e))
    noun = project.kind.noun
    if not added:  # one line, the error, naming each file's problem
        raise StudioError(f"No {noun} was added to {label!r}: " + " ".join(skipped))
    print(f"Added {added} {noun}(s) to {label!r}." + (f" Skipped {len(skipped)} file(s): " + "; ".join(skipped)
                                                      if skipped else ""))


@command("samples", "list the samples (images or clips) of a project or class")
def cmd_samples(args):
    samples = _store(args).project(args.project).samples(args.label)
    _emit(args, [{"label": s.label, "name": s.name, "path": str(s.path)} for s in samples],
          "\n".join(f"{s.label}\t{s.name}" for s in samples))


@command("remove", "delete one sample (image or clip) from a class")
def cmd_remove(args):
    _store(args).project(args.project).delete_sample(args.label, args.sample)
    print(f"Deleted {args.sample} from {args.label!r}")


@command("import", "import a class-folder tree, a zip of one, a Teachable Machine .tm file, or a studio export "
         "made with --with-images")
def cmd_import(args):
    from studio.samples.transfer import import_into
    print(import_into(_store(args), args.project, args.source, args.kind).summary())


@command("save", "save a project as a Teachable Machine .tm file or a zip of class folders")
def cmd_save(args):
    from studio.samples.transfer import save_tm, save_zip
    project = _store(args).project(args.project)
    dest = Path(args.file)
    if dest.exists() and not args.force:
        raise StudioError(f"{dest} exists; pass --force to replace it.")
    path = save_tm(project, dest) if dest.suffix.lower() == ".tm" else save_zip(project, dest)
    print(f"Saved {path}")


# ---- training, prediction, export ---------------------------------------------------------
@command("train", "train a project's model")
def cmd_train(args):
    from studio.model.training import train
    project = _store(args).project(args.project)
    settings = TrainSettings.from_dict(project.settings()).updated(
        model=args.model, features=args.features, size=args.size, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, hidden=args.hidden, C=args.C,
        k=args.k, seed=args.seed, test_fraction=args.test_fraction, preprocessing=args.preprocessing,
        threshold=args.threshold, color=_switch(args.grey, args.colour, "--grey", "--colour"),
        augment=_switch(args.no_augment, args.augment, "--no-augment", "--augment"))
    settings.spec_for(project.kind)  # refuse impossible feature settings before remembering them
    project.set_settings(settings.to_dict())
    progress = None if args.quiet else TextProgress()
    try:
        record = train(project, settings, progress)
    finally:
        if progress:
            progress.close()
    m = record.metrics
    if m.skipped:
        print(f"studio: warning: {m.left_out(project.kind.noun, project.kind.nouns)}", file=sys.stderr)
    test = m.test.to_json()
    summary = {"model": settings.head, "preprocessing": settings.preprocessing, "features": record.spec.to_json(),
               "accuracy": test["accuracy"],
               "n_train": m.n_train, "n_test": m.n_test, "per_class": test["per_class"],
               "confusion": test["confusion"], "seconds": m.seconds}
    _emit(args, summary, _train_text(record, project.kind))


@command("compare", "train every model (or a chosen few) on the same features and held-back split and "
         "compare them in one table")
def cmd_compare(args):
    from studio.model.compare import compare, models_named, use
    project = _store(args).project(args.project)
    models = models_named(args.models.split(",")) if args.models else None
    if args.use:
        keep = models_named([args.use])[0]
        if models is not None and keep not in models:
            models.append(keep)
    preps = args.preprocessing.split(",") if args.preprocessing else None
    result = _cancellable(args, "Comparing", lambda progress: compare(project, models, preps, progress=progress))
    kept = None
    if args.use:
        row = result.row(keep)
        if row is None:
            raise StudioError(f"{keep} could not be trained on this project, so it was not kept: "
                              f"{next((r.error for r in result.rows if r.model == keep), '')}")
        record = _cancellable(args, "Training", lambda progress: use(project, keep, row.preprocessing,
                                                                      progress=progress))
        result = dataclasses.replace(result, model=keep, preprocessing=row.preprocessing, rows=[
            dataclasses.replace(r, current=(r.model, r.preprocessing) == (keep, row.preprocessing))
            for r in result.rows])
        kept = {"model": keep, "preprocessing": row.preprocessing, "accuracy": record.metrics.test.accuracy,
                "model_id": record.id}
    data, text = result.to_json(), _compare_text(result, project.kind)
    if kept:
        data["kept"] = kept
        acc = kept["accuracy"]
        text += (f"\n\nKept {keep} ({kept['preprocessing']}) as the project's model"
                 + (f": test accuracy {acc:.3f}." if acc is not None else "."))
    _emit(args, data, text)


@command("learning-curve", "held-back accuracy of the current model against training samples (images or clips) "
         "per class, and which class would gain most from more")
def cmd_learning_curve(args):
    from studio.model.compare import learning_curve
    project = _store(args).project(args.project)
    curve = _cancellable(args, "The learning curve", lambda progress: learning_curve(project, progress=progress))
    kind = project.kind
    rows = [["per class", f"training {kind.nouns}", "accuracy", "macro F1"]]
    for p in curve.points:
        rows.append(["all" if p.per_class is None else str(p.per_class), str(p.n_train), _fig(p.accuracy),
                     _fig(p.macro_f1) + (f"  ({p.error})" if p.error else "")])
    recall = ", ".join(f"{lb} {_fig(r)}" for lb, r in curve.recall.items())
    text = "\n".join([f"Learning curve of {curve.model} ({curve.preprocessing}), scored on {curve.held_back}:",
                      _table(rows), "", f"Recall on held-back {kind.nouns}: {recall}", curve.advice])
    _emit(args, curve.to_json(), text)


def _cancellable(args, what: str, work):
    """``work(progress)`` with a progress bar (none with --quiet); Ctrl-C stops it with one line."""
    progress = None if args.quiet else TextProgress()
    try:
        return work(progress)
    except KeyboardInterrupt:
        if progress:
            progress.close()
            progress = None
        print(f"studio: {what} cancelled; the models fitted so far are remembered, so running it again goes "
              "on from there.", file=sys.stderr)
        sys.exit(130)
    finally:
        if progress:
            progress.close()


def _fig(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _table(rows: list[list[str]], indent: str = "  ") -> str:
    """Rows of cells as aligned columns (the first row: the headings)."""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    return "\n".join((indent + "  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip() for r in rows)


def _compare_text(result, kind) -> str:
    rows = [["", "model", "preprocessing", "accuracy", "macro F1", "fit s", "ms/prediction", "size KB"]]
    for r in result.rows:
        if r.error:
            rows.append(["*" if r.current else "", r.model, r.preprocessing, "failed: " + r.error])
            continue
        rows.append(["*" if r.current else "", r.model, r.preprocessing, _fig(r.accuracy), _fig(r.macro_f1),
                     f"{r.fit_seconds:.2f}", f"{r.predict_ms:.2f}", f"{r.size_bytes / 1024:.0f}"])
    lines = [f"Trained on {kind.count(result.n_train)}, scored on {result.held_back}.",
             f"* the project's model ({result.model}, {result.preprocessing}); {result.fitted} fitted now, "
             f"{len(result.rows) - result.fitted} remembered from the last comparison.", _table(rows, "")]
    return "\n".join(lines)


def _switch(off: bool, on: bool, off_flag: str, on_flag: str) -> bool | None:
    """A remembered on/off training setting: changed by either flag, kept when neither is given."""
    if off and on:
        raise StudioError(f"Give {off_flag} or {on_flag}, not both.")
    return False if off else (True if on else None)


def _train_text(record, kind) -> str:
    from studio.model.evaluation import format_confusion
    m = record.metrics
    test = m.test
    acc = f"n/a (no held-back {kind.nouns})" if test.accuracy is None else f"{test.accuracy:.3f}"
    lines = [f"Trained {head_of(record.settings.get('model'), record.spec.kind)} on {kind.count(m.n_train)} "
             f"({m.seconds:.1f} s); test accuracy {acc} on {m.held_back(kind.noun, kind.nouns)}"]
    for lb, pc in test.per_class.items():
        lines.append(f"  {lb}\t{pc.correct}/{pc.n}")
    if test.n:
        lines += ["", format_confusion(record.labels, test.confusion)]
    return "\n".join(lines)


def _is_export(path: Path) -> bool:
    """Whether PROJECT names an export (folder or zip) rather than a project."""
    return (path.is_dir() and (path / "metadata.json").exists()) or path.suffix.lower() == ".zip"


def _predictor(args):
    """A project's predictor, or an export's when PROJECT is a path to one."""
    from studio.export.reopen import open_export
    from studio.model.predictor import Predictor
    path = Path(args.project)
    if _is_export(path):
        return open_export(path, trust=args.trust)
    return Predictor.from_project(_store(args).project(args.project), trust=args.trust)


@command("predict", "predict the class of images (or clips) with a project's (or an export's) model")
def cmd_predict(args):
    from studio import kinds
    from studio.model.predictor import format_line
    predictor = _predictor(args)
    kind = kinds.for_spec(predictor.spec)
    rows, failed = [], 0
    for f in args.images:
        try:
            conf = predictor.predict(_input_file(Path(f), kind))
        except BadSample as e:  # this file's, said as any mistake is; the other files are still predicted
            print(f"studio: error: {e}", file=sys.stderr)
            failed += 1
            continue
        label, _ = predictor.top_of(conf)
        rows.append({"path": f, "label": label, "confidence": conf[label], "confidences": conf})
        if not args.json:
            print(format_line(f, label, conf[label]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    if failed:
        sys.exit(1)


def _input_file(path: Path, kind: Kind) -> Path:
    """``path`` if it may be a file to predict; BadSample saying what to give instead."""
    if path.is_dir():
        raise BadSample(f"{path} is a folder; give {kind.noun} files (to score a folder of class folders, "
                        "use 'studio evaluate').")
    if not path.exists():
        raise BadSample(f"{path} does not exist; check the path.")
    return path


@command("evaluate", "score a project's model on a labelled folder (one sub-folder per class)")
def cmd_evaluate(args):
    import numpy as np

    from studio import kinds
    from studio.model.evaluation import format_confusion, metrics
    predictor = _predictor(args)
    kind = kinds.for_spec(predictor.spec)
    folder = Path(args.folder)
    if not folder.is_dir():
        raise StudioError(f"{folder} is not a folder; give one sub-folder per class.")
    known = {lb.casefold(): lb for lb in predictor.labels}
    truth, paths, ignored = [], [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name.casefold() not in known:
            ignored.append(sub.name)
            continue
        for f in sorted(sub.iterdir()):
            if f.is_file() and kind.is_input(f.name):
                truth.append(known[sub.name.casefold()])
                paths.append(f)
    if not paths:
        raise StudioError(f"No {kind.nouns} in {folder} under folders named like the classes {predictor.labels}.")
    if not _is_export(Path(args.project)):
        seen = _store(args).project(args.project).already_stored(paths)
        if seen:
            print(f"studio: warning: {kind.count(len(seen))} of the {len(paths)} in {folder} "
                  f"{'is' if len(seen) == 1 else 'are'} in the project already (e.g. {seen[0].name}): the model "
                  f"may have trained on {'it' if len(seen) == 1 else 'them'}, so this accuracy flatters it.",
                  file=sys.stderr)
    proba = np.vstack([predictor.probabilities(paths[i:i + 64]) for i in range(0, len(paths), 64)])
    pred = np.asarray(predictor.labels, dtype=object)[predictor.best(proba)]
    m = metrics(np.asarray(truth, dtype=object), pred, predictor.labels)
    text = [f"Accuracy {m.accuracy:.3f} on {kind.count(m.n)}"]
    text += [f"  {lb}\t{pc.accuracy:.3f}\t({pc.correct}/{pc.n})" for lb, pc in m.per_class.items() if pc.n]
    text += ["", format_confusion(predictor.labels, m.confusion), "", m.report]
    if ignored:
        text.append("Ignored folders that are not classes: " + ", ".join(ignored))
    data = {k: v for k, v in m.to_json().items() if k != "predicted"}
    _emit(args, {**data, "ignored_folders": ignored}, "\n".join(text))


@command("export", "export a project's model to a folder and zip")
def cmd_export(args):
    from studio.export.bundle import default_out, export
    from studio.model import modelfile
    from studio.samples import atomic
    project = _store(args).project(args.project)
    record = modelfile.load(project.model_dir, trust=args.trust)
    imgs = None
    if args.with_images:
        imgs = [(c.label, c.folder, [s.path for s in project.samples(c.label)]) for c in project.classes()]
    # without --format: the formats of the model's project kind, as the page ticks them
    formats = [f.strip() for f in args.format.split(",") if f.strip()] if args.format else None
    out = Path(args.out) if args.out else default_out()
    with atomic.on_disk(out):
        result = export(record, out, formats, imgs)
    print(f"Exported to {result.folder}\nZip: {result.zip_path}")


@command("serve", "run the web app (the default command)")
def cmd_serve(args):
    from studio.server import serve
    serve(args)


# ---- parser -----------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit status 1, like every other."""

    def error(self, message: str):
        self.exit(1, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="studio", description="Teachable-Machine-style classifier builder.")
    p.add_argument("--version", action="version", version=f"studio {__version__}")
    p.add_argument("--captures", default=os.environ.get("STUDIO_CAPTURES") or "captures",
                   help="project store folder (default: $STUDIO_CAPTURES or ./captures)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, *args_spec):
        fn, help_text = COMMANDS[name]
        sp = sub.add_parser(name, help=help_text, description=help_text)
        for names, kw in args_spec:
            sp.add_argument(*names, **kw)
        sp.set_defaults(func=fn)
        return sp

    proj = (["project"], {"help": "project name"})
    label = (["label"], {"help": "class label"})
    as_json = (["--json"], {"action": "store_true", "help": "machine-readable output"})
    yes = (["--yes", "-y"], {"action": "store_true", "help": "do not ask for confirmation"})
    quiet = (["--quiet", "-q"], {"action": "store_true", "help": "no progress on stderr (a bar on a terminal, a "
                                                               "few lines otherwise)"})
    trust = (["--trust"], {"action": "store_true", "help": "load a model studio would refuse because loading runs "
                                                         "code stored in it: an export's model.joblib, or a project "
                                                         "model this installation did not train"})
    add("serve", (["--host"], {"default": "127.0.0.1", "help": "address to listen on (default 127.0.0.1: this "
                                                           "machine only)"}),
        (["--port"], {"type": int, "default": 7860, "help": "port to listen on (default 7860)"}),
        (["--auth"], {"default": os.environ.get("STUDIO_AUTH"), "help": "user:password, or a file of them "
                                                                         "(default: $STUDIO_AUTH; none)"}),
        (["--allow-host"], {"action": "append", "metavar": "NAME",
                            "help": "also answer requests for this host name, e.g. a reverse proxy's "
                                    "(repeatable; .example.org allows every name under it; names in "
                                    "$STUDIO_ALLOW_HOSTS, comma-separated, are allowed too). Other names are "
                                    "refused, so that web pages cannot reach studio by DNS rebinding"}),
        (["--exports"], {"default": None, "help": "export folder (default: $STUDIO_EXPORTS or ./exported)"}))
    add("projects", as_json)
    add("new", (["name"], {"help": "the new project's name"}),
        (["--kind"], {"choices": list(KINDS), "default": next(iter(KINDS)),
                      "help": "what the project classifies (default: photo)"}),
        (["--classes"], {"nargs": "+", "help": "class labels (default: 'Class 1' 'Class 2'; sound: "
                                               "'Background noise' 'Class 2')"}))
    add("rename", proj, (["new_name"], {"help": "the project's new name"}))
    add("delete", proj, yes)
    add("classes", proj, as_json)
    add("add-class", proj, label)
    add("rename-class", proj, label, (["new_label"], {"help": "the class's new label"}))
    add("delete-class", proj, label, yes)
    add("enable", proj, label)
    add("disable", proj, label)
    add("reorder", proj, (["labels"], {"nargs": "+", "help": "every class label, in the new order"}))
    add("add", proj, label, (["files"], {"nargs": "+", "help": "image or sound files, or zips of them (a sound "
                                                              "file longer than 1.5 s is cut into clips)"}),
        (["--split"], {"action": "store_true", "help": "sound projects: cut each recording into clips, one "
                                                     "around each sound (a background-noise class keeps all)"}),
        (["--keep-silence"], {"action": "store_true", "help": "sound projects: cut each recording into "
                                                            "consecutive clips, silence included (background noise)"}),
        (["--seconds"], {"type": float, "default": 1.0, "help": "clip length for --split (default 1)"}))
    add("samples", proj, (["label"], {"nargs": "?", "help": "class label (default: every class)"}), as_json)
    add("remove", proj, label, (["sample"], {"help": "sample file name (see 'studio samples')"}))
    add("import", proj, (["source"], {"help": "a folder with one sub-folder per class, a .zip of one, a .tm "
                                             "file, or a studio export made with --with-images"}),
        (["--kind"], {"choices": list(KINDS),
                      "help": "the kind of a project the import creates (default: what the files are: "
                              "sound files make a sound project, images a photo project, landmark JSON a "
                              "pose project)"}))
    add("save", proj, (["file"], {"help": "FILE.tm or FILE.zip"}),
        (["--force"], {"action": "store_true", "help": "replace FILE if it exists"}))
    add("train", proj, (["--model"], {"choices": list(MODELS),
                                      "help": "the estimator (default auto: what suits the features; remembered)"}),
        (["--features"], {"choices": list(registry.SPECS),
                          "help": "the feature kind (default: the project kind's own; remembered)"}),
        (["--size"], {"type": int, "help": "image side in pixels the features are computed at (0: the feature "
                                           "kind's default, 64, or 16 for pixels)"}),
        (["--grey"], {"action": "store_true", "help": "grey features"}),
        (["--colour", "--color"], {"action": "store_true", "help": "colour features (the default; undoes --grey)"}),
        (["--no-augment"], {"action": "store_true", "help": "no mirrored copies of the training images (no "
                                                          "slower and faster copies of clips)"}),
        (["--augment"], {"action": "store_true", "help": "augmented copies (the default; undoes --no-augment)"}),
        (["--epochs"], {"type": int, "help": "MLP: passes over the training data (default 50)"}),
        (["--batch-size"], {"type": int, "help": "MLP: samples per gradient step (default 16)"}),
        (["--learning-rate"], {"type": float, "help": "MLP: Adam's step size (default 0.001)"}),
        (["--hidden"], {"type": int, "help": "MLP: hidden units (default 100)"}),
        (["--C"], {"type": float, "help": "SVMs and logistic regression: inverse regularisation (default 0: "
                                          "the features' own, 100 for pretrained features, else 10)"}),
        (["--k"], {"type": int, "help": "k-nearest neighbours: neighbours that vote (default 5)"}),
        (["--seed"], {"type": int, "help": "random seed of the held-back split and the model (default 0)"}),
        (["--test-fraction"], {"type": float, "help": "share of each class held back for testing, 0 to 0.5 "
                                                      "(default 0.15)"}),
        (["--preprocessing"], {"choices": list(PREPROCESSING), "help": "what is done to the features before the "
                               "model (default standardise; remembered): " + "; ".join(
                                   f"{k}: {v}" for k, v in PREPROCESSING.items())}),
        (["--threshold"], {"type": float, "help": "--preprocessing binarize: the value above which a feature "
                                                  "becomes 1 (default 0)"}),
        quiet, as_json)
    add("compare", proj, (["--models"], {"metavar": "A,B", "help": "comma-separated models to compare (default: "
                                                                  f"all seven: {', '.join(HEADS)})"}),
        (["--preprocessing"], {"metavar": "P,Q", "help": "comma-separated preprocessing to compare, or 'all' "
                               f"({', '.join(PREPROCESSING)}; default: the project's own)"}),
        (["--use"], {"metavar": "NAME", "help": "then keep model NAME (with the preprocessing of its best row) as "
                                                "the project's model: remembered and trained as 'studio train' "
                                                "does"}), quiet, as_json)
    add("learning-curve", proj, quiet, as_json)
    add("predict", (["project"], {"help": "project name, or an export folder or zip"}),
        (["images"], {"nargs": "+", "help": "image files (sound files for a sound model)"}), as_json, trust)
    add("evaluate", (["project"], {"help": "project name, or an export folder or zip"}),
        (["folder"], {"help": "a folder with one sub-folder per class, named like the classes"}), as_json, trust)
    add("export", proj, (["--out"], {"help": "export folder (default: $STUDIO_EXPORTS or ./exported)"}),
        (["--format"], {"help": "comma-separated: joblib, skops, onnx, and web for pose models (default: all "
                                "that the model's kind takes, as the page ticks them)"}),
        (["--with-images"], {"action": "store_true", "help": "include the training samples (so the project "
                                                           "can be rebuilt with 'studio import')"}), trust)
    return p


def _confirm(args, what: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise StudioError(f"Deleting {what} needs confirmation: pass --yes.")
    if input(f"Delete {what}? [y/N] ").strip().lower() not in ("y", "yes"):
        raise StudioError("Cancelled; nothing was deleted.")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not sys.warnoptions:  # libraries' deprecation notices are not for the user (skl2onnx reads SVC's)
        warnings.filterwarnings("ignore", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*argv, "serve"])
    try:
        try:
            args.func(args)
        finally:
            sys.stdout.flush()  # a reader that has gone shows up here rather than at exit
    except StudioError as e:
        print(f"studio: error: {e}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:  # e.g. 'studio predict ... | head': the reader has gone, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as e:  # a folder that cannot be written, a disk that is full: the user's to fix
        text = DiskFull(e.filename or args.captures) if disk_full(e) else \
            f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
        print(f"studio: error: {text}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
