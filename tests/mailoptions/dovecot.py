"""A real IMAP server for the mail add-on's tests and benchmark (MAIL-5): Debian's Dovecot,
run unprivileged on 127.0.0.1 at a free high port, ssl off, users in passwd-files, maildirs
made by the test with the stdlib's mailbox.Maildir, and every runtime file (base_dir,
state_dir, the log) in a temporary directory. Started by PID, ready once it greets, stopped by
PID. Run as root, it drops to `nobody`, so it never serves mail as root.

`DroppingProxy` stands between a client and the server and cuts the connection after a given
number of bytes from the server: a server that drops the connection mid-sync."""

import grp
import mailbox
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.workers import wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
READY_SECONDS = 20

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd.d/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_as() -> tuple[int, int]:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid
    return os.getuid(), os.getgid()


class Dovecot:
    host = "127.0.0.1"

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.uid, self.gid = _run_as()
        self.process: subprocess.Popen | None = None
        for name in ("run", "state", "mail", "passwd.d"):
            (root / name).mkdir(parents=True, exist_ok=True)
        (root / "dovecot.conf").write_text(
            CONFIG.format(
                root=root,
                port=self.port,
                uid=self.uid,
                gid=self.gid,
                user=pwd.getpwuid(self.uid).pw_name,
                group=grp.getgrgid(self.gid).gr_name,
            )
        )
        self._own()

    def _own(self) -> None:
        """Everything under the root belongs to the user Dovecot runs as."""
        if os.geteuid() != 0:
            return
        for path in [self.root, *self.root.rglob("*")]:
            os.lchown(path, self.uid, self.gid)

    def start(self) -> "Dovecot":
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Ready when a connection gets the IMAP greeting (tests.workers.wait_for polls it)."""
        if not wait_for(lambda: self._greets() or self.process.poll() is not None, READY_SECONDS):
            raise RuntimeError(f"Dovecot did not greet within {READY_SECONDS}s: {self.log()}")
        if self.process.poll() is not None:
            raise RuntimeError(f"Dovecot exited: {self.log()}")

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as conn:
                return conn.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    def log(self, whole: bool = False) -> str:
        path = self.root / "dovecot.log"
        text = path.read_text() if path.exists() else ""
        return text if whole else text[-2000:]

    # --- users and their mail ------------------------------------------------------------

    def add_user(self, login: str, password: str) -> None:
        # One passwd-file per user: Dovecot looks at a changed file at most once a second, a
        # new file it reads at once.
        (self.root / "passwd.d" / login).write_text(f"{login}:{{PLAIN}}{password}\n")
        self.maildir(login)
        self._own()

    def maildir(self, login: str) -> mailbox.Maildir:
        return mailbox.Maildir(self.root / "mail" / login, create=True)

    def deliver(self, login: str, messages) -> None:
        """Put messages (EmailMessage or bytes) into the user's INBOX."""
        inbox = self.maildir(login)
        inbox.lock()
        try:
            for message in messages:
                inbox.add(message)
        finally:
            inbox.unlock()
        self._own()

    def wait_idle(self, login: str) -> None:
        """Until every IMAP session of the user has ended: each logs "Disconnected" once it
        has closed the mailbox and written its indexes."""
        if not wait_for(lambda: self._sessions_ended(login), READY_SECONDS):
            raise RuntimeError(f"{login}'s IMAP sessions did not end: {self.log()}")

    def _sessions_ended(self, login: str) -> bool:
        lines = self.log(whole=True).splitlines()
        logins = sum(f"Login: user=<{login}>," in line for line in lines)
        ended = sum(f"imap({login})<" in line and "Disconnected" in line for line in lines)
        return ended >= logins

    def renumber(self, login: str) -> None:
        """A new UIDVALIDITY for the user's INBOX: its dovecot* files are deleted (once no
        session of the user is left to write them again), and the next UIDVALIDITY Dovecot
        hands out is set ahead, so it differs even within a second."""
        self.wait_idle(login)
        folder = self.root / "mail" / login
        old = 0
        uidlist = folder / "dovecot-uidlist"
        if uidlist.exists():
            header = uidlist.read_text().split("\n", 1)[0].split()
            old = next((int(p[1:]) for p in header if p.startswith("V")), 0)
        for path in folder.glob("dovecot*"):
            path.unlink()
        # Dovecot takes the next value from this file and its marker file (named after the
        # value); without both it falls back to the clock, which may give the old value again.
        ahead = f"{max(old + 100, int(time.time()) + 100):08x}"
        (folder / "dovecot-uidvalidity").write_text(ahead)
        (folder / f"dovecot-uidvalidity.{ahead}").write_text("")
        self._own()


@pytest.fixture(scope="session")
def dovecot():
    if not Path(DOVECOT).exists():
        pytest.fail("Dovecot is missing: `make browser-deps` installs dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    server = Dovecot(root).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class DroppingProxy:
    """Forwards one port to the server; every connection is cut once the server has sent
    `drop_after` bytes through it."""

    def __init__(self, target_port: int, drop_after: int):
        self.target_port, self.drop_after = target_port, drop_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.dropped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        server = socket.create_connection(("127.0.0.1", self.target_port))
        sent = 0
        try:
            while sent < self.drop_after:
                ready, _w, _x = select.select([client, server], [], [], 30)
                if not ready:
                    break
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is server:
                        data = data[: self.drop_after - sent]
                        sent += len(data)
                        client.sendall(data)
                    else:
                        server.sendall(data)
            self.dropped.set()
        finally:
            for conn in (client, server):
                conn.close()

    def close(self) -> None:
        self.listener.close()
