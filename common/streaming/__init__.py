"""Online (frame-by-frame) lifting and the exported model.

* `Lifter`: push one 2D frame, get the 3D pose of the frame whose window just became complete;
  equal to the offline prediction (``common.evaluation.predict_sequence``).
* `TorchStages` / `OnnxStages`: the model's two stages run by PyTorch or onnxruntime.
* `export_onnx`: the model (and its two stages) as ONNX files with a dynamic batch.
"""
from common.streaming.lifter import FeatureRing, Lifter
from common.streaming.onnx_model import OnnxStages, export_onnx, onnx_difference, stage_paths
from common.streaming.stages import TorchStages, model_from_checkpoint

__all__ = ['Lifter', 'FeatureRing', 'TorchStages', 'OnnxStages', 'export_onnx', 'onnx_difference', 'stage_paths',
           'model_from_checkpoint']
