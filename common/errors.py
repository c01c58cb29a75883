"""The one exception type for problems a user can fix.

Library code raises ``UserError(message, setting=NAME)``: ``message`` says what is wrong and how to
fix it, ``setting`` names the configuration field it concerns (a dataclass field such as
``'keypoints'`` or ``'viz_video'``), never a command-line flag. Each program's entry point
(`cli.entry.run_program`) maps settings to its own flags, prints ``error: <flag> <message>`` and
exits with status 2, so users never see a traceback for bad input and the library never needs to
know how it was called. A message that names other settings too writes each as ``{name}`` and lists
them in ``mentions``; `describe` puts in each one's name in the caller's terms.
"""


class UserError(Exception):
    """A problem with the user's input (setting, file, data) that they can fix."""

    def __init__(self, message, setting=None, mentions=()):
        super().__init__(message)
        self.message = str(message)
        self.setting = setting
        self.mentions = tuple(mentions)

    def describe(self, setting_names=None):
        """The message, led by the setting's name in the caller's terms (e.g. its flag), with every setting
        it mentions (``{name}``) named in those terms too."""
        names = setting_names or {}
        message = self.message
        for mentioned in self.mentions:
            message = message.replace(f'{{{mentioned}}}', names.get(mentioned, mentioned))
        if self.setting is None:
            return message
        return f'{names.get(self.setting, self.setting)} {message}'

    def __str__(self):
        return self.describe()
