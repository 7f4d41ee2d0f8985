"""The reading half: from a person's image to the digits in it, with NumPy and Pillow alone.

One module per step, in the order an image flows through them: ``decode`` (file or array to grey),
``ink`` (the ground removed, strokes bright), ``segmentation`` (which pieces of ink are digits),
``normalize`` (each digit as an MNIST-like 28x28 input), ``model_file`` and ``inference`` (the
``.keras`` file read safely and run in NumPy), ``recognition`` (the API: ``recognize``), and
``command`` (the ``recognize.py`` command line). Nothing here imports TensorFlow or matplotlib
unless a model needs the Keras fallback or ``--save-input`` draws a chart.
"""
