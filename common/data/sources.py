"""Build the `DataBundle` (train / test sequences + symmetry) that a run needs, for every `-d`.

- ``h36m``: ``<data-dir>/data_3d_h36m.npz`` + ``<data-dir>/data_2d_h36m_<k>.npz``.
- ``synthetic``: the embedded dataset, generated into ``<data-dir>`` on first use, same layout
  (``data_3d_synthetic.npz``, ``data_2d_synthetic_{gt,detected}.npz``).
- ``custom``: ``<data-dir>/data_2d_custom_<k>.npz`` (2D of your own videos, no 3D ground truth).
- ``3dhp``: ``<data-dir>/data_{train,test}_3dhp.npz``.
"""
from pathlib import Path

from common.data.types import DataBundle, fetch_sequences, prepare_camera_space
from common.errors import UserError


def keypoints_path(data_dir, dataset, keypoints):
    """``<data_dir>/data_2d_<dataset>_<keypoints>.npz``, with a helpful error when it is missing."""
    path = Path(data_dir) / f'data_2d_{dataset}_{keypoints}.npz'
    if not path.is_file():
        prefix = f'data_2d_{dataset}_'
        available = sorted(p.name[len(prefix):-4] for p in Path(data_dir).glob(f'{prefix}*.npz'))
        raise UserError(f'-k {keypoints}: 2D keypoint file {path} not found. '
                        + (f'Available in {data_dir}: {", ".join(available)}. ' if available else '')
                        + 'See data/README.md for how to obtain and prepare the data files.')
    return path


def load_bundle(args, need_train=True):
    """The DataBundle for the parsed command-line `args`."""
    if args.dataset == '3dhp':
        from common.data.mpi3dhp import TRAIN_FILE, load_3dhp
        return load_3dhp(args.data_dir, train_file=TRAIN_FILE if need_train else None)
    if args.dataset == 'custom':
        return _load_custom(args)
    from common.data.h36m import Human36mDataset
    data_dir = Path(args.data_dir)
    if args.dataset == 'synthetic':
        from common.data.synthetic.dataset import ensure_synthetic_dataset
        paths = ensure_synthetic_dataset(data_dir, seed=args.synthetic_seed)
        path_3d = Path(paths['3d'])
    else:
        path_3d = data_dir / f'data_3d_{args.dataset}.npz'
    path_2d = keypoints_path(data_dir, args.dataset, args.keypoints)
    dataset = Human36mDataset(path_3d)
    subjects_train = args.subjects_train_list if need_train else []
    dataset.check_subjects(subjects_train, '-str/--subjects-train')
    dataset.check_subjects(args.subjects_test_list, '-ste/--subjects-test')
    prepare_camera_space(dataset)
    from common.data.keypoints_2d import load_keypoints_2d
    keypoints = load_keypoints_2d(path_2d, dataset, subjects=list(dict.fromkeys(subjects_train + args.subjects_test_list)))
    train = (fetch_sequences(dataset, keypoints, subjects_train, args.action_filter, args.subset, args.downsample)
             if need_train else [])
    test = fetch_sequences(dataset, keypoints, args.subjects_test_list, args.action_filter, 1, args.downsample)
    skeleton = dataset.skeleton()
    return DataBundle(name=args.dataset, train=train, test=test, parents=list(skeleton.parents()),
                      joints_left=skeleton.joints_left(), joints_right=skeleton.joints_right(),
                      kps_left=keypoints.joints_left, kps_right=keypoints.joints_right,
                      num_joints=keypoints.num_joints, fps=dataset.fps() / args.downsample)


def _load_custom(args):
    from common.data.custom import CustomDataset, load_custom_keypoints
    path_2d = keypoints_path(args.data_dir, 'custom', args.keypoints)
    dataset = CustomDataset(path_2d)
    keypoints = load_custom_keypoints(path_2d, dataset)
    subjects = dataset.subjects()
    if args.viz_subject:
        dataset.check_subjects([args.viz_subject], '--viz-subject')
        subjects = [args.viz_subject]
    test = fetch_sequences(dataset, keypoints, subjects, None, 1, args.downsample)
    return DataBundle(name='custom', train=[], test=test, parents=list(dataset.skeleton().parents()),
                      joints_left=keypoints.joints_left,
                      joints_right=keypoints.joints_right, kps_left=keypoints.joints_left,
                      kps_right=keypoints.joints_right, num_joints=keypoints.num_joints,
                      fps=dataset.fps() / args.downsample)
