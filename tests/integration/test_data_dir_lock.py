"""One server per data directory (issue 14): two servers on one directory both acknowledged
writes, each saw half, and afterwards the store refused to start. A second server now refuses to
start, naming the first; the first goes on serving; once it is gone, even by kill -9, the
directory opens again with everything it acknowledged.

Run: python3 -m unittest tests/integration/test_data_dir_lock.py"""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import Server  # noqa: E402

ENTITIES = "/ngsi-ld/v1/entities"


class DataDirLock(unittest.TestCase):
    def test_second_server_refused(self):
        data = tempfile.mkdtemp(prefix="tsunagu-lock-")
        try:
            first = Server(data_dir=data).start()
            try:
                r = first.request("POST", ENTITIES, {"id": "urn:ngsi-ld:T:1", "type": "T"})
                self.assertEqual(r.status, 201, r)
                second = Server(data_dir=data)
                with self.assertRaises(RuntimeError) as refused:
                    second.start(timeout=10)
                second.stop()
                self.assertIn("is in use by another Tsunagu process", str(refused.exception))
                self.assertIn(f"pid {first.proc.pid}", str(refused.exception))
                self.assertEqual(first.get(ENTITIES + "/urn:ngsi-ld:T:1").status, 200)
            finally:
                first.kill()
            with Server(data_dir=data) as again:
                self.assertEqual(again.get(ENTITIES + "/urn:ngsi-ld:T:1").status, 200)
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
