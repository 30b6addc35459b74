"""A throwaway PostgreSQL 15 cluster with PostGIS for integration tests: initdb into a temporary
directory, start the server on a free loopback port with its unix socket in that directory,
talk to it with psql, stop it and remove everything at the end.

PostgreSQL refuses to run as root, so when the tests run as root (CI) every server process runs
as the `postgres` system user (created by the Debian package) and the temporary directory is
handed to that user; otherwise everything runs as the current user.

Standard library only: SQL goes through the `psql` client (Debian package postgresql-client),
installed with `scripts/install-deps test`.

    with PostgreSQL() as pg:
        pg.sql("CREATE TABLE t (x int)")
        rows = pg.query("SELECT 1, 'a'")   # [['1', 'a']]
"""

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

FIELD_SEP = "\x1f"  # unit separator: never inside the values the tests store


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bindir(version="15"):
    """The directory holding initdb/postgres/pg_ctl: PG_BINDIR, else Debian's layout (the given
    major version first, then the newest installed)."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return env
    preferred = f"/usr/lib/postgresql/{version}/bin"
    if os.access(os.path.join(preferred, "initdb"), os.X_OK):
        return preferred
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def available():
    """Why a cluster cannot be started here, or None when it can."""
    bindir = find_bindir()
    if not bindir:
        return "PostgreSQL server binaries not found (scripts/install-deps test)"
    if not shutil.which("psql"):
        return "psql not found (scripts/install-deps test)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if not shutil.which("runuser"):
            return "running as root and runuser is missing"
    return None


class PostgresError(RuntimeError):
    pass


class PostgreSQL:
    """One private cluster. Use as a context manager; `extensions` are created in the database
    right after start (PostGIS by default)."""

    def __init__(self, extensions=("postgis",), settings=None):
        self.bindir = find_bindir()
        self.port = None
        self.root = None
        self.proc = None
        self.extensions = list(extensions)
        self.settings = {
            # A test cluster: nothing needs to survive a crash.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "timezone": "UTC",
            "max_connections": "20",
            "shared_buffers": "64MB",
            "work_mem": "32MB",
            "jit": "off",
        }
        self.settings.update(settings or {})
        self.as_postgres = os.geteuid() == 0

    # -- lifecycle --------------------------------------------------------------------------

    def _as_server_user(self, argv):
        return ["runuser", "-u", "postgres", "--"] + argv if self.as_postgres else argv

    def start(self, timeout=30):
        why = available()
        if why:
            raise PostgresError(why)
        self.root = tempfile.mkdtemp(prefix="tsunagu-pg-")
        self.data = os.path.join(self.root, "data")
        self.sock = self.root
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o700)
        self.log_path = os.path.join(self.root, "server.log")
        init = subprocess.run(
            self._as_server_user([os.path.join(self.bindir, "initdb"), "-D", self.data,
                                  "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                                  "--locale=C", "--no-sync", "--no-instructions"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.root)
        if init.returncode != 0:
            self._cleanup()
            raise PostgresError("initdb failed:\n" + init.stdout[-3000:])
        self.port = free_port()
        argv = [os.path.join(self.bindir, "postgres"), "-D", self.data, "-p", str(self.port),
                "-k", self.sock, "-c", "listen_addresses=127.0.0.1"]
        for k, v in self.settings.items():
            argv += ["-c", f"{k}={v}"]
        # The server's stderr goes to a file we open and hand over (no logging collector).
        # Same process group as the tests: an interrupted run interrupts the server too.
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self._as_server_user(argv), stdout=log, stderr=log,
                                         cwd=self.root)
        atexit.register(self.stop)
        deadline = time.time() + timeout
        socket_file = os.path.join(self.sock, f".s.PGSQL.{self.port}")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                text = self.read_log()
                self._cleanup()
                raise PostgresError(f"postgres exited with {self.proc.returncode}:\n{text}")
            if os.path.exists(socket_file):
                r = subprocess.run(self._psql_argv() + ["-c", "SELECT 1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                if r.returncode == 0:
                    break
            time.sleep(0.02)
        else:
            self.stop()
            raise PostgresError("postgres did not accept connections in time:\n" +
                                self.read_log())
        for ext in self.extensions:
            self.sql(f"CREATE EXTENSION IF NOT EXISTS {ext}")
        return self

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def _postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=20):
        """Fast shutdown (SIGINT to the postmaster), then removes the directory. Idempotent."""
        atexit.unregister(self.stop)
        if self.proc and self.proc.poll() is None:
            # Signal the postmaster itself: under runuser our child is runuser, not postgres.
            pid = self._postmaster_pid()
            try:
                if pid:
                    os.kill(pid, signal.SIGINT)
                else:
                    self.proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pid = self._postmaster_pid()
                for p in filter(None, (pid, self.proc.pid)):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait()
        self._cleanup()

    def _cleanup(self):
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- talking to it ----------------------------------------------------------------------

    def _psql_argv(self, database="postgres"):
        return ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F", FIELD_SEP,
                "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d", database]

    def sql(self, script, database="postgres", timeout=600):
        """Runs SQL text (any number of statements) in one psql session; returns its stdout.
        PostgresError (with psql's message) on the first failing statement."""
        r = subprocess.run(self._psql_argv(database), input=script, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env=dict(os.environ, PGTZ="UTC", PGCLIENTENCODING="UTF8"))
        if r.returncode != 0:
            raise PostgresError(f"psql failed ({r.returncode}): {r.stderr.strip()[:3000]}")
        return r.stdout

    def query(self, script, database="postgres", timeout=600):
        """The rows printed by `script`, each a list of column texts."""
        out = self.sql(script, database, timeout)
        return [line.split(FIELD_SEP) for line in out.split("\n") if line != ""]

    def copy_rows(self, table, columns, rows, database="postgres"):
        """Bulk-loads rows (sequences of Python values; None for NULL) with COPY ... FROM STDIN."""
        def cell(v):
            if v is None:
                return "\\N"
            s = str(v)
            return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                    .replace("\r", "\\r"))
        body = "\n".join("\t".join(cell(v) for v in row) for row in rows)
        script = (f"COPY {table} ({', '.join(columns)}) FROM STDIN;\n" + body +
                  ("\n" if body else "") + "\\.\n")
        self.sql(script, database)
