"""The web API under load: concurrent clients posting single-digit PNGs to a local app.py, against plain recognition.

The bench starts ``python app.py --port 0`` itself (or uses ``--url``, which must be on this machine's
loopback: it never sends load anywhere else), makes single-digit PNGs from MNIST test digits (28x28
as in MNIST, or enlarged with ``--size 140`` to the height of the pad pictures the page sends), and then

- the baseline: the same images read one after another by ``recognition.recognize`` in a fresh
  process without HTTP (with the server's BLAS setting), which gives images/s, latency and CPU time;
- a warm-up of ``--warmup`` requests, then the server's memory: the proportional set size (Pss) of
  its processes, which counts the pages that forked workers still share with their parent once.
  Each worker un-shares pages as it first runs (Python writes reference counts into every object
  it touches), so over its first few hundred requests its memory climbs by some MB and then stays;
  the warm-up leaves that out of the growth measured below;
- ``--requests`` POSTs of the raw PNG bytes from ``--clients`` concurrent keep-alive connections,
  each sending its next request when its answer arrives, so that at most that many are in flight;
- the server's memory again, its CPU time per request (less noisy than requests/s when other
  jobs share the cores) against the baseline's per image, and whether every answer was 200 with
  the same number as the baseline read.

It prints one JSON line per measurement, the ratio against the baseline, the machine's load average
(the cores may be shared), and whether the targets hold: at least ``RPS_TARGET`` requests/s with 16
clients, p95 latency under ``P95_TARGET_MS``, and less than ``GROWTH_TARGET_MB`` of memory growth.
"""

import asyncio
import ipaddress
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import numpy as np
import PIL.Image

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition.reading import model_file

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
APP_SCRIPT = PROJECT_ROOT / "app.py"
RPS_TARGET = 300
P95_TARGET_MS = 100
GROWTH_TARGET_MB = 20

# The baseline, run with ``python -c BASELINE_SCRIPT MODEL PNG...``: recognition alone, one image
# after another, as a program calling the Python API would; prints each prediction and the timings.
BASELINE_SCRIPT = """
import json, sys, time
from number_recognition.reading import inference, recognition

predictor = inference.load_predictor(sys.argv[1])
contents = [open(path, "rb").read() for path in sys.argv[2:]]
recognition.recognize(contents[0], predictor)
predictions, seconds = [], []
cpu_start = time.process_time()
for content in contents:
    start = time.perf_counter()
    predictions.append(recognition.recognize(content, predictor).prediction)
    seconds.append(time.perf_counter() - start)
cpu_seconds = time.process_time() - cpu_start
print(json.dumps({"predictions": predictions, "seconds": seconds, "cpu_seconds": cpu_seconds}))
"""


def parse_arguments(argv):
    parser = cli.parser(__doc__.split("\n\n")[0])
    cli.add_data_argument(parser)
    parser.add_argument(
        "--model", metavar="PATH", default=None, help=f"the .keras model to serve (default: {model_file.MODEL_ORDER})"
    )
    parser.add_argument(
        "--url", default=None, help="a server already running on this machine (loopback only); default: start app.py"
    )
    parser.add_argument("--requests", type=int, default=5000, metavar="N", help="requests in the timed run")
    parser.add_argument("--clients", type=int, default=16, metavar="N", help="concurrent connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="server processes (app.py --workers) when the bench starts the server: one per core",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1000,
        metavar="N",
        help="requests before the first memory reading, past the workers' start-up growth",
    )
    parser.add_argument("--images", type=int, default=500, metavar="N", help="distinct MNIST test digits, cycled")
    parser.add_argument(
        "--size",
        type=int,
        default=28,
        metavar="N",
        help="side of the PNGs in pixels: 28 as MNIST, 140 as tall as the page sends its pad",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        metavar="T",
        help="OPENBLAS_NUM_THREADS for the server and the baseline (app.py uses 1 unless the environment sets it)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=os.path.join(config.OUTPUT_DIR, "web_load"),
        help="folder for the PNG digits and the server's log",
    )
    arguments = parser.parse_args(argv)
    counts = (
        arguments.requests,
        arguments.clients,
        arguments.workers,
        arguments.warmup,
        arguments.images,
        arguments.size,
    )
    if min(counts + (arguments.blas_threads,)) < 1:
        parser.error(
            "--requests, --clients, --workers, --warmup, --images, --size and --blas-threads must be at least 1"
        )
    return arguments


def loopback_address(url):
    """``(host, port)`` of an http URL, refused unless every address the host names is a loopback one."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        cli.fail(f"--url must be an http:// URL, got {url}")
    port = parts.port or 80
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except socket.gaierror as error:
        cli.fail(f"cannot resolve {parts.hostname} ({error.strerror})")
    if not all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses):
        cli.fail(f"--url must point at this machine's loopback (127.0.0.1, ::1, localhost), got {parts.hostname}")
    return parts.hostname, port


def write_digits(x_test, count, size, folder):
    """Save ``count`` test digits as dark-on-white PNGs of ``size`` pixels; return their paths and bytes."""
    os.makedirs(folder, exist_ok=True)
    paths, contents = [], []
    for index, image in enumerate(x_test[:count]):
        picture = PIL.Image.fromarray(255 - image)
        if size != config.IMAGE_SIZE:
            picture = picture.resize((size, size), PIL.Image.BILINEAR)
        path = os.path.join(folder, f"digit_{size}px_{index:05d}.png")
        picture.save(path)
        paths.append(path)
        with open(path, "rb") as handle:
            contents.append(handle.read())
    return paths, contents


def server_processes(pid):
    """The server's process and its worker processes (``--workers``), from /proc (Linux)."""
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [pid] + [int(child) for child in handle.read().split()]


def resident_mb(pid):
    """The resident memory of the server's processes together, in MB.

    Forked workers share the pages they have not written since the fork, which each one's VmRSS
    counts again; the proportional set size (Pss) counts every page once, split among its sharers.
    """
    total = 0
    for process in server_processes(pid):
        with open(f"/proc/{process}/smaps_rollup") as handle:
            total += sum(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
    return total / 1024


def cpu_seconds(pid):
    """The CPU time (user and system) of the server's processes so far: less noisy than wall time on shared cores."""
    total = 0
    for process in server_processes(pid):
        with open(f"/proc/{process}/stat") as handle:
            # The fields after the command name, which is in parentheses and may hold spaces.
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def start_server(model, workers, environment, log_path):
    """Start app.py on a free port; return the process and its (host, port)."""
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, str(APP_SCRIPT), "--port", "0", "--model", model, "--workers", str(workers)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    line = process.stdout.readline()
    match = re.search(r"http://([\d.]+):(\d+)/", line)
    if match is None:
        process.kill()
        cli.fail(f"app.py did not start (it said {line!r}); see {log_path}", 1)
    return process, (match.group(1), int(match.group(2)))


def stop_server(process, log_path):
    """Stop the server as Ctrl-C would; return its exit code and whether its log holds a traceback."""
    process.send_signal(signal.SIGINT)
    exit_code = process.wait(timeout=30)
    process.stdout.close()
    with open(log_path, errors="replace") as handle:
        return exit_code, "Traceback" in handle.read()


async def post_all(address, contents, total, clients):
    """Send ``total`` requests from ``clients`` connections.

    Returns the latencies (seconds), the predictions by request index, the statuses other than 200,
    and the wall seconds of the whole run.
    """
    host, port = address
    requests = [
        f"POST /api/recognize HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(content)}\r\n\r\n".encode()
        + content
        for content in contents
    ]
    latencies, predictions, failures = [], {}, []
    next_request = 0

    async def client():
        nonlocal next_request
        reader, writer = await asyncio.open_connection(host, port)
        while next_request < total:
            index = next_request
            next_request += 1
            start = time.perf_counter()
            writer.write(requests[index % len(requests)])
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                failures.append(status)
            else:
                predictions[index] = json.loads(body)["prediction"]
        writer.close()
        await writer.wait_closed()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, predictions, failures, time.perf_counter() - start


def summary(seconds_each):
    milliseconds = 1000 * np.array(seconds_each)
    return {
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 2),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 2),
    }


def measure_baseline(model, paths, environment):
    """Read the images one after another in a fresh process, without HTTP; return its JSON line."""
    report = subprocess.run(
        [sys.executable, "-c", BASELINE_SCRIPT, model, *paths],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(report.stdout)


def measure_server(arguments, model, contents, environment):
    """Load the server with the images; return its figures and the predictions by request index."""
    process, address, log_path = None, None, os.path.join(arguments.out, "server.log")
    if arguments.url:
        address = loopback_address(arguments.url)
    else:
        process, address = start_server(model, arguments.workers, environment, log_path)
    try:
        asyncio.run(post_all(address, contents, arguments.warmup, arguments.clients))
        before = resident_mb(process.pid) if process else None
        server_cpu = cpu_seconds(process.pid) if process else None
        client_cpu = time.process_time()
        latencies, predictions, failures, seconds = asyncio.run(
            post_all(address, contents, arguments.requests, arguments.clients)
        )
        client_cpu = time.process_time() - client_cpu
        if process:
            after = resident_mb(process.pid)
            server_cpu = cpu_seconds(process.pid) - server_cpu
    finally:
        stopped = stop_server(process, log_path) if process else None
    result = {
        "measure": f"POST /api/recognize, {arguments.clients} clients, "
        + (f"the server at {arguments.url}" if arguments.url else f"{arguments.workers} server processes"),
        "requests": arguments.requests,
        "requests_per_second": round(arguments.requests / seconds, 1),
        **summary(latencies),
        "client_cpu_ms_per_request": round(1000 * client_cpu / arguments.requests, 2),
        "non_200": len(failures),
    }
    if process:
        result.update(
            {
                "server_cpu_ms_per_request": round(1000 * server_cpu / arguments.requests, 2),
                "memory_before_mb": round(before, 1),
                "memory_after_mb": round(after, 1),
                "memory_growth_mb": round(after - before, 1),
                "server_exit_code": stopped[0],
                "traceback_in_server_log": stopped[1],
            }
        )
    return result, predictions


def main(argv=None):
    arguments = parse_arguments(argv)
    with cli.reporting_errors():
        model = arguments.model or model_file.default_model_path()
        model_file.check_model_file(model)
        if arguments.url:
            loopback_address(arguments.url)
        _, (x_test, _) = data.load_mnist(arguments.data)
        paths, contents = write_digits(x_test, arguments.images, arguments.size, arguments.out)
        environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(arguments.blas_threads))
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")]))

        baseline = measure_baseline(model, paths, environment)
        baseline_rate = len(paths) / sum(baseline["seconds"])
        baseline_line = {
            "measure": "recognize() in one process, one image after another, no HTTP",
            "images": len(paths),
            "size": arguments.size,
            "images_per_second": round(baseline_rate, 1),
            **summary(baseline["seconds"]),
            "cpu_ms_per_image": round(1000 * baseline["cpu_seconds"] / len(paths), 2),
        }
        print(json.dumps(baseline_line), flush=True)

        result, predictions = measure_server(arguments, model, contents, environment)
        result["answers_differing_from_baseline"] = sum(
            prediction != baseline["predictions"][index % len(contents)] for index, prediction in predictions.items()
        )
        print(json.dumps(result), flush=True)
        ratios = {"http_rate_over_in_process_rate": round(result["requests_per_second"] / baseline_rate, 2)}
        if "server_cpu_ms_per_request" in result:
            ratios["server_cpu_over_in_process_cpu"] = round(
                result["server_cpu_ms_per_request"] / baseline_line["cpu_ms_per_image"], 2
            )
        print(json.dumps(ratios))
        load = [round(value, 2) for value in os.getloadavg()]
        print(json.dumps({"load_average_1_5_15_min": load, "cores": os.cpu_count()}))
        targets = {
            f"at_least_{RPS_TARGET}_requests_per_second": result["requests_per_second"] >= RPS_TARGET,
            f"p95_under_{P95_TARGET_MS}_ms": result["p95_ms"] < P95_TARGET_MS,
            "every_answer_right": result["non_200"] == 0 and result["answers_differing_from_baseline"] == 0,
        }
        if "memory_growth_mb" in result:
            targets[f"memory_growth_under_{GROWTH_TARGET_MB}_mb"] = result["memory_growth_mb"] < GROWTH_TARGET_MB
        print(json.dumps({"targets_met": targets}))


if __name__ == "__main__":
    main()
