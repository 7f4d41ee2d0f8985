"""Atomic writes: all or nothing, the umask's permissions, stale temporary files cleaned, outputs checked early."""

import os
import subprocess
import sys

import pytest

from number_recognition import files


def test_a_write_replaces_the_file_whole_with_the_umask_permissions(tmp_path):
    path = tmp_path / "history.json"
    path.write_text("old")
    previous_umask = os.umask(0o022)
    try:
        files.write_json(str(path), {"loss": [1.0, 0.5]})
    finally:
        os.umask(previous_umask)
    assert path.read_text() == '{\n  "loss": [\n    1.0,\n    0.5\n  ]\n}'
    assert path.stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ["history.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        with files.atomic_path(str(path), suffix=".keras") as temporary:
            with open(temporary, "wb") as handle:
                handle.write(b"half")
            raise RuntimeError("the disk is full")
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_temporary_files_of_a_killed_writer_are_removed_by_the_next_save(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    stale = tmp_path / f"{files.PARTIAL_PREFIX}{dead_pid}-0badc0de.keras"
    stale.write_bytes(b"left by SIGKILL")
    # A writer that still runs (this process's parent) keeps its temporary file.
    alive = tmp_path / f"{files.PARTIAL_PREFIX}{os.getppid()}-12345678.keras"
    alive.write_bytes(b"being written")
    files.write_json(str(tmp_path / "history.json"), {})
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, "history.json"])


@pytest.mark.parametrize("kind", ["file", "folder-under-a-file"])
def test_an_output_folder_that_cannot_be_one_is_refused(tmp_path, kind):
    blocker = tmp_path / "taken"
    blocker.write_text("a file")
    target = blocker if kind == "file" else blocker / "inside"
    with pytest.raises(files.OutputPathError, match="is a file, not a folder"):
        files.check_output_folder(str(target))


def test_a_model_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(files.OutputPathError, match="is a folder"):
        files.check_output_file(str(tmp_path))


@pytest.mark.parametrize("script", ["eda", "evaluate", "train"])
def test_scripts_refuse_an_output_file_before_any_work(script, tmp_path, capsys):
    module = __import__(script)
    blocker = tmp_path / "outputs"
    blocker.write_text("a file")
    with pytest.raises(SystemExit) as stopped:
        module.main(["--data", str(tmp_path / "absent.npz"), "--out", str(blocker)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    # The output is refused first: the missing data file is never reached.
    assert error.count("\n") == 1 and "is a file, not a folder" in error
