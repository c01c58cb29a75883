"""Tests for checkpoints: release layout and secure loading (common/io/checkpoint.py), strict loading
with a report (common/model/release.py), the run's model configuration (common/model/loading.py),
atomic save and RNG state (common/io/rng.py)."""

import copy
import io
import os
import pickle
import random
import re
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from common.errors import UserError
from common.io.checkpoint import load_checkpoint, save_checkpoint
from common.io.rng import capture_rng_state, restore_rng_state
from common.model.config import ModelConfig
from common.model.loading import model_for_run, resolve_model_config
from common.model.poseformer import PoseTransformer
from common.model.release import load_model_weights, settings_from_weights, strip_module_prefix


def small_model(frames=9, seed=0):
    torch.manual_seed(seed)
    model = PoseTransformer(num_frame=frames, num_joints=17, embed_dim_ratio=8, depth=2,
                            num_heads=2, drop_path_rate=0.0)
    with torch.no_grad():  # non-zero position embeddings so that a wrong load would show
        model.Spatial_pos_embed.normal_()
        model.Temporal_pos_embed.normal_()
    return model


def release_layout(model):
    """A checkpoint dict exactly as the official training script writes it."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    model(torch.randn(2, model.num_frame, 17, 2)).sum().backward()
    optimizer.step()
    return {
        "epoch": 130,
        "lr": 1e-3 * 0.99 ** 130,
        "random_state": np.random.RandomState(1234),
        "optimizer": optimizer.state_dict(),
        "model_pos": {"module." + k: v for k, v in model.state_dict().items()},
    }


def test_release_layout_loads_strictly_and_reproduces_outputs(tmp_path):
    model = small_model(9).eval()
    path = tmp_path / "release.bin"
    torch.save(release_layout(model), path)

    ckpt = load_checkpoint(path)
    assert ckpt["epoch"] == 130
    assert isinstance(ckpt["random_state"], np.random.RandomState)
    assert ckpt["random_state"].randint(0, 10**6, 5).tolist() == \
        np.random.RandomState(1234).randint(0, 10**6, 5).tolist()
    cfg = settings_from_weights(ckpt["model_pos"])
    assert cfg == {"num_frame": 9, "num_joints": 17, "in_chans": 2, "embed_dim_ratio": 8, "depth": 2,
                   "mlp_ratio": 2.0, "qkv_bias": True}     # no num_heads: the shapes do not show it

    fresh = PoseTransformer(**{**cfg, "num_heads": 2}).eval()
    load_model_weights(fresh, ckpt["model_pos"], str(path))
    x = torch.randn(3, 9, 17, 2)
    torch.testing.assert_close(fresh(x), model(x), atol=0, rtol=0)
    # the optimizer state is usable as is
    torch.optim.AdamW(fresh.parameters()).load_state_dict(ckpt["optimizer"])


# The array constructor's module as each numpy major pickles it.
_RECONSTRUCT = {1: b"cnumpy.core.multiarray\n_reconstruct\n", 2: b"cnumpy._core.multiarray\n_reconstruct\n"}


def _pickled_by_numpy(major, path, payload, name_only=True):
    """Write `payload` with torch.save as it is pickled where numpy `major` (1 or 2) is installed, whatever numpy
    runs here. numpy 1.x: the RandomState constructor gets the name 'MT19937' (1.17-1.24; from 1.25 also numpy's
    bit generator constructor: ``name_only=False``) and arrays use numpy.core.multiarray._reconstruct. numpy 2:
    the constructor gets the bit generator, pickled as (its class) and the state as (dict, seed sequence), and
    arrays use numpy._core.multiarray._reconstruct."""
    import numpy.random._pickle as np_pickle
    ctor = getattr(np_pickle, "__randomstate_ctor")
    bit_ctor = getattr(np_pickle, "__bit_generator_ctor")

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if type(obj) is np.random.RandomState:
                state = obj.get_state(legacy=False)
                if major == 1:
                    return ctor, ("MT19937",) if name_only else ("MT19937", bit_ctor), state
                return ctor, (obj._bit_generator,), state
            if type(obj) is np.random.MT19937 and major == 2:
                return bit_ctor, (np.random.MT19937,), (obj.state, None)
            return NotImplemented

    buf = io.BytesIO()
    torch.save(payload, buf, pickle_module=types.SimpleNamespace(Pickler=Pickler, __name__="pickle"))
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = data.replace(_RECONSTRUCT[3 - major], _RECONSTRUCT[major])
            dst.writestr(info.filename, data)


def _numpy1_style(path, payload):
    _pickled_by_numpy(1, path, payload)


def test_numpy1_pickled_random_state_loads(tmp_path):
    model = small_model(9)
    path = tmp_path / "old.bin"
    _numpy1_style(path, {"epoch": 1, "lr": 0.1, "random_state": np.random.RandomState(7),
                         "model_pos": {"module." + k: v for k, v in model.state_dict().items()}})
    assert b"numpy.core.multiarray" in zipfile.ZipFile(path).read("archive/data.pkl")
    ckpt = load_checkpoint(path)
    assert ckpt["random_state"].rand() == np.random.RandomState(7).rand()


def _readme_snippet(path):
    """checkpoint/README.md's "Without this repository" code, reading `path`."""
    text = (Path(__file__).resolve().parent.parent / "checkpoint" / "README.md").read_text()
    section = text[text.index("Without this repository"):]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    assert "'checkpoint/synthetic/best_epoch.bin'" in code
    return code.replace("'checkpoint/synthetic/best_epoch.bin'", repr(str(path)))


@pytest.mark.parametrize("writer", ["numpy 1.17-1.24", "numpy 1.25-1.26", "numpy 2", "here"])
def test_the_readme_snippet_and_load_checkpoint_read_files_pickled_by_either_numpy_major(tmp_path, writer):
    """Issue 26 item 6: released files were pickled under numpy 1, ours under whichever numpy is installed; the
    README's code for loading without this repository, and `load_checkpoint`, read each under either major."""
    model = small_model(9)
    sampler = np.random.RandomState(7)
    sampler.rand(3)                    # a state that is not the seed's
    path = tmp_path / "ckpt.bin"
    payload = {"epoch": 3, "lr": 0.1, "model_pos": {"module." + k: v for k, v in model.state_dict().items()},
               "random_state": sampler}
    if writer == "here":
        save_checkpoint(path, epoch=3, lr=0.1, model=model, optimizer=None, config=model.config, random_state=sampler)
    else:
        _pickled_by_numpy(2 if writer == "numpy 2" else 1, path, payload, name_only=writer == "numpy 1.17-1.24")
    written = zipfile.ZipFile(path).read(next(n for n in zipfile.ZipFile(path).namelist() if n.endswith("data.pkl")))
    if writer != "here":
        assert _RECONSTRUCT[2 if writer == "numpy 2" else 1] in written

    namespace = {}
    exec(compile(_readme_snippet(path), "checkpoint/README.md", "exec"), namespace)
    for checkpoint in (namespace["checkpoint"], load_checkpoint(path)):
        assert checkpoint["epoch"] == 3
        for key, value in model.state_dict().items():
            assert torch.equal(checkpoint["model_pos"]["module." + key], value)
        assert checkpoint["random_state"].randint(0, 10**6, 5).tolist() == \
            copy.deepcopy(sampler).randint(0, 10**6, 5).tolist()


def test_malicious_pickle_refused_without_running(tmp_path):
    marker = tmp_path / "MARKER"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.bin"
    torch.save({"epoch": 1, "model_pos": {"module.x": torch.zeros(1)}, "payload": Evil()}, path)
    with pytest.raises(UserError, match="objects other than tensors") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_random_state_constructor_cannot_call_arbitrary_functions(tmp_path):
    """numpy's __randomstate_ctor calls its second argument; ours refuses anything else."""
    import numpy.random._pickle as np_pickle
    ctor = getattr(np_pickle, "__randomstate_ctor")

    class Sneaky:
        def __reduce__(self):  # an allow-listed callable passed as "bit_generator_ctor"
            return ctor, ("MT19937", np.random.RandomState)

    path = tmp_path / "sneaky.bin"
    torch.save({"model_pos": {}, "x": Sneaky()}, path)
    with pytest.raises(UserError, match="objects other than tensors"):
        load_checkpoint(path)


def test_missing_truncated_and_wrong_content(tmp_path):
    with pytest.raises(UserError, match="README"):
        load_checkpoint(tmp_path / "nope.bin")
    good = tmp_path / "good.bin"
    torch.save({"model_pos": small_model(9).state_dict()}, good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_checkpoint(truncated)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(empty)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a checkpoint at all " * 10)
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(garbage)
    not_dict = tmp_path / "list.bin"
    torch.save([torch.zeros(1)], not_dict)
    with pytest.raises(UserError, match="not a checkpoint dict"):
        load_checkpoint(not_dict)
    no_weights = tmp_path / "noweights.bin"
    torch.save({"epoch": 3}, no_weights)
    with pytest.raises(UserError, match="model_pos"):
        load_checkpoint(no_weights)


def test_frame_mismatch_message(tmp_path):
    sd = {"module." + k: v for k, v in small_model(27).state_dict().items()}
    with pytest.raises(UserError) as err:
        load_model_weights(small_model(9), sd, "ckpt27.bin", frames_given=True)
    assert err.value.setting == "number_of_frames"
    assert err.value.describe({"number_of_frames": "--number-of-frames"}) == (
        "--number-of-frames 9: checkpoint ckpt27.bin was trained with 27 frames (Temporal_pos_embed "
        "1\u00d727\u00d7136); ask for 27 frames or leave the number of frames unset to follow the checkpoint")
    with pytest.raises(UserError, match="built for 9 frames; build it with 27 frames") as err:
        load_model_weights(small_model(9), sd, "ckpt27.bin")
    assert err.value.setting is None


def test_mismatch_report_lists_keys_by_name():
    model = small_model(9)
    sd = strip_module_prefix({"module." + k: v for k, v in model.state_dict().items()})
    del sd["head.1.bias"]
    sd["extra.weight"] = torch.zeros(2)
    sd["Spatial_pos_embed"] = torch.zeros(1, 16, 8)
    with pytest.raises(UserError) as err:
        load_model_weights(small_model(9), sd, "x.bin")
    msg = str(err.value)
    assert "missing in checkpoint (1): head.1.bias" in msg
    assert "unexpected in checkpoint (1): extra.weight" in msg
    assert "Spatial_pos_embed 1\u00d716\u00d78 vs 1\u00d717\u00d78" in msg
    assert "num_joints=16" in msg


def test_saved_file_is_plain_and_prefixed(tmp_path):
    model = small_model(9).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(1, 9, 17, 2)).sum().backward()
    optimizer.step()
    wrapped = torch.nn.DataParallel(model)   # where CUDA is present, this moves the model there
    path = tmp_path / "sub" / "epoch_1.bin"
    save_checkpoint(path, epoch=1, lr=1e-3, model=wrapped, optimizer=optimizer,
                    config=wrapped.module.config,
                    rng_state=capture_rng_state(np.random.RandomState(3)),
                    extra={"history": {"train": [0.1]}, "best_valid": float("inf")})
    raw = torch.load(path, weights_only=True)  # no allow-list needed
    assert set(raw) == {"epoch", "lr", "optimizer", "model_pos", "config", "rng_state", "extra"}
    assert all(k.startswith("module.") and not k.startswith("module.module.")
               for k in raw["model_pos"])
    assert raw["config"] == dict(model.config) and raw["config"]["num_heads"] == 2
    fresh = PoseTransformer(**raw["config"]).eval()
    load_model_weights(fresh, load_checkpoint(path)["model_pos"], str(path))
    x = torch.randn(2, 9, 17, 2)
    torch.testing.assert_close(fresh(x), model.cpu()(x), atol=0, rtol=0)
    assert [p.name for p in path.parent.iterdir()] == ["epoch_1.bin"]


def test_save_refuses_non_plain_config(tmp_path):
    model = small_model(9)
    with pytest.raises(TypeError, match="config"):
        save_checkpoint(tmp_path / "a.bin", epoch=0, lr=0.1, model=model, optimizer=None,
                        config={"layer": torch.nn.LayerNorm})
    assert list(tmp_path.iterdir()) == []


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    model = small_model(9)
    path = tmp_path / "ckpt.bin"
    save_checkpoint(path, epoch=1, lr=0.1, model=model, optimizer=None, config=model.config)
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk went away"):
        save_checkpoint(path, epoch=2, lr=0.1, model=model, optimizer=None, config=model.config)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.bin"]


class FailingFile(io.RawIOBase):
    """A file whose third write fails with `error`, called from torch.save's C++ writer."""

    def __init__(self, f, error):
        self.f, self.error, self.writes = f, error, 0

    def writable(self):
        return True

    def write(self, data):
        self.writes += 1
        if self.writes == 3:
            raise self.error
        return self.f.write(data)


@pytest.mark.parametrize("error, expected", [(KeyboardInterrupt(), KeyboardInterrupt),
                                             (OSError(28, "No space left on device"), UserError)])
def test_errors_inside_torch_save_keep_their_kind(tmp_path, monkeypatch, error, expected):
    # torch.save reports an exception raised in the file's write as a RuntimeError: Ctrl-C must stay
    # Ctrl-C (exit 130) and a full disk a one-line error, with the previous file kept and no temporary.
    model = small_model(9)
    path = tmp_path / "ckpt.bin"
    save_checkpoint(path, epoch=1, lr=0.1, model=model, optimizer=None, config=model.config)
    before = path.read_bytes()
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f: real_save(obj, FailingFile(f, error)))
    with pytest.raises(expected) as caught:
        save_checkpoint(path, epoch=2, lr=0.1, model=model, optimizer=None, config=model.config)
    if expected is UserError:
        assert "No space left on device" in caught.value.message and caught.value.setting == "checkpoint"
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.bin"]


def test_sampler_random_state_is_stored_for_the_official_resume(tmp_path):
    sampler = np.random.RandomState(1234)
    sampler.permutation(100)
    path = tmp_path / "ckpt.bin"
    model = small_model(9)
    save_checkpoint(path, epoch=3, lr=0.1, model=model, optimizer=None, config=model.config,
                    random_state=sampler)
    expected = sampler.randint(0, 10**6, 5).tolist()       # the saved copy does not move with the sampler
    loaded = load_checkpoint(path)["random_state"]
    assert isinstance(loaded, np.random.RandomState)
    assert loaded.randint(0, 10**6, 5).tolist() == expected
    with pytest.raises(TypeError, match="RandomState"):
        save_checkpoint(path, epoch=3, lr=0.1, model=model, optimizer=None, config=model.config,
                        random_state=np.random.default_rng(0))


def test_rng_round_trip_through_a_file(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    sampler = np.random.default_rng(4)
    legacy = np.random.RandomState(5)
    torch.rand(3), np.random.rand(), random.random(), sampler.random(), legacy.rand()
    state = capture_rng_state(sampler)
    state_legacy = capture_rng_state(legacy)

    def draw(gen):
        return (torch.rand(4).tolist(), np.random.rand(4).tolist(), random.random(),
                gen.random(4).tolist())

    expected, expected_legacy = draw(sampler), legacy.rand(4).tolist()
    path = tmp_path / "rng.bin"
    save_checkpoint(path, epoch=0, lr=0.1, model=small_model(9), optimizer=None, config={},
                    rng_state=state, extra={"legacy": state_legacy})
    loaded = torch.load(path, weights_only=True)

    torch.manual_seed(99), np.random.seed(99), random.seed(99)
    other = np.random.default_rng(99)
    restore_rng_state(loaded["rng_state"], other)
    assert draw(other) == expected
    other_legacy = np.random.RandomState(0)
    restore_rng_state(loaded["extra"]["legacy"], other_legacy)
    assert other_legacy.rand(4).tolist() == expected_legacy
    with pytest.raises(ValueError, match="sampler"):
        restore_rng_state(loaded["rng_state"], np.random.RandomState(0))


def test_unwritable_checkpoint_folder_is_a_user_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="cannot write the checkpoint") as err:
        save_checkpoint(tmp_path / "file" / "a.bin", epoch=0, lr=0.1, model=small_model(9), optimizer=None,
                        config={})
    assert err.value.setting == "checkpoint" and err.value.message.startswith(str(tmp_path / "file" / "a.bin"))


# ---------------------------------------------------------------------------------------------
# the model of a run: requested settings vs a checkpoint

REQUESTED = ModelConfig(num_frame=81, embed_dim_ratio=32, depth=4, num_heads=4, drop_rate=0.05, drop_path_rate=0.1)


def test_no_checkpoint_builds_the_request_from_the_seed():
    assert resolve_model_config(REQUESTED, None, frames_given=False) == REQUESTED
    small = REQUESTED.replace(num_frame=9, embed_dim_ratio=8, depth=1)
    model = model_for_run(small, None, None, frames_given=False, seed=5)
    torch.manual_seed(5)
    same = PoseTransformer(**small)
    assert model.config == small
    for (name, a), b in zip(model.state_dict().items(), same.state_dict().values()):
        assert torch.equal(a, b), name


def test_release_file_fixes_the_architecture_but_not_the_head_count(tmp_path):
    model = small_model(9).eval()                       # 2 heads; the file cannot tell
    release = release_layout(model)
    resolved = resolve_model_config(REQUESTED, release, frames_given=False, checkpoint_name="r.bin")
    assert resolved == REQUESTED.replace(num_frame=9, embed_dim_ratio=8, depth=2)    # heads 4, dropout as asked
    built = model_for_run(REQUESTED.replace(num_heads=2), release, "r.bin", frames_given=False, seed=0).eval()
    x = torch.randn(2, 9, 17, 2)
    torch.testing.assert_close(built(x), model(x), atol=0, rtol=0)
    with pytest.raises(UserError) as err:              # c = 8 cannot be split into 16 heads
        resolve_model_config(REQUESTED.replace(num_heads=16), release, False, "r.bin")
    assert err.value.setting == "num_heads" and err.value.message.startswith("16: checkpoint r.bin has 8 channels")


def test_our_files_keep_their_head_count(tmp_path):
    model = small_model(9).eval()
    path = tmp_path / "ours.bin"
    save_checkpoint(path, epoch=1, lr=0.1, model=model, optimizer=None, config=model.config)
    ours = load_checkpoint(path)
    resolved = resolve_model_config(REQUESTED.replace(num_heads=8), ours, frames_given=False)
    assert resolved.num_heads == 2 and resolved.num_frame == 9 and resolved.drop_rate == 0.05


def test_requested_frames_that_differ_from_the_checkpoint_are_refused():
    release = release_layout(small_model(9))
    assert resolve_model_config(REQUESTED, release, frames_given=False).num_frame == 9
    with pytest.raises(UserError) as err:
        model_for_run(REQUESTED.replace(num_heads=2), release, "r.bin", frames_given=True, seed=0)
    assert err.value.setting == "number_of_frames" and "-f" not in err.value.message
    assert err.value.message.startswith("81: checkpoint r.bin was trained with 9 frames")


def test_random_state_pickled_by_numpy_2_or_1_loads_under_either():
    """numpy 2 stores a bit generator's state as (dict, seed sequence), numpy 1 as the dict: both are read,
    so a checkpoint written with numpy 2 loads where numpy 1 is installed (the video extra pins numpy<2)."""
    from common.io.checkpoint import _PortableMT19937, _safe_randomstate_ctor
    reference = np.random.MT19937(5)
    reference.random_raw(7)
    for stored in (reference.state, (reference.state, None)):
        built = _PortableMT19937()
        built.__setstate__(stored)
        state = _safe_randomstate_ctor(built)
        assert type(state._bit_generator) is np.random.MT19937
        np.testing.assert_array_equal(state.randint(0, 1000, 5), np.random.RandomState(
            _copy_bit_generator(reference)).randint(0, 1000, 5))


def _copy_bit_generator(bit_generator):
    copy = np.random.MT19937()
    copy.state = bit_generator.state
    return copy
