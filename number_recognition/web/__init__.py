"""The reading half as a local web page and HTTP API: draw digits in the browser, or post an image.

``server.create_app(predictor, model_path)`` builds the FastAPI application (the page at ``/``, its
files under ``/static``, and ``/api/recognize``, ``/api/health``, ``/api/model``); ``command`` is the
``app.py`` command line that loads the model once and serves the application with uvicorn. Like the
rest of the reading half, nothing here imports TensorFlow.
"""

import os

# subtle: a server reads many small images at once, one per thread or process, and OpenBLAS's own
# threads for each tiny matrix product then fight those for the cores: bench/web_load.py measured
# 94 requests/s with OpenBLAS's default threads and 286 with one, on 2 cores shared with other jobs.
# NumPy reads this when it is first imported, which for app.py is after this package; a user's own
# setting is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
