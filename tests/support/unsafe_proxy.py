"""A TCP proxy before an IMAP server that refuses SELECT without ID, like NetEase 163."""
from __future__ import annotations

import re
import socket
import threading
from types import TracebackType

UNSAFE_LOGIN = b"NO SELECT Unsafe Login. Please contact kefu@188.com for help"
# A line that ends with a literal announcement: {N}, {N+} (LITERAL+) or ~{N} (BINARY).
_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r?\n\Z")
_MAX_LINE = 64 * 1024


class _Conn:
    """One proxied client connection: the two sockets and what the client has said so far."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        # Both pump threads write to the client (relay and our own NO answers).
        self.client_lock = threading.Lock()
        self.logged_in = False
        self.id_after_login = False
        self.threads: list[threading.Thread] = []
        self.running = 2  # pump threads not yet finished
        self._closed = False
        self._close_lock = threading.Lock()

    def send_client(self, data: bytes) -> None:
        with self.client_lock:
            self.client.sendall(data)

    def shutdown(self) -> None:
        """Wake both pump threads; sockets are closed by close()."""
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self.shutdown()
        self.client.close()
        self.upstream.close()


class UnsafeLoginProxy:
    """Pass IMAP through, but answer SELECT/EXAMINE with NetEase's "Unsafe Login" NO unless
    the connection sent ID after LOGIN/AUTHENTICATE."""

    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1",
                 max_connections: int = 32, require_id_after_login: bool = True) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = 0
        self.max_connections = max_connections
        # NetEase wants ID after login; False also accepts an ID sent before LOGIN.
        self.require_id_after_login = require_id_after_login
        self.connections = 0  # accepted client connections
        self.id_seen = 0  # ID commands seen from clients
        self.refused = 0  # SELECT/EXAMINE answered with Unsafe Login
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._conns: set[_Conn] = set()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Listen on a free port (self.port) and start accepting."""
        self._stop.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(16)
        # accept() is not woken by close() from another thread: poll a stop flag instead.
        listener.settimeout(0.1)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept_loop, name="unsafe-proxy-accept",
                                          daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        """Close the listener and every proxied connection, and join all threads."""
        self._stop.set()
        if self._listener is not None:
            # Wakes a blocked accept() at once on Linux; elsewhere the 0.1 s poll does.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._acceptor is not None:
            self._acceptor.join(5)
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.shutdown()
        for conn in conns:
            for t in conn.threads:
                t.join(5)
            conn.close()

    def __enter__(self) -> UnsafeLoginProxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- plumbing ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                full = len(self._conns) >= self.max_connections
            if full:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            conn = _Conn(client, upstream)
            conn.threads = [
                threading.Thread(target=self._relay_upstream, args=(conn,), daemon=True,
                                 name="unsafe-proxy-down"),
                threading.Thread(target=self._pump_client, args=(conn,), daemon=True,
                                 name="unsafe-proxy-up"),
            ]
            with self._lock:
                self._conns.add(conn)
                self.connections += 1
            for t in conn.threads:
                t.start()

    def _finish(self, conn: _Conn) -> None:
        # The first direction to end wakes the other; the last one closes the sockets.
        conn.shutdown()
        with self._lock:
            conn.running -= 1
            last = conn.running == 0
            if last:
                self._conns.discard(conn)
        if last:
            conn.close()

    def _relay_upstream(self, conn: _Conn) -> None:
        """Server to client, byte for byte (greeting and capabilities untouched)."""
        try:
            while True:
                data = conn.upstream.recv(65536)
                if not data:
                    break
                conn.send_client(data)
        except OSError:
            pass
        finally:
            self._finish(conn)

    def _pump_client(self, conn: _Conn) -> None:
        """Client to server, one command line at a time, literals forwarded untouched."""
        buf = bytearray()
        literal = 0  # literal bytes still to pass through
        in_command = False  # the next line continues a command after a literal
        dropping: bytes | None = None  # tag of a command we answer ourselves
        try:
            while True:
                data = conn.client.recv(65536)
                if not data:
                    break
                buf += data
                while buf:
                    if literal:
                        chunk = bytes(buf[:literal])
                        del buf[:literal]
                        literal -= len(chunk)
                        if dropping is None:
                            conn.upstream.sendall(chunk)
                        continue
                    end = buf.find(b"\n")
                    if end < 0:
                        if len(buf) > _MAX_LINE:
                            raise OSError("client line too long")
                        break
                    line = bytes(buf[:end + 1])
                    del buf[:end + 1]
                    if not in_command:
                        dropping = self._inspect(conn, line)
                    m = _LITERAL.search(line)
                    in_command = m is not None
                    if m is not None:
                        literal = int(m.group(1))
                        if dropping is not None and not m.group(2):
                            # A synchronising literal waits for our go-ahead.
                            conn.send_client(b"+ Ready for literal data\r\n")
                    if dropping is None:
                        conn.upstream.sendall(line)
                    elif not in_command:
                        conn.send_client(dropping + b" " + UNSAFE_LOGIN + b"\r\n")
                        dropping = None
        except OSError:
            pass
        finally:
            self._finish(conn)

    def _inspect(self, conn: _Conn, line: bytes) -> bytes | None:
        """Track LOGIN/ID; return the tag if this command must get the Unsafe Login answer."""
        parts = line.split(None, 2)
        if len(parts) < 2:
            return None  # AUTHENTICATE data, IDLE's DONE, blank lines
        tag, command = parts[0], parts[1].upper()
        if command in (b"LOGIN", b"AUTHENTICATE"):
            conn.logged_in = True
        elif command == b"ID":
            with self._lock:
                self.id_seen += 1
            if conn.logged_in or not self.require_id_after_login:
                conn.id_after_login = True
        elif command in (b"SELECT", b"EXAMINE") and not conn.id_after_login:
            with self._lock:
                self.refused += 1
            return tag
        return None
