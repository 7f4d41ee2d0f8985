"""The web API through FastAPI's test client, and app.py as a real server: answers, limits, headers, errors."""

import base64
import concurrent.futures
import html.parser
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys

import fastapi.testclient
import numpy as np
import PIL.Image
import PIL.ImageDraw
import pytest
import web_load

import app
import recognize
from number_recognition.reading import decode
from number_recognition.reading import inference
from number_recognition.reading import recognition
from number_recognition.web import command
from number_recognition.web import server

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBER_PHOTO = os.path.join(PROJECT_ROOT, "docs", "number_2024.jpg")
SEVEN_PHOTO = os.path.join(PROJECT_ROOT, "docs", "seven_photo.jpg")


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def drawing(strokes, size=(280, 280), width=18):
    """A pad-like drawing: black strokes (lists of points) on white, as the page sends it."""
    image = PIL.Image.new("L", size, 255)
    pen = PIL.ImageDraw.Draw(image)
    for points in strokes:
        pen.line(points, fill=0, width=width, joint="curve")
    return png(image)


SEVEN = drawing([[(60, 50), (220, 50), (120, 240)]])
ONE_TWO = drawing(
    [[(90, 40), (80, 240)], [(150, 80), (190, 40), (250, 50), (260, 110), (150, 240), (270, 240)]], size=(320, 280)
)


@pytest.fixture(scope="module")
def predictor(small_model):
    return inference.load_predictor(small_model)


@pytest.fixture(scope="module")
def client(small_model, predictor):
    with fastapi.testclient.TestClient(server.create_app(predictor, small_model)) as test_client:
        yield test_client


def post_file(client, content, name="digit.png", query=""):
    return client.post(f"/api/recognize{query}", files={"image": (name, content, "application/octet-stream")})


def image_error(content):
    """The message ``decode`` gives for ``content``, which the API must pass on."""
    with pytest.raises(decode.ImageError) as raised:
        decode.open_image(content)
    return str(raised.value)


def test_answer_is_the_recognize_json_object_for_an_upload_and_a_raw_body(client, small_model, capsys):
    recognize.main([NUMBER_PHOTO, "--model", small_model, "--json"])
    expected = json.loads(capsys.readouterr().out)
    with open(NUMBER_PHOTO, "rb") as handle:
        content = handle.read()
    uploaded = post_file(client, content, name="number_2024.jpg")
    assert uploaded.status_code == 200
    assert uploaded.json() == {**expected, "path": "number_2024.jpg"}
    raw = client.post("/api/recognize", content=content, headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200 and raw.json() == {**expected, "path": None}
    assert len(expected["digits"]) == 4


def test_inputs_are_the_28x28_images_the_model_saw(client, predictor):
    answer = post_file(client, ONE_TWO, query="?inputs=true").json()
    reading = recognition.recognize(ONE_TWO, predictor)
    assert len(answer["digits"]) == len(reading.digits) == 2
    for digit_json, digit in zip(answer["digits"], reading.digits):
        levels = np.frombuffer(base64.b64decode(digit_json.pop("input")), np.uint8).reshape(28, 28)
        assert np.array_equal(levels, np.round(digit.image * 255).astype(np.uint8))
        assert levels.max() > 200, "the input holds the digit's strokes"
    assert answer == {**reading.as_json(), "path": "digit.png"}
    assert "input" not in json.dumps(post_file(client, ONE_TWO).json())


def test_single_reads_the_whole_image_as_one_digit(client):
    assert len(post_file(client, ONE_TWO, query="?single=true").json()["digits"]) == 1


def test_an_image_without_digits_has_a_null_prediction(client):
    answer = post_file(client, png(PIL.Image.new("RGBA", (280, 280)))).json()
    assert answer["prediction"] is None and answer["digits"] == [] and answer["confidence"] is None


def truncated_png():
    return SEVEN[: len(SEVEN) // 2]


def bomb_png():
    # 8000 x 8000 one-bit pixels compress to a few kilobytes but are 64 megapixels.
    return png(PIL.Image.new("1", (8000, 8000)))


@pytest.mark.parametrize(
    "content", [b"", b"hello, not an image", truncated_png(), bomb_png()], ids=["empty", "text", "truncated", "bomb"]
)
def test_an_unreadable_body_is_400_with_the_decode_message(client, content):
    for response in (post_file(client, content), client.post("/api/recognize", content=content)):
        assert response.status_code == 400
        assert response.json() == {"error": image_error(content)}
    assert post_file(client, SEVEN).status_code == 200, "the server keeps serving"


def test_the_bomb_is_refused_for_its_size(client):
    assert "megapixels" in post_file(client, bomb_png()).json()["error"]


def test_a_body_over_10_mb_is_413(client):
    content = b"\x89PNG\r\n\x1a\n" + bytes(server.MAX_BODY_BYTES)
    for response in (client.post("/api/recognize", content=content), post_file(client, content)):
        assert response.status_code == 413
        assert "10 MB" in response.json()["error"]
    assert client.post("/api/recognize", content=SEVEN).status_code == 200


@pytest.mark.parametrize(
    "files, message",
    [
        ({"picture": ("a.png", SEVEN)}, "no file field named 'image'"),
        ([("image", ("a.png", SEVEN)), ("image", ("b.png", SEVEN))], "Too many files"),
    ],
    ids=["no image field", "two files"],
)
def test_a_wrong_form_is_400(client, files, message):
    response = client.post("/api/recognize", files=files)
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_text_field_named_image_is_not_a_file(client):
    response = client.post("/api/recognize", data={"image": "digit.png"}, files={"other": ("a.png", SEVEN)})
    assert response.status_code == 400 and "no file field named 'image'" in response.json()["error"]


def test_bad_query_and_method_and_path_are_json_errors(client):
    response = client.post("/api/recognize?inputs=maybe", content=SEVEN)
    assert response.status_code == 400 and "inputs" in response.json()["error"]
    assert client.get("/api/recognize").status_code == 405
    assert client.get("/nowhere").json() == {"error": "Not Found"}


def test_health_model_and_openapi(client, small_model, predictor):
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/model").json() == {
        "path": small_model,
        "version": server.number_recognition.__version__,
        "mnist_test_accuracy": None,
        "engine": "numpy",
    }
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/recognize"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(body)
    # FastAPI's documentation pages load Swagger UI and ReDoc from a CDN, so they are switched off.
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"test_accuracy": 0.9951}, 0.9951),
        ({"test_accuracy": "high"}, None),
        ({"test_accuracy": 7}, None),
        ({"test_accuracy": True}, None),
        ([0.99], None),
        ("not json{", None),
        (None, None),
    ],
    ids=["recorded", "text", "out of range", "boolean", "list", "broken", "missing"],
)
def test_model_accuracy_comes_from_a_record_beside_the_model(tmp_path, record, expected):
    model_path = tmp_path / "model.keras"
    if record is not None:
        text = record if isinstance(record, str) else json.dumps(record)
        (tmp_path / "model.json").write_text(text)
    assert server.model_accuracy(str(model_path)) == expected


class PageParts(html.parser.HTMLParser):
    """The page's ids, scripts, styles and links, to check what it loads."""

    def __init__(self):
        super().__init__()
        self.ids, self.scripts, self.inline_styles, self.links = set(), [], 0, []

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        self.ids.add(attributes.get("id"))
        self.inline_styles += "style" in attributes or tag == "style"
        if tag == "script":
            self.scripts.append(attributes.get("src"))
        self.links += [attributes[name] for name in ("href", "src") if name in attributes]


def test_the_page_loads_only_its_own_files_under_a_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    parts = PageParts()
    parts.feed(response.text)
    assert {"pad", "prediction", "clear", "file", "digits", "status"} <= parts.ids
    assert parts.scripts == ["/static/app.js"], "one script, from a file: the policy allows no inline script"
    assert parts.inline_styles == 0
    for link in parts.links:
        assert link.startswith("/") and not link.startswith("//"), link
        assert client.get(link).status_code == 200, link
    for name in os.listdir(server.STATIC_FOLDER):
        with open(os.path.join(server.STATIC_FOLDER, name), encoding="utf-8") as handle:
            text = handle.read()
        # Only the SVG's XML namespace is a URL, and it names the format rather than loading anything.
        assert re.findall(r"https?://|//cdn", text.replace("http://www.w3.org/2000/svg", "")) == [], name


def test_every_response_carries_the_security_headers(client):
    responses = [
        client.get("/"),
        client.head("/"),
        client.get("/static/app.js"),
        client.get("/api/health"),
        client.get("/nowhere"),
        client.post("/api/recognize", content=b"nope"),
        client.post("/api/recognize", content=bytes(server.MAX_BODY_BYTES + 1)),
        post_file(client, SEVEN),
    ]
    for response in responses:
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"


def test_concurrent_requests_get_the_answers_of_sequential_ones(client):
    images = [SEVEN, ONE_TWO, drawing([[(140, 40), (140, 240)]]), drawing([[(60, 60), (220, 60), (60, 240)]])] * 4
    sequential = [post_file(client, image).json() for image in images]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        concurrent_answers = list(pool.map(lambda image: post_file(client, image).json(), images))
    assert concurrent_answers == sequential


def test_the_app_never_imports_tensorflow_keras_or_matplotlib(small_model):
    script = (
        "import sys, fastapi.testclient, app\n"
        "from number_recognition.reading import inference\n"
        "from number_recognition.web import server\n"
        f"predictor = inference.load_predictor({small_model!r})\n"
        "server.warm_up(predictor)\n"
        f"client = fastapi.testclient.TestClient(server.create_app(predictor, {small_model!r}))\n"
        "assert client.get('/').status_code == 200\n"
        "loaded = sorted(name for name in ('keras', 'tensorflow', 'matplotlib') if name in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, check=True)


def test_url_is_the_address_to_open_here():
    assert command.url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert command.url("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert command.url("::", 8000) == "http://[::1]:8000/"
    assert command.url("localhost", 8001) == "http://localhost:8001/"


def test_a_port_in_use_and_a_missing_model_are_one_line_errors(small_model, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as raised:
            app.main(["--model", small_model, "--port", str(taken.getsockname()[1])])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: cannot listen on 127.0.0.1 port") and error.count("\n") == 1
    with pytest.raises(SystemExit) as raised:
        app.main(["--model", str(tmp_path / "none.keras"), "--port", "0"])
    assert raised.value.code == 2 and capsys.readouterr().err.startswith("error: no model at")


def start_app(model, *flags):
    """Start ``python app.py`` on a free port; return the process and the (host, port) it printed."""
    process = subprocess.Popen(
        [sys.executable, "app.py", "--model", model, "--port", "0", *flags],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    match = re.fullmatch(
        rf"reading digits with {re.escape(model)} at http://127\.0\.0\.1:(\d+)/ \(Ctrl-C stops\)\n", line
    )
    assert match, line
    return process, ("127.0.0.1", int(match.group(1)))


def http(address, request, timeout=30):
    """Send raw bytes over one connection; return everything the server answers until it closes."""
    with socket.create_connection(address, timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def post(address, content):
    head = f"POST /api/recognize HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(content)}\r\n\r\n"
    status, _, body = http(address, head.encode() + content).partition(b"\r\n\r\n")
    return int(status.split()[1]), body


@pytest.mark.parametrize("workers", [1, 2])
def test_the_server_survives_hostile_clients_and_stops_cleanly_on_ctrl_c(small_model, workers):
    process, address = start_app(small_model, "--workers", str(workers))
    try:
        assert post(address, SEVEN)[0] == 200
        # A chunked body that never ends is refused once it passes 10 MB, before the client is done.
        with socket.create_connection(address, timeout=30) as connection:
            connection.sendall(b"POST /api/recognize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n" % 2**20 + bytes(2**20) + b"\r\n"
            try:
                for _ in range(server.MAX_BODY_BYTES // 2**20 + 2):
                    connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert connection.recv(100).startswith(b"HTTP/1.1 413 ")
        # A declared length over the limit is refused before any of the body is sent.
        declared = b"POST /api/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 11000000\r\n\r\n"
        with socket.create_connection(address, timeout=30) as connection:
            connection.sendall(declared)
            assert connection.recv(100).startswith(b"HTTP/1.1 413 ")
        # Not HTTP at all, and a client that leaves in the middle of its upload.
        assert http(address, b"\x16\x03\x01 not http\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        with socket.create_connection(address, timeout=30) as connection:
            connection.sendall(b"POST /api/recognize HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + SEVEN[:100])
        status, body = post(address, b"GIF89a broken")
        assert status == 400 and json.loads(body)["error"].startswith("the file starts like a GIF image")
        status, body = post(address, SEVEN)
        assert status == 200 and json.loads(body)["path"] is None, "the server keeps serving"
    finally:
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=30)
    assert process.returncode == 0 and output == ""
    assert errors.endswith("stopped\n") and "Traceback" not in errors, errors
    # Uvicorn's one-line warning about the bytes that were not HTTP is the only other line.
    assert set(errors.splitlines()[:-1]) <= {"WARNING:  Invalid HTTP request received."}, errors


def test_a_photo_reads_as_with_recognize_py_through_the_real_server(small_model, capsys):
    process, address = start_app(small_model)
    try:
        with open(SEVEN_PHOTO, "rb") as handle:
            status, body = post(address, handle.read())
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    recognize.main([SEVEN_PHOTO, "--model", small_model, "--json"])
    assert status == 200 and json.loads(body) == {**json.loads(capsys.readouterr().out), "path": None}
    assert process.returncode == 0


def test_the_load_bench_measures_the_server_against_plain_recognition(tiny_npz, small_model, tmp_path, capsys):
    arguments = ["--data", tiny_npz, "--model", small_model, "--out", str(tmp_path), "--images", "10"]
    web_load.main(arguments + ["--requests", "60", "--clients", "4", "--warmup", "20", "--workers", "2"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    baseline, served, ratios, load, targets = lines
    assert baseline["images"] == 10 and baseline["images_per_second"] > 0 and baseline["cpu_ms_per_image"] > 0
    assert served["requests"] == 60 and served["non_200"] == 0 and served["answers_differing_from_baseline"] == 0
    assert served["memory_after_mb"] > 0 and served["server_exit_code"] == 0 and not served["traceback_in_server_log"]
    assert ratios["http_rate_over_in_process_rate"] > 0 and load["cores"] >= 1
    assert targets["targets_met"]["every_answer_right"]
