"""Joint layouts (common/data/layouts.py): each one consistent with itself and with the others."""
import pytest

from common.data.layouts import (COCO_17, H36M_17, H36M_32, H36M_32_REMOVED, H36M_32_TO_17, KEYPOINT_LAYOUTS,
                                 MPI3DHP_17, JointLayout)

ALL = (H36M_17, H36M_32, COCO_17, MPI3DHP_17)


@pytest.mark.parametrize('layout', ALL, ids=lambda layout: layout.name)
def test_left_and_right_are_mirror_joints(layout):
    assert len(set(layout.names)) == layout.num_joints
    for left, right in zip(layout.left, layout.right):
        assert layout.names[left].replace('left', 'right') == layout.names[right]
    sided = {j for j, name in enumerate(layout.names) if 'left' in name or 'right' in name}
    assert sided == set(layout.left + layout.right)        # every sided joint has its mirror listed


@pytest.mark.parametrize('layout', [H36M_17, H36M_32, MPI3DHP_17], ids=lambda layout: layout.name)
def test_trees(layout):
    assert layout.parents[layout.root] == -1 and list(layout.parents).count(-1) == 1
    for joint in range(layout.num_joints):      # every joint reaches the root
        seen = set()
        while joint != layout.root:
            assert joint not in seen
            seen.add(joint)
            joint = layout.parents[joint]
    for left, right in zip(layout.left, layout.right):   # mirror joints hang off mirror (or central) parents
        pl, pr = layout.parents[left], layout.parents[right]
        assert pl == pr or layout.right[layout.left.index(pl)] == pr


def test_the_17_joints_of_the_mocap_skeleton():
    assert len(H36M_32_TO_17) == 17 and not set(H36M_32_TO_17) & set(H36M_32_REMOVED)
    assert list(H36M_32_TO_17) == [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    new_index = {old: new for new, old in enumerate(H36M_32_TO_17)}
    assert [new_index[j] for j in H36M_32.left if j in new_index] == list(H36M_17.left)
    assert [new_index[j] for j in H36M_32.right if j in new_index] == list(H36M_17.right)
    # Each joint's parent is its nearest kept mocap ancestor, except the shoulders: in the mocap tree
    # they hang off the removed shoulder girdles, in the 17-joint skeleton off the thorax.
    thorax = H36M_17.index('thorax')
    for old, new in new_index.items():
        parent = H36M_32.parents[old]
        while parent != -1 and parent not in new_index:
            parent = H36M_32.parents[parent]
        expected = thorax if H36M_17.names[new].endswith('shoulder') else new_index.get(parent, -1)
        assert H36M_17.parents[new] == expected


def test_keypoint_layouts_by_file_name():
    assert KEYPOINT_LAYOUTS['h36m'] == H36M_17 and KEYPOINT_LAYOUTS['coco'] == COCO_17
    assert all(name == layout.name for name, layout in KEYPOINT_LAYOUTS.items())
    assert COCO_17.parents is None and H36M_17.index('thorax') == 8 and MPI3DHP_17.names[MPI3DHP_17.root] == 'pelvis'


def test_inconsistent_layouts_are_refused():
    with pytest.raises(ValueError, match='parents'):
        JointLayout('x', names=('a', 'b'), parents=(-1,), left=(), right=())
    with pytest.raises(ValueError, match='pairs'):
        JointLayout('x', names=('a', 'b'), parents=(-1, 0), left=(1,), right=())
    with pytest.raises(ValueError, match='pairs'):
        JointLayout('x', names=('a', 'b'), parents=(-1, 0), left=(1,), right=(2,))


@pytest.mark.parametrize('layout', ALL, ids=lambda layout: layout.name)
def test_mirror_groups_are_the_layouts_own_pairs_each_once(layout):
    groups = layout.mirror_groups()
    pairs = [pair for group in groups for pair in group]
    assert sorted(pairs) == sorted(zip(layout.left, layout.right))


def test_coco_mirror_groups_are_face_arms_legs_and_the_tracker_uses_them():
    from common.detection.tracking import COCO_SWAP_GROUPS
    named = [{COCO_17.names[left].split('_', 1)[1] for left, _ in group} for group in COCO_17.mirror_groups()]
    assert named == [{'eye', 'ear'}, {'shoulder', 'elbow', 'wrist'}, {'hip', 'knee', 'ankle'}]
    assert COCO_SWAP_GROUPS == COCO_17.mirror_groups()


def test_the_tracker_restates_no_joint_indices():
    """Symmetry has one home (the layouts): tracking.py holds no literal list of joint pairs."""
    import ast
    import inspect
    from common.detection import tracking

    def int_pair(node):
        return (isinstance(node, ast.Tuple) and len(node.elts) == 2
                and all(isinstance(e, ast.Constant) and type(e.value) is int for e in node.elts))
    pair_lists = [ast.unparse(node) for node in ast.walk(ast.parse(inspect.getsource(tracking)))
                  if isinstance(node, (ast.Tuple, ast.List)) and node.elts and all(map(int_pair, node.elts))]
    assert pair_lists == []


def test_parts_must_share_out_the_left_joints():
    with pytest.raises(ValueError, match='parts'):
        JointLayout(name='bad', names=('a', 'left_x', 'right_x', 'left_y', 'right_y'), parents=None,
                    left=(1, 3), right=(2, 4), root=None, parts=((1,),))
