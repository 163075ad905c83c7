"""Each CLI command in its own process, forked from one that has already imported mailbridge.

The suite runs mailbridge's CLI thousands of times; each `python -m mailbridge` spends ~0.7 s
starting the interpreter and importing SQLAlchemy, pydantic, python-docx and the models before the
command does anything. A zygote (Android's name for it) imports all that once; for each command it
forks a child that takes the caller's argv, environment, working directory, stdin, stdout and
stderr, runs `mailbridge.cli.main` as `python -m mailbridge` would, and exits: still one process per
command, with its own exit code (negative when killed by a signal, as `subprocess` reports it).

Daemons, kill -9 tests and the installed-wheel test still start real interpreters (`Mailbridge.popen`,
`tests/support/daemon.py`, `tests/test_installed.py`), and so does `Mailbridge.run(fresh=True)`.
Coverage follows the children through `[tool.coverage.run] patch = ["fork", ...]`.
"""
from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Besides the CLI and every command module (cli.LAZY), what the commands import lazily; importing
# them again in a child is then a dictionary lookup.
PRELOAD = ("sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql", "docx", "openpyxl", "jinja2",
           "email.policy", "email.headerregistry", "email.generator", "rich.console", "rich.table")

_SERVER = r"""
import atexit, importlib, json, os, selectors, signal, socket, sys, threading, time, traceback

import mailbridge
import mailbridge.cli
for name in {f"mailbridge.commands.{where.split(':')[0]}" for where, _ in mailbridge.cli.LAZY.values()}:
    importlib.import_module(name)
for name in sys.argv[2].split(","):
    importlib.import_module(name)
MAIN = os.path.join(os.path.dirname(mailbridge.__file__), "__main__.py")

listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(64)
sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ, "accept")
sel.register(sys.stdin, selectors.EVENT_READ, "parent")  # EOF: the test session is over
waiting = {}  # pidfd -> (pid, conn)
print("ready", flush=True)


def exit_code(exc):
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def child(conn, fds, request):
    os.setsid()  # its own process group: a timeout kills it and whatever it started
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in [listener.fileno(), conn.fileno(), *waiting, *(c.fileno() for _, c in waiting.values())]:
        os.close(fd)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.argv = [MAIN, *request["args"]]
    sys.path[0] = os.getcwd()  # as `python -m` sets it
    code = 0
    try:
        mailbridge.cli.main(request["args"])
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:  # what the interpreter does on its way out
        threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def start(conn):
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    while chunk := conn.recv(1 << 16):
        data += chunk
    request = json.loads(data)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        child(conn, fds, request)
    for fd in fds:
        os.close(fd)
    conn.sendall(b"%d\n" % pid)
    pidfd = os.pidfd_open(pid)
    waiting[pidfd] = (pid, conn)
    sel.register(pidfd, selectors.EVENT_READ, "exit")


while True:
    for key, _ in sel.select():
        if key.data == "parent":
            if not os.read(sys.stdin.fileno(), 1 << 10):
                sys.exit(0)
        elif key.data == "accept":
            start(listener.accept()[0])
        else:
            pidfd = key.fd
            sel.unregister(pidfd)
            pid, conn = waiting.pop(pidfd)
            _, status = os.waitpid(pid, 0)
            os.close(pidfd)
            try:
                conn.sendall(b"%d\n" % os.waitstatus_to_exitcode(status))
            except OSError:  # the caller gave up on it (a timeout)
                pass
            conn.close()
"""


class Zygote:
    """One server per test process, started at its first command."""

    _lock = threading.Lock()
    _instance: Zygote | None = None

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="mb-zygote-")
        self.path = str(Path(self._dir) / "sock")
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, self.path, ",".join(PRELOAD)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, cwd=self._dir)
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        if ready != b"ready\n":
            raise RuntimeError(f"the CLI zygote did not start (exit {self.proc.wait()}): {ready!r}")

    @classmethod
    def get(cls) -> Zygote:
        with cls._lock:
            if cls._instance is None or cls._instance.proc.poll() is not None:
                cls._instance = cls()
            return cls._instance

    def run(self, args: list[str], env: dict[str, str], cwd: Path,
            timeout: float) -> subprocess.CompletedProcess[str]:
        """Like subprocess.run(capture_output=True, text=True, encoding="utf-8", timeout=timeout)."""
        request = json.dumps({"args": args, "env": env, "cwd": str(cwd)}).encode()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.path)
            try:
                socket.send_fds(sock, [request[: 1 << 16]], [null, out_w, err_w])
                sock.sendall(request[1 << 16:])
            finally:
                for fd in (null, out_w, err_w):
                    os.close(fd)
            sock.shutdown(socket.SHUT_WR)
            reply = sock.makefile("rb")
            pid = int(reply.readline())
            deadline = time.monotonic() + timeout
            out, err = _read_both(out_r, err_r, deadline)
            sock.settimeout(max(0.0, deadline - time.monotonic()))
            try:
                line = reply.readline() if out is not None else b""
            except TimeoutError:
                line = b""
            if not line:
                _kill(pid)
                raise subprocess.TimeoutExpired(["mailbridge", *args], timeout)
        return subprocess.CompletedProcess(["mailbridge", *args], int(line), out, err)


def _read_both(out_fd: int, err_fd: int, deadline: float) -> tuple[str | None, str]:
    """Both pipes to their ends (None: the deadline came first)."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            sel.register(fd, selectors.EVENT_READ)
        try:
            while sel.get_map():
                ready = sel.select(max(0.0, deadline - time.monotonic()))
                if not ready:
                    return None, ""
                for key, _ in ready:
                    if data := os.read(key.fd, 1 << 16):
                        chunks[key.fd].append(data)
                    else:
                        sel.unregister(key.fd)
        finally:
            os.close(out_fd)
            os.close(err_fd)
    return _text(b"".join(chunks[out_fd])), _text(b"".join(chunks[err_fd]))


def _text(data: bytes) -> str:
    """As subprocess's text mode decodes a pipe (strict UTF-8, universal newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, 9)
    except ProcessLookupError:
        pass
