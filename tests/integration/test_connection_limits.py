"""Connection exhaustion (issue 14): idle sockets must not lock other clients out. One client
address opens more connections than its limit and sends nothing; the ones beyond the limit are
answered 503 and closed at once, another address is still served (/health and an entity read),
and the idle ones are closed after the header timeout, giving their slots back.

The crowd connects from 127.0.0.2, the other client from 127.0.0.1: both are loopback.

Run: python3 -m unittest tests/integration/test_connection_limits.py"""

import os
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

PER_CLIENT = 200
HEADER_TIMEOUT_S = 2


def connect_from(address, port):
    s = socket.socket()
    s.bind((address, 0))
    s.connect(("127.0.0.1", port))
    return s


def wait_readable(s, seconds):
    return bool(select.select([s], [], [], seconds)[0])


class ConnectionLimits(unittest.TestCase):
    def test_idle_crowd_from_one_address(self):
        with Server(args=["--max-connections-per-client", str(PER_CLIENT),
                          "--header-timeout-s", str(HEADER_TIMEOUT_S)]) as server:
            crowd = []
            try:
                for _ in range(PER_CLIENT + 50):
                    crowd.append(connect_from("127.0.0.2", server.port))
                # Which ones are over the limit depends on the order the event loops accept
                # them in: 50 are answered 503 and closed, the others wait for their request.
                time.sleep(0.5)
                admitted = []
                refused = 0
                for s in crowd:
                    if not wait_readable(s, 0):
                        admitted.append(s)
                        continue
                    answer = s.recv(65536)
                    self.assertTrue(answer.startswith(b"HTTP/1.1 503"), answer[:200])
                    self.assertIn(b"limit for one address", answer)
                    refused += 1
                self.assertEqual(refused, 50)
                self.assertEqual(len(admitted), PER_CLIENT)
                # Another address is served meanwhile.
                self.assertEqual(server.get("/health").status, 200)
                r = server.get("/ngsi-ld/v1/entities?type=Thing")
                self.assertEqual(r.status, 200, r)
                # The idle ones go after the header timeout (well within 3x of it).
                deadline = time.monotonic() + 3 * HEADER_TIMEOUT_S + 5
                for s in admitted:
                    self.assertTrue(wait_readable(s, max(0.0, deadline - time.monotonic())),
                                    "an idle connection was not closed")
                    self.assertEqual(s.recv(1), b"")
                # Their slots are free again.
                again = connect_from("127.0.0.2", server.port)
                try:
                    again.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    self.assertTrue(wait_readable(again, 5))
                    self.assertTrue(again.recv(65536).startswith(b"HTTP/1.1 200"))
                finally:
                    again.close()
            finally:
                for s in crowd:
                    s.close()


if __name__ == "__main__":
    unittest.main()
