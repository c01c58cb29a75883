"""Experiment logging: the per-epoch training numbers and the final evaluation, to TensorBoard or nowhere.

The interface (`ExperimentLog`; `NullLog` does nothing, `TensorBoardLog` writes event files):

- ``log_epoch(epoch, scalars)``: after each training epoch (``epoch`` counts from 1); ``scalars``
  maps a name (see `EPOCH_SCALARS`) to a number: errors in mm, the learning rate, samples/s.
- ``log_evaluation(result, step)``: the final per-action table of a `common.evaluation.EvaluationResult`
  (mm; PCK / AUC in %), as one scalar per action and metric (``test/<action>/<metric>``), the
  averages (``test/action_wise/<metric>``, ``test/frame_weighted/<metric>``) and a markdown table
  (text ``test/per_action``).
- ``close()``: flush and close.

The optional ``tensorboard`` package is needed only by `TensorBoardLog`; `require_tensorboard`
checks for it before any work (a `UserError` saying how to install it). TensorBoardLog takes any
object with SummaryWriter's ``add_scalar(tag, value, step)``, ``add_text(tag, text, step)``,
``flush()`` and ``close()``.
"""
from common.errors import UserError
from common.report import LABELS, format_value

# The tag names of the per-epoch scalars that the training loop reports (their one definition), and their meaning
TRAIN_MPJPE, LEARNING_RATE, SAMPLES_PER_S = 'train/mpjpe_mm', 'train/lr', 'train/samples_per_s'
VALID_MPJPE, TRAIN_EVAL_MPJPE = 'valid/mpjpe_mm', 'train_eval/mpjpe_mm'
EPOCH_SCALARS = {
    TRAIN_MPJPE: 'training MPJPE of the epoch (mm, the 3d_train column)',
    LEARNING_RATE: 'learning rate used in the epoch',
    SAMPLES_PER_S: 'training windows per second (all processes, the training steps only)',
    VALID_MPJPE: 'test MPJPE with flip TTA (mm, the 3d_valid column), when validated',
    TRAIN_EVAL_MPJPE: 'training-set MPJPE in eval mode (mm, the 3d_eval column), when asked for',
}

INSTALL_HINT = 'pip install tensorboard'


class ExperimentLog:
    """Where a run's numbers go besides the terminal; this base class drops them."""

    def log_epoch(self, epoch, scalars):
        pass

    def log_evaluation(self, result, step=0):
        pass

    def close(self):
        pass


NullLog = ExperimentLog


class TensorBoardLog(ExperimentLog):
    """Writes through a SummaryWriter-like `writer` (see the module docstring)."""

    def __init__(self, writer):
        self.writer = writer

    def log_epoch(self, epoch, scalars):
        for name, value in scalars.items():
            if value is not None:
                self.writer.add_scalar(name, float(value), int(epoch))
        self.writer.flush()

    def log_evaluation(self, result, step=0):
        for action, row in result.per_action.items():
            for metric in LABELS:
                if row.get(metric) is not None:
                    self.writer.add_scalar(f'test/{_tag(action)}/{metric}', float(row[metric]), int(step))
        for kind, values in (('action_wise', result.action_wise), ('frame_weighted', result.frame_weighted)):
            for metric, value in values.items():
                if value is not None:
                    self.writer.add_scalar(f'test/{kind}/{metric}', float(value), int(step))
        self.writer.add_text('test/per_action', per_action_markdown(result), int(step))
        self.writer.flush()

    def close(self):
        self.writer.close()


def per_action_markdown(result):
    """The per-action table of an EvaluationResult as markdown (one row per action, then the averages)."""
    metrics = [m for m in LABELS if any(row.get(m) is not None for row in result.per_action.values())]
    lines = ['| action | frames | ' + ' | '.join(metrics) + ' |', '|---|---:|' + '---:|' * len(metrics)]
    for action, row in result.per_action.items():
        lines.append(f'| {action} | {row.get("frames", "")} | '
                     + ' | '.join(format_value(m, row.get(m)) for m in metrics) + ' |')
    averages = (('action-wise average', result.action_wise), ('frame-weighted average', result.frame_weighted))
    for label, values in averages:
        lines.append(f'| **{label}** | | ' + ' | '.join(format_value(m, values.get(m)) for m in metrics) + ' |')
    return '\n'.join(lines)


def _summary_writer_class():
    """PyTorch's SummaryWriter; ImportError when the optional tensorboard package is missing."""
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter


def require_tensorboard(setting='tensorboard'):
    """Raise a UserError (one line: how to install it) unless TensorBoard logging can work here."""
    try:
        _summary_writer_class()
    except ImportError:
        raise UserError(f'needs the optional tensorboard package, which is not installed: {INSTALL_HINT}',
                        setting=setting) from None


def open_tensorboard_log(folder, setting='tensorboard'):
    """A TensorBoardLog writing event files into `folder` (created if needed)."""
    require_tensorboard(setting)
    return TensorBoardLog(_summary_writer_class()(log_dir=str(folder)))


def _tag(name):
    """A TensorBoard tag part: spaces and slashes replaced."""
    return str(name).replace('/', '_').replace(' ', '_')
