"""PostgreSQL for the tests: a throwaway cluster, or the server a URL names.

``ESCALATION_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://me:pw@localhost/postgres``)
points the tests at an existing server; the role needs ``CREATEDB``. Otherwise
a cluster is made from nothing: ``initdb`` into a temporary directory,
``pg_ctl start`` on 127.0.0.1 and a free port, its unix socket in the same
directory, fsync off, trust authentication (loopback only), removed at the
end. ``initdb`` refuses to run as root: as root, the cluster is made and run
by the ``postgres`` OS user (which the distributions' packages create).

Each test gets a database of its own, created from ``template0``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import URL, make_url

URL_VARIABLE = "ESCALATION_TEST_POSTGRES_URL"
BINDIR_VARIABLE = "ESCALATION_TEST_PG_BINDIR"
DATABASES_VARIABLE = "ESCALATION_TEST_DATABASES"
SERVER_USER = "postgres"  # the OS user that runs the cluster when the tests run as root
ROLE = "escalation"  # the cluster's superuser role

INSTALL_HINT = f"""\
The test suite runs every database test on SQLite and on PostgreSQL, and no
PostgreSQL server binaries (initdb, pg_ctl) were found. Either:
  * install them:  apt-get install -y postgresql   (Debian/Ubuntu; or
    dnf install postgresql-server, brew install postgresql@16), or set
    {BINDIR_VARIABLE} to the directory holding initdb and pg_ctl;
  * or point the tests at a running server:
        {URL_VARIABLE}=postgresql+psycopg://user:password@localhost/postgres
    (the user needs CREATEDB);
  * or run the SQLite half only, explicitly:  {DATABASES_VARIABLE}=sqlite"""


class PostgresUnavailable(RuntimeError):
    """No way to reach or start a PostgreSQL server (the message says what to do)."""


def wanted_databases() -> list[str]:
    """The backends the tests run on: ``ESCALATION_TEST_DATABASES`` (default both)."""
    raw = os.environ.get(DATABASES_VARIABLE, "sqlite,postgresql")
    chosen = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(chosen) - {"sqlite", "postgresql"})
    if unknown or not chosen:
        raise PostgresUnavailable(
            f"{DATABASES_VARIABLE}={raw!r}: use a comma-separated subset of sqlite,postgresql"
        )
    return chosen


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: the env variable, PATH, or the usual places."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_VARIABLE):
        candidates.append(Path(os.environ[BINDIR_VARIABLE]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            )
            candidates.append(Path(out.stdout.strip()))
    # Debian/Ubuntu put them outside PATH; RHEL's PGDG packages and Homebrew too.
    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/usr/pgsql-*/bin",
        "/opt/homebrew/opt/postgresql*/bin",
    ):
        found = list(Path("/").glob(pattern.removeprefix("/")))
        candidates += sorted(found, key=_version_key, reverse=True)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(path))) or (0,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, url: URL, description: str) -> None:
        self.url = url  # an admin URL (a database that always exists)
        self.description = description

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        u = self.url
        return psycopg.connect(
            host=u.host or None,
            port=u.port or None,
            user=u.username or None,
            password=u.password or None,
            dbname=u.database or "postgres",
            autocommit=True,
            connect_timeout=10,
        )

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"escalation_test_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(name)
                )
            )
        return self.database_url(name)

    def database_url(self, name: str) -> str:
        url = self.url.set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        assert name, url
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Nothing to stop for a server someone else runs."""


class Cluster(Server):
    """A throwaway cluster in a temporary directory, on loopback only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.run_as = SERVER_USER if os.geteuid() == 0 else None
        if self.run_as is not None:
            try:
                owner = pwd.getpwnam(self.run_as)
            except KeyError:
                raise PostgresUnavailable(
                    "the tests run as root, and initdb refuses to run as root; no "
                    f"'{SERVER_USER}' OS user exists to run the cluster as. Create one "
                    f"(useradd --system {SERVER_USER}; apt's postgresql package does) or set "
                    f"{URL_VARIABLE}."
                ) from None
        # Not under pytest's tmp dirs: those are private to the user running the
        # tests, and the server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="escalation-pg-"))
        if self.run_as is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._started = False
        try:
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.data),
                    "-U",
                    ROLE,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            )
            port = self._start()
        except BaseException:
            self.stop()
            raise
        version = (self.data / "PG_VERSION").read_text().strip()
        super().__init__(
            URL.create(
                "postgresql+psycopg",
                username=ROLE,
                host="127.0.0.1",
                port=port,
                database="postgres",
            ),
            f"throwaway PostgreSQL {version} cluster ({bindir}, 127.0.0.1:{port}, {self.root})",
        )

    def _start(self) -> int:
        for _ in range(5):  # the free port can be taken between choosing and binding it
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300 -c shared_buffers=64MB"
            )
            try:
                self._run(
                    "pg_ctl",
                    [
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.log),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ],
                )
            except PostgresUnavailable:
                if "could not bind" in self._log_tail() or "in use" in self._log_tail():
                    continue
                raise
            self._started = True
            return port
        raise PostgresUnavailable(f"no free port for PostgreSQL; log:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def _run(self, program: str, args: Sequence[str]) -> None:
        command = [str(self.bindir / program), *args]
        if self.run_as is not None:
            command = _as_user(self.run_as, command)
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{program} failed ({done.returncode}): {' '.join(command)}\n"
                f"{done.stdout}{done.stderr}{self._log_tail()}"
            )

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", ["-D", str(self.data), "-m", "immediate", "-w", "stop"])
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


def _as_user(user: str, command: list[str]) -> list[str]:
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *command]
    return ["su", user, "-s", "/bin/sh", "-c", shlex.join(command)]


def start_server() -> Server:
    """The server named by ``ESCALATION_TEST_POSTGRES_URL``, or a new cluster."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        url = make_url(given)
        server = Server(url, f"PostgreSQL at {url.render_as_string(hide_password=True)}")
        try:
            server._admin().close()
        except psycopg.Error as exc:
            raise PostgresUnavailable(f"{URL_VARIABLE}={given}: cannot connect: {exc}") from exc
        return server
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(INSTALL_HINT)
    return Cluster(bindir)
