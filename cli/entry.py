"""The one wrapper around every program's ``main``: user errors and Ctrl-C become one line + exit code.

    sys.exit(run_program(lambda: real_main(argv), setting_names))

- `UserError` -> ``error: <flag> <message>`` on stderr, exit status 2 (no traceback); the error's
  setting is shown as the flag that sets it (``setting_names``: setting -> flag, e.g. from
  `cli.parser.flag_names`).
- KeyboardInterrupt -> ``interrupted: <note>`` on stderr, exit status 130 (what a shell reports for
  SIGINT); files are written atomically, so what was written before is complete. ``interrupted_note``
  is a text or a function returning one when the interrupt arrives (what is true depends on how far
  the program got).
- SIGTERM (a scheduler pre-empting the job, torchrun stopping its workers) -> the same unwinding
  (`common.termination`: the signal raises `Terminated` while ``body`` runs), ``terminated: <note>`` on
  stderr, exit status 143 (128 + SIGTERM, what a shell reports for a process ended by SIGTERM).
- OSError that reaches the top (a disk that fills up, a folder that vanished or turned read-only
  while the program ran) -> ``error: cannot write/read <file>: <reason>``, exit status 1; the
  atomic writer has left the previous version of the file in place.
- Running out of memory (PyTorch's allocator: ``DefaultCPUAllocator: can't allocate memory`` or
  ``torch.OutOfMemoryError`` on CUDA; numpy's / Python's MemoryError) -> ``error: out of <CPU/GPU>
  memory ...: <hint>``, exit status 1; the hint (``out_of_memory_hint``) names the settings to lower
  and what was kept.
"""
import re
import sys

from common.errors import UserError
from common.termination import EXIT_TERMINATED, Terminated, raising_on_sigterm

EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def run_program(body, setting_names=None, interrupted_note='files written so far are complete (writes are atomic)',
                out_of_memory_hint=None):
    """Call ``body()`` and return its exit status (0 when it returns None).

    ``out_of_memory_hint``: a string, or a function called then that returns one, saying which settings to
    lower (and what was kept) when the program runs out of memory.
    """
    try:
        with raising_on_sigterm():
            status = body()
        return 0 if status is None else int(status)
    except Terminated:
        print(f'terminated (SIGTERM): {_text(interrupted_note)}', file=sys.stderr, flush=True)
        return EXIT_TERMINATED
    except UserError as exc:
        print(f'error: {exc.describe(setting_names)}', file=sys.stderr, flush=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f'interrupted: {_text(interrupted_note)}', file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (MemoryError, RuntimeError) as exc:
        what = out_of_memory(exc)
        if what is None:
            raise
        hint = _text(out_of_memory_hint)
        print(f'error: out of {what}: {hint or "use smaller settings or a machine with more memory"}',
              file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except OSError as exc:
        where = f' {exc.filename}' if exc.filename else ''
        print(f'error: file system{where}: {exc.strerror or exc}; nothing already written was replaced '
              '(writes are atomic): free space or fix the path, then run again', file=sys.stderr, flush=True)
        return EXIT_FAILURE


def _text(text_or_function):
    """A note given as a text, or as a function called now that returns one (what is true when the program stops)."""
    return text_or_function() if callable(text_or_function) else text_or_function


_SIZE = re.compile(r'(?:tried to allocate|unable to allocate)\s+([0-9]+ bytes|[0-9.]+\s*[KMGTPE]i?B)', re.IGNORECASE)


def _human(size_bytes):
    """1152921504606846976 -> '1.0 EiB'."""
    value, unit = float(size_bytes), 'bytes'
    for next_unit in ('KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'):
        if value < 1024:
            break
        value, unit = value / 1024, next_unit
    return f'{value:.1f} {unit}' if unit != 'bytes' else f'{int(value)} bytes'


def out_of_memory(exc):
    """'CPU memory (...)' / 'GPU memory (...)' when `exc` is an allocation failure, else None.

    Recognised: ``torch.OutOfMemoryError`` (CUDA), PyTorch's CPU allocator RuntimeError
    (``DefaultCPUAllocator: can't allocate memory``), MemoryError (numpy, Python). The size asked
    for is added when the message tells it.
    """
    text = str(exc)
    if type(exc).__name__ == 'OutOfMemoryError' or (isinstance(exc, RuntimeError) and 'CUDA out of memory' in text):
        where = 'GPU memory'
    elif isinstance(exc, MemoryError) or "can't allocate memory" in text or 'DefaultCPUAllocator' in text:
        where = 'CPU memory'
    else:
        return None
    size = _SIZE.search(text)
    if size is None:
        return where
    amount = size.group(1)
    if amount.endswith('bytes'):
        amount = _human(int(amount.split()[0]))
    return f'{where} (an allocation of {amount} failed)'
