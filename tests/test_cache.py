"""The per-sample feature cache: retraining decodes only what changed."""

import os

import numpy as np
import pytest
from helpers import fixture_images, make_project

from studio.errors import BadImage
from studio.features import image_kernel as features
from studio.features.cache import FeatureCache
from studio.features.image import CombinedSpec, ImageSpec
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples import images

FAST = TrainSettings(model="knn")  # the cache is the same whatever the model


@pytest.fixture
def decodes(monkeypatch):
    """Count the samples the cache decodes (the real decoder still runs)."""
    seen = []
    real = ImageSpec.decode

    def counting_decode(self, source, name=None):
        seen.append(source)
        return real(self, source, name)

    monkeypatch.setattr(ImageSpec, "decode", counting_decode)
    return seen


def test_retraining_after_adding_images_decodes_only_the_new_ones(store, decodes):
    p = make_project(store, "rps", "rps", n=8)
    first = train(p, FAST)
    assert first.metrics.cache == (0, 24)
    assert len(decodes) == 24

    new = [p.add_sample("rock", f) for f in fixture_images("rps", "rock")[8:11]]
    decodes.clear()
    second = train(p, FAST)
    assert second.metrics.cache == (24, 3)
    assert sorted(decodes) == sorted(s.path for s in new)

    decodes.clear()
    third = train(p, FAST.updated(seed=3))
    assert third.metrics.cache == (27, 0) and decodes == []


def test_each_spec_has_its_own_cache(store, decodes):
    p = make_project(store, "rps", "rps", n=4)
    train(p, FAST)
    assert train(p, FAST.updated(features="pixels")).metrics.cache == (0, 12)
    assert train(p, FAST).metrics.cache == (12, 0)
    assert len(list(p.cache_dir.glob("features-*.npz"))) == 2
    # mirrored copies are cached beside the plain ones
    assert train(p, FAST.updated(augment=False)).metrics.cache == (12, 0)


def test_cached_vectors_equal_fresh_features(store):
    p = make_project(store, "rps", "rps", n=3)
    paths = [s.path for s in p.samples()]
    spec = CombinedSpec()
    c = FeatureCache(p.cache_dir, spec)
    v = c.vectors(paths, ("plain", "mirror"))
    c.save()
    again = FeatureCache(p.cache_dir, spec).vectors(paths, ("plain", "mirror"))
    for i, path in enumerate(paths):
        rgb = np.asarray(images.load(path))
        assert np.array_equal(v["plain"][i], features.extract(rgb, spec.json))
        assert np.array_equal(v["mirror"][i], features.extract(rgb, spec.json, mirror=True))
    assert np.array_equal(v["plain"], again["plain"]) and np.array_equal(v["mirror"], again["mirror"])


def test_a_replaced_file_is_read_again(store, decodes):
    p = make_project(store, "rps", "rps", n=3)
    train(p, FAST)
    victim = p.samples("paper")[0].path
    victim.write_bytes(fixture_images("rps", "rock", 1)[0].read_bytes())
    os.utime(victim, ns=(1, 1))
    decodes.clear()
    assert train(p, FAST).metrics.cache == (8, 1)
    assert decodes == [victim]


def test_deleted_samples_leave_the_cache(store):
    p = make_project(store, "rps", "rps", n=3)
    train(p, FAST)
    gone = p.samples("rock")[0]
    p.delete_sample("rock", gone.name)
    train(p, FAST)
    with np.load(next(p.cache_dir.glob("features-*.npz"))) as z:
        keys = z["keys"].tolist()
    assert keys and not any(gone.name in k for k in keys)
    assert len(keys) == 8 * 2  # plain and mirrored


def test_a_damaged_cache_is_rebuilt(store):
    p = make_project(store, "rps", "rps", n=3)
    train(p, FAST)
    for f in p.cache_dir.glob("features-*.npz"):
        f.write_bytes(b"garbage")
    record = train(p, FAST)
    assert record.metrics.cache == (0, 9)
    assert train(p, FAST).metrics.cache == (9, 0)


def test_unreadable_files_are_named_and_not_cached(store):
    p = make_project(store, "rps", "rps", n=2)
    bad = p.path / p.class_info("rock").folder / "0000000000000000-broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    c = FeatureCache(p.cache_dir, CombinedSpec())
    with pytest.raises(BadImage, match="rock/0000000000000000-broken.png"):
        c.vectors([s.path for s in p.samples()])
    assert c.misses == 7
