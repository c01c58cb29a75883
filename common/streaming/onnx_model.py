"""The model as ONNX files, and a streaming backend that runs them on onnxruntime.

`export_onnx(model, path, stages=True)` writes

* ``path``: the whole model, input ``keypoints_2d`` ``(batch, F, J, 2)`` -> output ``pose_3d``
  ``(batch, 1, J, 3)`` (metres);
* with ``stages``, beside it (`stage_paths`): ``<stem>.spatial.onnx``, ``keypoints_2d``
  ``(batch, frames, J, 2)`` -> ``features`` ``(batch, frames, J*c)``, and ``<stem>.temporal.onnx``,
  ``features`` ``(batch, F, J*c)`` -> ``pose_3d`` ``(batch, 1, J, 3)``.

The batch (and the spatial stage's frame count) is dynamic. Every file carries the model's shape
in its metadata (``num_frame``, ``num_joints``, ``in_chans``, ``embed_dim_ratio``,
``frames_after_target``, ``stage``), which is how `OnnxStages` knows what it runs, and, when the
checkpoint recorded them, the layouts it was trained on (``joints_layout``, ``keypoints_layout``:
`OnnxStages.layouts`). The export uses
PyTorch's TorchScript-based exporter (``dynamo=False``, opset 17), which needs only the ``onnx``
package; files are written atomically.
"""
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from common.errors import UserError
from common.io.atomic import atomic_write

OPSET = 17
KEYPOINTS, FEATURES, POSE = 'keypoints_2d', 'features', 'pose_3d'


def stage_paths(path):
    """``model.onnx`` -> (``model.spatial.onnx``, ``model.temporal.onnx``), in the same folder."""
    path = Path(path)
    stem = path.name[:-len('.onnx')] if path.name.endswith('.onnx') else path.name
    return path.with_name(f'{stem}.spatial.onnx'), path.with_name(f'{stem}.temporal.onnx')


class _Stage(nn.Module):
    """One method of the model (``forward_spatial`` / ``forward_temporal``) as a module to export."""

    def __init__(self, model, method):
        super().__init__()
        self.model = model
        self.method = method
        self.train(model.training)   # the exporter puts the wrapper back in its mode, children included

    def forward(self, x):
        return getattr(self.model, self.method)(x)


def export_onnx(model, path, stages=False, layouts=None):
    """Write ``model`` (a PoseTransformer) to ``path`` as ONNX, and with ``stages`` its two stages.

    ``layouts``: ``{'joints': name, 'keypoints': name}`` of the training data (a checkpoint's
    ``'layouts'``), kept in the metadata; None when unknown.

    Returns the list of paths written. Raises UserError when the ``onnx`` package is missing or a
    file cannot be written.
    """
    _require('onnx')
    was_training = model.training
    try:
        return _export(model.eval(), path, stages, layouts)
    finally:
        model.train(was_training)


def _export(model, path, stages, layouts=None):
    param = next(model.parameters())
    f, j, ch = model.num_frame, model.num_joints, model.in_chans
    keypoints = torch.zeros(2, f, j, ch, dtype=param.dtype, device=param.device)   # (B, F, J, 2) example
    with torch.no_grad():
        features = model.forward_spatial(keypoints)                                 # (B, F, J*c)
    metadata = {'num_frame': f, 'num_joints': j, 'in_chans': ch, 'embed_dim_ratio': model.embed_dim_ratio,
                'frames_after_target': model.frames_after_target}
    if layouts:
        metadata.update(joints_layout=layouts['joints'], keypoints_layout=layouts['keypoints'])
    batch = {0: 'batch'}                       # dynamic axes, the same for the input and the output
    jobs = [('model', Path(path), model, keypoints, KEYPOINTS, POSE, batch)]
    if stages:
        spatial_path, temporal_path = stage_paths(path)
        jobs += [('spatial', spatial_path, _Stage(model, 'forward_spatial'), keypoints, KEYPOINTS, FEATURES,
                  {0: 'batch', 1: 'frames'}),
                 ('temporal', temporal_path, _Stage(model, 'forward_temporal'), features, FEATURES, POSE, batch)]
    for stage, out_path, module, example, input_name, output_name, axes in jobs:
        _write(out_path, _to_onnx(module, example, input_name, output_name, axes), dict(metadata, stage=stage))
    return [job[1] for job in jobs]


def _to_onnx(module, example, input_name, output_name, axes):
    """Serialised ONNX of ``module(example)`` (bytes), ``axes`` dynamic in its input and output."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The shape checks of forward_spatial/_temporal hold for any batch: the tracer may treat them as
        # constants. The TorchScript exporter's deprecation notice is not news to the caller either.
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=FutureWarning)
        torch.onnx.export(module, (example,), buffer, input_names=[input_name], output_names=[output_name],
                          dynamic_axes={input_name: axes, output_name: axes}, opset_version=OPSET, dynamo=False)
    return buffer.getvalue()


def _write(path, onnx_bytes, metadata):
    import onnx
    proto = onnx.load_from_string(onnx_bytes)
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=str(value))
    onnx.checker.check_model(proto)
    try:
        atomic_write(path, lambda f: f.write(proto.SerializeToString()))
    except OSError as exc:
        raise UserError(f'{path}: cannot write ({exc.strerror or exc}); choose a writable folder',
                        setting='onnx') from None


def onnx_difference(model, path, batch=3, seed=0):
    """Largest ``|onnxruntime - PyTorch|`` (metres) of the whole-model file ``path`` on a random batch."""
    _require('onnxruntime')
    import onnxruntime
    generator = torch.Generator().manual_seed(seed)
    keypoints = torch.rand(batch, model.num_frame, model.num_joints, model.in_chans, generator=generator) * 2 - 1
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    exported = session.run([POSE], {KEYPOINTS: keypoints.numpy()})[0]                  # (B, 1, J, 3)
    param = next(model.parameters())
    with torch.no_grad():
        reference = model.eval()(keypoints.to(param.device, param.dtype)).float().cpu().numpy()
    return float(abs(exported - reference).max())


def _require(package):
    try:
        __import__(package)
    except ImportError:
        raise UserError(f'the Python package {package!r} is needed for ONNX files but is not installed: '
                        f'pip install {package}') from None


class OnnxStages:
    """Streaming backend running the stage files of ``path`` (see `stage_paths`) on onnxruntime.

    ``threads``: onnxruntime intra-op threads (None: its default, all cores). Same calls and
    attributes as `common.streaming.stages.TorchStages`; numpy float32 in and out.
    """

    def __init__(self, path, threads=None):
        _require('onnxruntime')
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = int(threads)
        sessions, metadata = [], []
        for stage, stage_path in zip(('spatial', 'temporal'), stage_paths(path)):
            if not stage_path.is_file():
                raise UserError(f'{path}: its {stage} stage file {stage_path} was not found; export the model '
                                f'with its two stages (see tools/export.py)', setting='onnx')
            try:
                session = onnxruntime.InferenceSession(str(stage_path), options, providers=['CPUExecutionProvider'])
            except Exception as exc:   # onnxruntime raises its own exception types for bad files
                raise UserError(f'{stage_path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:200]}); '
                                f'export it again (see tools/export.py)', setting='onnx') from None
            meta = session.get_modelmeta().custom_metadata_map
            if meta.get('stage') != stage:
                raise UserError(f'{stage_path}: not a PoseFormer {stage} stage file (its metadata has no '
                                f'stage={stage}); export it again (see tools/export.py)', setting='onnx')
            sessions.append(session)
            metadata.append(meta)
        self._spatial, self._temporal = sessions
        self.num_frame = int(metadata[1]['num_frame'])
        self.num_joints = int(metadata[1]['num_joints'])
        self.frames_after_target = int(metadata[1]['frames_after_target'])
        meta = metadata[1]
        # the training data's layouts, or None for exports of files that do not record them
        self.layouts = ({'joints': meta['joints_layout'], 'keypoints': meta['keypoints_layout']}
                        if 'joints_layout' in meta and 'keypoints_layout' in meta else None)

    def spatial(self, keypoints):
        """``(B, F, J, 2)`` -> ``(B, F, J*c)``."""
        return self._spatial.run([FEATURES], {KEYPOINTS: keypoints.astype('float32', copy=False)})[0]

    def temporal(self, features):
        """``(B, F, J*c)`` -> ``(B, 1, J, 3)``."""
        return self._temporal.run([POSE], {FEATURES: features.astype('float32', copy=False)})[0]
