from common.data.skeleton import (H36M_17_LEFT, H36M_17_PARENTS, H36M_17_RIGHT, H36M_REMOVED_JOINTS,
                             h36m_skeleton_17, h36m_skeleton_32)


def test_32_to_17_reduction():
    skeleton = h36m_skeleton_32()
    kept = skeleton.remove_joints(H36M_REMOVED_JOINTS)
    assert len(kept) == 17 and skeleton.num_joints() == 17
    assert kept == [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    assert skeleton.joints_left() == [4, 5, 6, 11, 12, 13]
    assert skeleton.joints_right() == [1, 2, 3, 14, 15, 16]
    # Before re-wiring, the shoulders hang off the spine (their mocap parents were removed).
    assert skeleton.parents()[11] == 7 and skeleton.parents()[14] == 7


def test_17_joint_facts():
    skeleton = h36m_skeleton_17()
    assert skeleton.parents().tolist() == [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
    assert H36M_17_LEFT == [4, 5, 6, 11, 12, 13] and H36M_17_RIGHT == [1, 2, 3, 14, 15, 16]
    children = skeleton.children()
    assert sorted(children[8]) == [9, 11, 14]          # thorax: neck and both shoulders
    assert skeleton.has_children()[10] == False        # noqa: E712  head is a leaf
    assert len(H36M_17_PARENTS) == 17
