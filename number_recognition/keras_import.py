"""Import Keras (and with it TensorFlow) without TensorFlow's start-up noise.

TensorFlow's C++ runtime writes absl and oneDNN banners straight to file descriptor 2 while it
loads, before any Python logging is set up, so ``TF_CPP_MIN_LOG_LEVEL`` alone does not silence
them. Every module of the package that needs Keras calls ``import_keras()`` instead of importing it,
which also keeps Keras out of the fast start-up path of ``recognize.py``.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null for the duration, then restore it."""
    sys.stderr.flush()
    saved_fd = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)


def import_keras():
    """Return the ``keras`` module, imported once, with TensorFlow's banners suppressed."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    # A user's own setting wins; ours only hides INFO and WARNING lines of the C++ runtime.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import absl.logging
        import tensorflow

        # The runtime prints some banners on its first operation rather than at import, so run
        # one tiny operation while the stream is still silenced.
        tensorflow.constant(0.0) + 1.0
        absl.logging.set_verbosity(absl.logging.ERROR)
        tensorflow.get_logger().setLevel("ERROR")
        import keras
    return keras
