"""The FastAPI application: the draw-a-digit page and the HTTP API over ``recognition.recognize``.

``POST /api/recognize`` answers with the object ``recognize.py --json`` prints for the same image
(``Reading.as_json()``), whether the image comes as the multipart field ``image`` (``path`` is then
the upload's file name) or as the raw request body (``path`` is null):

    $ curl -s -F image=@docs/number_2024.jpg http://127.0.0.1:8000/api/recognize
    {"path": "number_2024.jpg", "model": "models/mnist_cnn.keras", "prediction": "2024", ...}

A client's mistake is answered, never raised: an unreadable image is 400 with ``{"error": ...}``
(the message ``decode`` gives), a body over ``MAX_BODY_BYTES`` is 413, checked from Content-Length
and again while the body streams in, so that no more than that is ever held. Recognition is
CPU-bound NumPy, so it runs in worker threads and the event loop keeps serving; at most
``RECOGNITION_THREADS`` images are read at once, which bounds the memory that large images take.
Every response carries ``SECURITY_HEADERS``, among them a Content-Security-Policy that allows only
the app's own files: the page loads nothing from elsewhere and works offline.
"""

import base64
import io
import json
import os

import anyio
import fastapi
import fastapi.exceptions
import fastapi.responses
import fastapi.staticfiles
import numpy as np
import PIL.Image
import starlette.exceptions
import starlette.requests

import number_recognition
from number_recognition.reading import decode
from number_recognition.reading import inference
from number_recognition.reading import recognition

STATIC_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
# No digit photo needs a bigger upload (a 12-megapixel phone JPEG is 3-5 MB); past it the answer is 413.
MAX_BODY_BYTES = 10 * 2**20
# Images read at the same time by one server process: two, so that a large photo does not hold up
# every drawing behind it; more threads only wait for the same interpreter lock and each holds its
# image's arrays (app.py --workers adds processes, which do add cores).
RECOGNITION_THREADS = 2
# A model's record of its MNIST test accuracy (``<model>.json`` beside ``<model>.keras``) is a few
# hundred bytes; a bigger file is not one.
MAX_RECORD_BYTES = 2**20
# The page, its script and styles come from this server only; nothing may frame it or be posted elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # Files are revalidated (cheaply, by ETag), so a new version of the page is never mixed with an old script.
    (b"cache-control", b"no-cache"),
]
RECOGNIZE_DESCRIPTION = """Read the digit, or the number, in an image: the same JSON object as `recognize.py --json`.

Send the image as the multipart field `image` (then `path` is the upload's file name) or as the raw
request body with any content type (then `path` is null). PNG, JPEG, BMP, GIF, TIFF, WebP or
PPM/PGM/PBM, at most 10 MB and 50 megapixels. With `inputs=true` every digit also holds `input`:
the 28x28 image the model saw, row by row, as base64 of 784 bytes (0 background, 255 ink)."""
IMAGE_BODY = {"type": "string", "format": "binary"}
RECOGNIZE_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"image": IMAGE_BODY}, "required": ["image"]}
            },
            "application/octet-stream": {"schema": IMAGE_BODY},
            "image/*": {"schema": IMAGE_BODY},
        },
    }
}
ERROR_SCHEMA = {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}
RECOGNIZE_RESPONSES = {
    200: {"description": "The reading: `prediction` is the digits as a string, or null when there are none"},
    400: {"description": "Not an image this program reads, or a damaged one", "content": ERROR_SCHEMA},
    413: {"description": "The body is over 10 MB", "content": ERROR_SCHEMA},
}


class RequestError(Exception):
    """A client's request that cannot be answered with a reading; ``status`` is the HTTP status to send."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def error_response(status, message, headers=None):
    return fastapi.responses.JSONResponse({"error": message}, status_code=status, headers=headers)


def too_large():
    return RequestError(413, f"the body is more than the {MAX_BODY_BYTES // 2**20} MB a digit image needs")


def limited_request(request):
    """The same request, whose body stops with a 413 ``RequestError`` as soon as it grows past the limit."""
    # The HTTP server has already refused a Content-Length that is not a number.
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > MAX_BODY_BYTES:
        raise too_large()
    received = 0

    async def receive():
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > MAX_BODY_BYTES:
            raise too_large()
        return message

    return starlette.requests.Request(request.scope, receive)


async def read_upload(request):
    """Return ``(file name or None, image bytes)`` from a multipart field ``image`` or the raw body."""
    request = limited_request(request)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return None, await request.body()
    try:
        form = await request.form(max_files=1)
    except starlette.exceptions.HTTPException as error:  # Starlette's message for a malformed form.
        raise RequestError(400, f"the multipart form cannot be read: {error.detail}") from None
    try:
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "the multipart form has no file field named 'image'")
        return upload.filename, await upload.read()
    finally:
        await form.close()


def model_accuracy(model_path):
    """The MNIST test accuracy recorded beside the model, or None.

    The record is ``<model>.json`` next to ``<model>.keras`` with a key ``test_accuracy``, the key
    ``evaluate.py`` writes in ``metrics.json``.
    """
    record_path = os.path.splitext(model_path)[0] + ".json"
    try:
        with open(record_path, "rb") as handle:
            record = json.loads(handle.read(MAX_RECORD_BYTES))
    except (OSError, ValueError):
        return None
    value = record.get("test_accuracy") if isinstance(record, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        return None
    return float(value)


def input_as_base64(image):
    """A 28x28 input in [0, 1] as base64 of its 784 bytes, row by row: compact for the page to draw."""
    return base64.b64encode(np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8).tobytes()).decode("ascii")


def warm_up(predictor):
    """Read one small drawn bar, so that the first person's first stroke does not pay for first calls."""
    image = np.full((140, 140), 255, np.uint8)
    image[30:110, 64:76] = 0
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, "PNG")
    recognition.recognize(buffer.getvalue(), predictor)


class SecurityHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every HTTP response (plain ASGI, cheaper than BaseHTTPMiddleware)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(predictor, model_path):
    """The FastAPI application reading images with ``predictor``, loaded from ``model_path``."""
    app = fastapi.FastAPI(
        title="Number Recognition",
        version=number_recognition.__version__,
        description="Read handwritten digits and numbers in images. The page to draw on is at /.",
        # subtle: FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from a CDN, which breaks
        # the promise of working offline and the Content-Security-Policy; /openapi.json stays.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", fastapi.staticfiles.StaticFiles(directory=STATIC_FOLDER), name="static")
    model_description = {
        "path": model_path,
        "version": number_recognition.__version__,
        "mnist_test_accuracy": model_accuracy(model_path),
        "engine": "numpy" if isinstance(predictor, inference.NumpyModel) else "keras",
    }
    # subtle: the limiter, unlike a lock taken inside the threads, keeps the other requests waiting in
    # the event loop, so only this many threads ever run recognition; each thread that did would
    # keep a malloc arena of its own, and the server's memory would grow with the threads used.
    recognizing = anyio.CapacityLimiter(RECOGNITION_THREADS)

    def read(content, name, with_inputs, single):
        """Recognise one image in a worker thread; return its JSON object."""
        reading = recognition.recognize(content, predictor, single=single)
        reading.path = name
        answer = reading.as_json()
        if with_inputs:
            for digit, digit_json in zip(reading.digits, answer["digits"]):
                digit_json["input"] = input_as_base64(digit.image)
        return answer

    @app.exception_handler(starlette.exceptions.HTTPException)
    async def http_error(request, error):
        return error_response(error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def invalid_request(request, error):
        problems = [f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}" for problem in error.errors()]
        return error_response(400, "; ".join(problems))

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page():
        return fastapi.responses.FileResponse(os.path.join(STATIC_FOLDER, "index.html"))

    @app.post(
        "/api/recognize",
        summary="Read the digits in an image",
        description=RECOGNIZE_DESCRIPTION,
        openapi_extra=RECOGNIZE_OPENAPI,
        responses=RECOGNIZE_RESPONSES,
    )
    async def recognize_image(
        request: fastapi.Request,
        inputs: bool = fastapi.Query(False, description="also give each digit's 28x28 input, as base64"),
        single: bool = fastapi.Query(False, description="read the whole image as one digit, without splitting it"),
    ):
        try:
            name, content = await read_upload(request)
            answer = await anyio.to_thread.run_sync(read, content, name, inputs, single, limiter=recognizing)
        except RequestError as error:
            return error_response(error.status, str(error))
        except decode.ImageError as error:
            return error_response(400, str(error))
        except starlette.requests.ClientDisconnect:
            # The client left mid-upload: nobody reads this answer, and nothing is worth a log line.
            return fastapi.responses.Response(status_code=400)
        return fastapi.responses.JSONResponse(answer)

    @app.get("/api/health", summary="Whether the server is up")
    async def health():
        return {"status": "ok"}

    @app.get("/api/model", summary="The model that reads the digits")
    async def model():
        """The model's file, the program's version, and the model's MNIST test accuracy when it is recorded."""
        return model_description

    return app
