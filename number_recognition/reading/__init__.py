"""The reading half: from a person's image to the digits in it, with NumPy and Pillow alone.

One module per step, in the order an image flows through them: ``decode`` (file or array to grey),
``ink`` (the ground removed, strokes bright), ``segmentation`` (which pieces of ink are digits),
``normalize`` (each digit as an MNIST-like 28x28 input), ``model_file`` and ``inference`` (the
``.keras`` file read safely and run in NumPy), ``recognition`` (the API: ``recognize``), and
``command`` (the ``recognize.py`` command line). Nothing here imports TensorFlow or matplotlib
unless a model needs the Keras fallback or ``--save-input`` draws a chart.
"""

import os

# The user's own setting (None when there is none), for tools that start other programs with it.
USER_OPENBLAS_THREADS = os.environ.get("OPENBLAS_NUM_THREADS")
# subtle: the reading half multiplies small matrices (one image, or one process's share of a folder),
# where OpenBLAS's own threads only cost: they start with NumPy and spin on the other core, and on
# a busy 2-core machine one image took 0.27-0.32 s with them and 0.21-0.26 s without (alternated
# runs of recognize.py on one PNG). NumPy reads this when it is first imported, which for
# recognize.py and app.py is after this package; a user's own setting is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
