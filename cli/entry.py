"""The one wrapper around every program's ``main``: user errors and Ctrl-C become one line + exit code.

    sys.exit(run_program(lambda: real_main(argv), setting_names))

- `UserError` -> ``error: <flag> <message>`` on stderr, exit status 2 (no traceback); the error's
  setting is shown as the flag that sets it (``setting_names``: setting -> flag, e.g. from
  `cli.parser.flag_names`).
- KeyboardInterrupt -> ``interrupted: ...`` on stderr, exit status 130 (what a shell reports for
  SIGINT); files are written atomically, so what was written before is complete.
- SIGTERM (a scheduler pre-empting the job, torchrun stopping its workers) -> the same unwinding
  (`common.termination`: the signal raises `Terminated` while ``body`` runs), ``terminated: ...`` on
  stderr, exit status 143 (128 + SIGTERM, what a shell reports for a process ended by SIGTERM).
- OSError that reaches the top (a disk that fills up, a folder that vanished or turned read-only
  while the program ran) -> ``error: cannot write/read <file>: <reason>``, exit status 1; the
  atomic writer has left the previous version of the file in place.
"""
import sys

from common.errors import UserError
from common.termination import EXIT_TERMINATED, Terminated, raising_on_sigterm

EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def run_program(body, setting_names=None, interrupted_note='files written so far are complete (writes are atomic)'):
    """Call ``body()`` and return its exit status (0 when it returns None)."""
    try:
        with raising_on_sigterm():
            status = body()
        return 0 if status is None else int(status)
    except Terminated:
        print(f'terminated (SIGTERM): {interrupted_note}', file=sys.stderr, flush=True)
        return EXIT_TERMINATED
    except UserError as exc:
        print(f'error: {exc.describe(setting_names)}', file=sys.stderr, flush=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f'interrupted: {interrupted_note}', file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except OSError as exc:
        where = f' {exc.filename}' if exc.filename else ''
        print(f'error: file system{where}: {exc.strerror or exc}; nothing already written was replaced '
              '(writes are atomic): free space or fix the path, then run again', file=sys.stderr, flush=True)
        return EXIT_FAILURE
