"""Import Keras on the backend the user chose, without TensorFlow's start-up noise when that is TensorFlow.

Keras 3 runs on TensorFlow, JAX or PyTorch and picks its backend itself as it is imported: the
environment variable ``KERAS_BACKEND``, else the ``backend`` of ``~/.keras/keras.json``, else
TensorFlow. The project's Keras code is the same on every backend, so

    KERAS_BACKEND=jax python train.py --arch cnn

trains with JAX and never imports TensorFlow, and the saved model predicts the same on any backend.

TensorFlow's C++ runtime writes absl and oneDNN banners straight to file descriptor 2 while it
loads, before any Python logging is set up, so ``TF_CPP_MIN_LOG_LEVEL`` alone does not silence
them. Unless another backend is asked for by name, the import therefore runs with descriptor 2
pointed at /dev/null; JAX and PyTorch keep their own warnings (a GPU they cannot use, say). Every
module of the package that needs Keras calls ``import_keras()`` instead of importing it, which also
keeps Keras out of the fast start-up path of ``recognize.py``.
"""

import contextlib
import os
import sys

from number_recognition import errors

BACKEND_VARIABLE = "KERAS_BACKEND"
BACKENDS = ("tensorflow", "jax", "torch")


class BackendError(errors.UserError):
    """Keras or the backend it was asked to use cannot be imported."""


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


def _quiet_tensorflow():
    """Silence TensorFlow's Python loggers and its first-operation banners (call with descriptor 2 silenced)."""
    import absl.logging
    import tensorflow

    # The runtime prints some banners on its first operation rather than at import, so run one tiny
    # operation while the stream is still silenced.
    tensorflow.constant(0.0) + 1.0
    absl.logging.set_verbosity(absl.logging.ERROR)
    tensorflow.get_logger().setLevel("ERROR")


def _keep_tensorflow_out():
    """Tell Keras on another backend that TensorFlow is absent, so that it does not import it after all.

    Keras imports TensorFlow whenever it is installed, whatever the backend: to seed it too, and to
    recognise its types while saving a model. That costs seconds, hundreds of megabytes and the
    banners for nothing; Keras skips both when it believes TensorFlow is not installed.
    """
    # A Keras without this module would merely import TensorFlow again, which tests/test_backends.py notices.
    with contextlib.suppress(ImportError, AttributeError):
        from keras.src.utils import module_utils

        # subtle: LazyModule caches whether its module can be imported in _available.
        module_utils.tensorflow._available = False


def import_keras():
    """Return the ``keras`` module, imported once on the chosen backend; raise ``BackendError`` if it cannot be.

    A failed import is reported after descriptor 2 is restored, as one line naming the backend.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    requested = os.environ.get(BACKEND_VARIABLE) or None
    # keras.json may still name another backend when the variable is unset; silencing is then merely unneeded.
    may_be_tensorflow = requested in (None, "tensorflow")
    if may_be_tensorflow:
        # A user's own setting wins; ours only hides INFO and WARNING lines of the C++ runtime.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with _stderr_silenced() if may_be_tensorflow else contextlib.nullcontext():
            import keras

            if keras.backend.backend() == "tensorflow":
                _quiet_tensorflow()
            elif "tensorflow" not in sys.modules:
                _keep_tensorflow_out()
    # subtle: Keras raises ValueError for a backend name it does not know, ImportError for one not installed.
    except (ImportError, ValueError) as error:
        backend = requested or "default"
        raise BackendError(
            f"Keras cannot start on the {backend} backend ({type(error).__name__}: {error}); install it, "
            f"or set {BACKEND_VARIABLE} to an installed one of {', '.join(BACKENDS)}"
        ) from error
    return keras
