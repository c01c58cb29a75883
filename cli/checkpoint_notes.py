"""What every program says about a checkpoint it was given, in the same words (flags named).

- `head_count_note`: a file that does not record its attention head count (the released ones) is
  built with the requested one; a wrong value loads but predicts differently.
- `layout_notes`: `common.model.loading.check_data_fit` (refuses data of another joint count or
  layout) and its notes (a released file's assumed layout), or, without data, what the file says.
"""
from common.model.loading import check_data_fit, layout_description, records_head_count

__all__ = ['head_count_note', 'layout_notes']


def head_count_note(checkpoint, checkpoint_name, num_heads):
    """The note for a checkpoint that does not record its head count, else None."""
    if checkpoint is None or records_head_count(checkpoint):
        return None
    return (f'note: {checkpoint_name} does not record its number of attention heads (released files do not); '
            f'using --num-heads {num_heads}: a wrong value loads but predicts differently')


def layout_notes(checkpoint, checkpoint_name, bundle=None):
    """'note: ...' lines about the checkpoint's layout; with `bundle` (a DataBundle) a misfit is refused first.

    Without `bundle` (no data: export) the line says what the file records, or which layout is assumed.
    Raises UserError (setting ``dataset``) when the checkpoint does not fit the bundle's data.
    """
    if checkpoint is None:
        return []
    if bundle is not None:
        return ['note: ' + note for note in
                check_data_fit(checkpoint, checkpoint_name, bundle.name, bundle.joints, bundle.keypoints)]
    description = layout_description(checkpoint, checkpoint_name)
    return [description if checkpoint.get('layouts') else 'note: ' + description]
