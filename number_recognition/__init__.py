"""Number-Recognition: learn handwritten digits from MNIST, then read digits and numbers in people's images.

Two halves. The learning side, in this package: ``config`` (every setting), ``data`` (MNIST),
``models``, ``augmentation``, ``training``, ``evaluation``, ``plots``. The reading side, in
``number_recognition.reading``: decoding a person's image, finding its ink, segmenting it into
digits, normalising each digit to MNIST's 28x28, the NumPy forward pass, and ``recognize``.
Importing the package is cheap: nothing imports TensorFlow until a function needs it, and the
reading side never does.
"""

__version__ = "0.2.0"
