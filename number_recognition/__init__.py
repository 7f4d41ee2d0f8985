"""Number-Recognition: learn handwritten digits from MNIST, then read digits and numbers in people's images.

The package is split by concern: ``data`` (MNIST loading and validation), ``models`` (the Keras
architectures), ``augmentation`` (random jitter of digits), ``training``, ``evaluation``, ``plots``,
``preprocessing`` and ``segmentation`` (turning a user's image into MNIST-like inputs),
``inference`` (a NumPy forward pass over a saved ``.keras`` file) and ``recognition`` (the public
``recognize`` function). Importing the package is cheap: nothing here imports TensorFlow until a
function needs it.
"""
