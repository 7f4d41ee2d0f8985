"""The command line of ``app.py``: load the model once, then serve the page and the API with uvicorn.

It lives in the package, like ``recognize.py``'s, so that an installed copy can offer the same
command from any folder. The listening socket is opened here rather than by uvicorn, so that a port
in use is one line on stderr (exit 2) and ``--port 0`` can print the free port the system chose.
"""

import argparse
import contextlib
import errno
import ipaddress
import os
import signal
import socket
import sys
import traceback

import uvicorn

from number_recognition import cli
from number_recognition import errors
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.web import server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# More server processes than this only share the same cores and multiply the memory.
MAX_WORKERS = 2 * (os.cpu_count() or 1)
# Connections waiting to be accepted, as uvicorn's default.
BACKLOG = 2048
# Ctrl-C lets requests in progress finish for at most this long, then the server stops anyway.
SHUTDOWN_SECONDS = 3


def port_number(text):
    """An argparse type: a TCP port, 0 meaning any free one."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {value}")
    return value


def worker_count(text):
    """An argparse type: 1 to MAX_WORKERS processes, more than one only where processes can fork."""
    value = int(text)
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_WORKERS}, got {value}")
    if value > 1 and not hasattr(os, "fork"):
        raise argparse.ArgumentTypeError("more than one worker needs os.fork, which this system lacks (Windows)")
    return value


def parse_arguments(argv):
    parser = cli.parser("Draw digits in your browser and read them, or post images to the HTTP API.")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="the address to listen on; 0.0.0.0 lets other machines reach the page and the API",
    )
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="the port; 0 picks a free one")
    parser.add_argument(
        "--model", metavar="PATH", default=None, help=f"the .keras model (default: {model_file.MODEL_ORDER})"
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="N",
        help="server processes, sharing the loaded model; one per core serves the most concurrent API clients",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request on stderr")
    return parser.parse_args(argv)


def listen(host, port):
    """A TCP socket bound to ``host`` and ``port``; ``UserError`` when this machine cannot listen there."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise errors.UserError(
            f"--host {host} is not an address this machine can listen on ({error.strerror})"
        ) from None
    listener = socket.socket(family, kind, protocol)
    # A server restarted at once may reuse its port while the old connections linger in TIME_WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        advice = ": another program is using it; choose another with --port" if error.errno == errno.EADDRINUSE else ""
        raise errors.UserError(f"cannot listen on {host} port {port} ({error.strerror}){advice}") from None
    # subtle: listening now, not when uvicorn starts, means a client that read the printed URL is queued, not refused.
    listener.listen(BACKLOG)
    return listener


def url(host, port):
    """The address to open in a browser on this machine."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}/"
    if address.is_unspecified:
        # 0.0.0.0 or :: listens everywhere, and this machine reaches itself at the loopback address.
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"http://[{address}]:{port}/" if address.version == 6 else f"http://{address}:{port}/"


def run_worker(uvicorn_server, listener):
    """Serve in a forked child until told to stop, then leave without running the parent's clean-up."""
    # subtle: uvicorn catches both signals while it serves and raises the one that stopped it once
    # more when it is done; ignored here, that ends the child quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_code = 0
    try:
        uvicorn_server.run(sockets=[listener])
    except BaseException:
        traceback.print_exc()
        exit_code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def serve(uvicorn_server, listener, workers, children):
    """Serve in this process, or in ``workers`` processes forked after the model is loaded.

    Recognition holds Python's lock for most of its time, so one process uses about one core; forked
    workers share the loaded model's memory and the listening socket, and the system hands each new
    connection to whichever accepts it first. Their process ids are added to ``children``.
    """
    if workers == 1:
        uvicorn_server.run(sockets=[listener])
        return
    for _ in range(workers):
        child = os.fork()
        if child == 0:
            run_worker(uvicorn_server, listener)
        children.add(child)
    try:
        # A worker ends on its own only when a signal told it to stop (exit 0), or when it failed.
        child, status = os.wait()
        children.discard(child)
        exit_code = os.waitstatus_to_exitcode(status)
        if exit_code != 0:
            raise errors.UserError(f"a worker process stopped unexpectedly (exit status {exit_code})")
    finally:
        stop_workers(children)
        for child in children:
            os.waitpid(child, 0)


def stop_workers(children):
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGTERM)


def run(arguments):
    model_path = arguments.model or model_file.default_model_path()
    predictor = inference.load_predictor(model_path)
    if predictor.path == model_file.BUNDLED_MODEL:
        print(model_file.BUNDLED_NOTICE, file=sys.stderr)
    server.warm_up(predictor)
    listener = listen(arguments.host, arguments.port)
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(
            server.create_app(predictor, model_path),
            # Uvicorn's own start and stop messages are left out unless every request is logged anyway.
            log_level="info" if arguments.access_log else "warning",
            access_log=arguments.access_log,
            timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        )
    )
    children = set()

    def stop(signal_number, frame):
        uvicorn_server.should_exit = True
        stop_workers(children)

    # subtle: uvicorn catches Ctrl-C and SIGTERM itself while it serves, stops gracefully, then
    # raises the signal once more. From here on both only ask the server and its workers to stop, so
    # neither that second signal nor one that comes before uvicorn is ready ends in a traceback.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    port = listener.getsockname()[1]
    print(f"reading digits with {model_path} at {url(arguments.host, port)} (Ctrl-C stops)", flush=True)
    if not ipaddress.ip_address(listener.getsockname()[0]).is_loopback:
        print(f"listening on {arguments.host}: anyone who can reach this machine can use the page", file=sys.stderr)
    serve(uvicorn_server, listener, arguments.workers, children)
    print("stopped", file=sys.stderr)


def main(argv=None):
    arguments = parse_arguments(argv)
    with cli.reporting_errors():
        run(arguments)
