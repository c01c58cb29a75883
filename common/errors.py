"""The one exception type for problems a user can fix.

Raise `UserError` with a message that names the file / flag that is wrong and how to fix it.
`run_poseformer.main` catches it, prints ``error: <message>`` to stderr and exits with status 2,
so users never see a traceback for bad input.
"""


class UserError(Exception):
    """A problem with the user's input (flag, file, data) that they can fix."""
