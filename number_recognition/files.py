"""Writing outputs so that nothing is lost: atomic replacement, and output paths checked before work starts.

A file is written under a temporary name in its destination folder, flushed to disk, and renamed
over the destination in one step, so a reader sees the old file or the new one, never half of one.
The temporary name carries the writer's process id (``.partial-<pid>-<random><suffix>``); a later
save removes those whose writer is gone (killed before it could clean up), and leaves a running
writer's alone.
"""

import contextlib
import json
import os
import re
import secrets

from number_recognition import errors

PARTIAL_PREFIX = ".partial-"
PARTIAL_PATTERN = re.compile(r"\.partial-(\d+)-[0-9a-f]+")


class OutputPathError(errors.UserError):
    """An output path cannot be written; the message says why."""


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(folder):
    """Delete temporary files in ``folder`` left behind by writers that no longer run."""
    for name in os.listdir(folder):
        match = PARTIAL_PATTERN.match(name)
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))


def _fsync(path):
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path to write; on success it replaces ``path`` atomically, on failure it is removed.

    The file gets the permissions of any new file (the umask's), is fsynced before the rename, and
    the folder after it, so the new file survives a power cut once this returns.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_partials(folder)
    temporary = os.path.join(folder, f"{PARTIAL_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{suffix}")
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    _fsync(folder)


def write_json(path, value):
    """Write ``value`` as indented JSON to ``path`` atomically."""
    with atomic_path(path, suffix=".json") as temporary, open(temporary, "w") as handle:
        json.dump(value, handle, indent=2)


def check_output_folder(path):
    """Raise ``OutputPathError`` unless ``path`` is a folder that exists and is writable, or can be made."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        raise OutputPathError(f"{path}: {existing} is a file, not a folder: choose another output folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: no permission to write in {existing}: choose another output folder")


def check_output_file(path):
    """Raise ``OutputPathError`` unless a file can be written at ``path`` (its folder checked as above)."""
    if os.path.isdir(path):
        raise OutputPathError(f"{path} is a folder: give a file name")
    check_output_folder(os.path.dirname(os.path.abspath(path)))
