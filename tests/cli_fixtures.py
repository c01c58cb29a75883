"""What the command-line tests share: a tiny model's flags, a small Human3.6M selection, and the
check that a program failed the way a user should see it (one ``error:`` line, no traceback)."""

# A model small enough to train an epoch of the Human3.6M fixture in seconds.
SMALL_MODEL = ['-f', '9', '--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-b', '64', '-lr', '0.002']
# One training subject, one test subject, one action of the Human3.6M fixture (ground-truth 2D).
H36M_SELECTION = ['-k', 'gt', '-str', 'S1', '-ste', 'S9', '-a', 'Walking']


def one_error_line(stderr):
    """The single non-empty line of `stderr`, asserted to be an ``error:`` line without a traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert 'Traceback' not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith('error: '), stderr
    return lines[0]
