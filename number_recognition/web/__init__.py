"""The reading half as a local web page and HTTP API: draw digits in the browser, or post an image.

``server.create_app(predictor, model_path)`` builds the FastAPI application (the page at ``/``, its
files under ``/static``, and ``/api/recognize``, ``/api/health``, ``/api/model``); ``command`` is the
``app.py`` command line that loads the model once and serves the application with uvicorn. Like the
rest of the reading half, nothing here imports TensorFlow.
"""

# subtle: imported first, so that its OpenBLAS setting (one thread: a server reads many small images at
# once, and bench/web_load.py measured 94 requests/s with OpenBLAS's default threads and 286 with
# one, on 2 cores) is made before anything imports NumPy.
from number_recognition import reading  # noqa: F401
