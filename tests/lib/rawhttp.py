"""One HTTP/1.1 exchange over a raw socket, for tests that need what http.client will not send:
a body without Content-Length, invalid UTF-8, or a body larger than the server accepts (the
server may answer and close before the body is sent; the answer is still read).

Standard library only."""

import http.client
import socket
import threading


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value) in arrival order
        self.body = body  # bytes

    def header(self, name):
        """All values of `name` joined with ', ' (RFC 9110 §5.3), or None."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None


def exchange(port, method, target, headers=(), body=None, frame=True, timeout=30):
    """Sends one request to 127.0.0.1:port and returns a RawResponse.

    `headers` is a list of (name, value); Host is added unless given, and Content-Length is
    added for a body when `frame` is true. The body is sent from a second thread so that an
    early answer (413, 411) is read even when the server stops reading the body."""
    head = [f"{method} {target} HTTP/1.1"]
    names = {k.lower() for k, _ in headers}
    if "host" not in names:
        head.append(f"Host: 127.0.0.1:{port}")
    head += [f"{k}: {v}" for k, v in headers]
    if body is not None and frame and "content-length" not in names:
        head.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(data)
        sender = None
        if body:
            def send():
                try:
                    sock.sendall(body)
                except OSError:
                    pass  # the server answered early and closed; the answer is read below

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        payload = resp.read()
        result = RawResponse(resp.status, resp.getheaders(), payload)
        if sender:
            sock.shutdown(socket.SHUT_RDWR)
            sender.join(timeout)
        return result
    finally:
        sock.close()
