"""A throwaway Mosquitto broker for integration tests: three loopback listeners on free ports,
each with its own rules (per_listener_settings):

    anon  anonymous access
    auth  only `user` with `password` (a password file made with mosquitto_passwd)
    tls   TLS with a server certificate for 127.0.0.1 and localhost, signed by a CA made for the
          run (`ca_file`), anonymous access

and a Subscriber that runs `mosquitto_sub` on the anonymous listener and keeps what it receives,
so that what was published through any listener can be read back. Keys and certificates come
from the `openssl` command. Everything lives in a temporary directory removed by close().

Standard library only; the programs come from the Debian packages mosquitto, mosquitto-clients
and openssl (scripts/install-deps test).

    with Mosquitto() as broker, Subscriber(broker, "city/#") as sub:
        ...                               # something publishes to mqtt://127.0.0.1:{broker.anon}/city/x
        sub.wait(1)                       # [{"topic": "city/x", "qos": 0, "payload": {...}, ...}]
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certificates(d):
    """A CA, and a server certificate it signs for 127.0.0.1 and localhost; returns the paths
    (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (os.path.join(d, n) for n in
                                  ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ext = os.path.join(d, "san.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
        "-out", ca, "-days", "2", "-subj", "/CN=Tsunagu test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=localhost")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class Mosquitto:
    def __init__(self, user="user", password="s3cret"):
        self.dir = tempfile.mkdtemp(prefix="tsunagu-mosquitto-")
        self.user, self.password = user, password
        self.ca_file, self.cert, self.key = make_certificates(self.dir)
        self.passwd = os.path.join(self.dir, "passwd")
        run("mosquitto_passwd", "-b", "-c", self.passwd, user, password)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.proc = None
        self.started = False  # once started, a restart keeps the ports its clients know
        self.configure()

    def configure(self):
        """Free ports for the three listeners, and the configuration that names them."""
        self.anon, self.auth, self.tls = free_port(), free_port(), free_port()
        passwd, cert, key = self.passwd, self.cert, self.key
        with open(self.conf, "w") as f:
            # Run as root, it would switch to the `mosquitto` user, who cannot read this folder.
            if os.geteuid() == 0:
                f.write("user root\n")
            f.write("per_listener_settings true\n")
            f.write(f"listener {self.anon} 127.0.0.1\nallow_anonymous true\n")
            f.write(f"listener {self.auth} 127.0.0.1\nallow_anonymous false\n"
                    f"password_file {passwd}\n")
            # The TLS listener is reached as "localhost" (its certificate's name), which some
            # machines resolve to ::1 first: it listens on both loopback addresses.
            for address in ("127.0.0.1", "::1"):
                f.write(f"listener {self.tls} {address}\nallow_anonymous true\n"
                        f"cafile {self.ca_file}\ncertfile {cert}\nkeyfile {key}\n")

    def start(self, timeout=10):
        # A port found free can be taken by a test running beside this one before mosquitto
        # binds it: on the first start, other ports are tried then.
        for attempt in range(3):
            self.log = open(self.log_path, "ab")
            logged_before = os.path.getsize(self.log_path)
            self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log,
                                         stderr=self.log)
            if self.wait_until_listening(timeout):
                self.started = True
                return self
            self.log.close()
            with open(self.log_path, "rb") as f:
                f.seek(logged_before)
                this_start = f.read().decode(errors="replace")
            if self.started or "Address already in use" not in this_start or attempt == 2:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {this_start}")
            self.configure()
        raise AssertionError("unreachable")

    def wait_until_listening(self, timeout):
        """True once every listener accepts; False when mosquitto exited first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if all(accepts(p) for p in (self.anon, self.auth, self.tls)):
                return True
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen in time: " + self.read_log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
            self.log.close()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-3000:]
        except OSError:
            return ""

    def url(self, topic, listener="anon", userinfo=""):
        scheme = "mqtts" if listener == "tls" else "mqtt"
        return f"{scheme}://{userinfo}127.0.0.1:{getattr(self, listener)}/{topic}"

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class Subscriber:
    """mosquitto_sub on the broker's anonymous listener, subscribed (QoS 2, so that each message
    keeps the QoS it was published with) before the constructor returns. Each message is a dict
    with its topic, qos and payload (parsed JSON)."""

    def __init__(self, broker, topic="#"):
        self.messages = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.anon), "-t", topic,
             "-t", "tsunagu-probe", "-q", "2", "-F", "%J"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        # Subscribed once a probe comes back.
        deadline = time.time() + 10
        while time.time() < deadline:
            run("mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.anon), "-t",
                "tsunagu-probe", "-m", "{}")
            if self.wait(1, timeout=0.3, topic="tsunagu-probe"):
                return
        raise RuntimeError("mosquitto_sub did not subscribe in time")

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.messages.append(m)

    def received(self, topic=None):
        with self.lock:
            return [m for m in self.messages
                    if (topic is None and m["topic"] != "tsunagu-probe") or m["topic"] == topic]

    def wait(self, n, timeout=20, topic=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.received(topic)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        return self.received(topic)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.reader.join(10)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
