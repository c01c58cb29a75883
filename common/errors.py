"""The one exception type for problems a user can fix.

Library code raises ``UserError(message, setting=NAME)``: ``message`` says what is wrong and how to
fix it, ``setting`` names the configuration field it concerns (a dataclass field such as
``'keypoints'`` or ``'viz_video'``), never a command-line flag. Each program's entry point
(`cli.entry.run_program`) maps settings to its own flags, prints ``error: <flag> <message>`` and
exits with status 2, so users never see a traceback for bad input and the library never needs to
know how it was called.
"""


class UserError(Exception):
    """A problem with the user's input (setting, file, data) that they can fix."""

    def __init__(self, message, setting=None):
        super().__init__(message)
        self.message = str(message)
        self.setting = setting

    def describe(self, setting_names=None):
        """The message, led by the setting's name in the caller's terms (e.g. its flag)."""
        if self.setting is None:
            return self.message
        name = (setting_names or {}).get(self.setting, self.setting)
        return f'{name} {self.message}'

    def __str__(self):
        return self.describe()
