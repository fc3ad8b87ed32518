"""A throw-away one-node SLURM cluster on localhost for the workflow tests.

The daemons come from Debian's `slurm-wlm`, `slurmdbd`, `munge` and `mariadb-server` packages,
which `.ci/setup-services` installs. Everything lives in one temporary folder: a fresh munge key
and socket, a MariaDB accounting database (mariadb_fixture), slurmdbd, slurm.conf, state and
spool folders, logs. The configuration works in containers without cgroups
(`proctrack/linuxproc`, `task/none`). Accounting is complete, as on a real cluster: `sacct`
reports every job (with the comment the executor plugin sets) and `sacctmgr` knows the account
`reid_lab`, which the executor plugin validates.

The node declares 4 CPUs and 4 GPUs whatever the machine has (`SlurmdParameters=
config_overrides`): the GPUs are GRES backed by empty files, so GPU requests are scheduled and
accounted although the jobs themselves run on the CPU. Partitions `cpu` (default) and `gpu` are
the ones the repository's profile names.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from mariadb_fixture import Database, mariadb_server

DAEMONS = ("munged", "slurmdbd", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "scontrol", "squeue", "scancel", "sinfo", "sacct", "sacctmgr")
ACCOUNT = "reid_lab"
GPUS = 4
CPUS = 4
START_TIMEOUT = 90
SACCT_FIELDS = "JobIDRaw,JobName,Comment,Partition,Account,ReqCPUS,ReqMem,Timelimit,ReqTRES,State"


@dataclass
class SlurmCluster:
    """A running cluster: its folder, its account and the environment its clients need."""

    root: Path
    account: str = ACCOUNT

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """`base` (default: this process's) with SLURM_CONF pointing at this cluster and the
        `srun` shim first on PATH."""
        base = dict(base if base is not None else os.environ)
        path = f"{self.root / 'bin'}{os.pathsep}{base.get('PATH', os.defpath)}"
        return {**base, "PATH": path, "SLURM_CONF": str(self.conf)}

    def command(self, *argv: str, timeout: float = 60) -> str:
        """Run a SLURM client command (sacct, scancel, sacctmgr); its stdout."""
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, env=self.env(), timeout=timeout
        )
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def queue(self) -> list[dict[str, str]]:
        """The jobs slurmctld holds now (`squeue`: sacct learns a job's comment at its end)."""
        out = self.command("squeue", "--noheader", "--states=all", "--format=%i|%k|%T")
        names = ("JobIDRaw", "Comment", "State")
        return [dict(zip(names, line.split("|"), strict=True)) for line in out.splitlines()]

    def jobs(self) -> list[dict[str, str]]:
        """Every job of the accounting database (`sacct`), oldest first; `State` is its first
        word (`CANCELLED by 0` -> `CANCELLED`)."""
        out = self.command(
            "sacct", "--allocations", "--parsable2", "--noheader", "--starttime=2000-01-01",
            f"--format={SACCT_FIELDS}",
        )  # fmt: skip
        names = SACCT_FIELDS.split(",")
        jobs = [dict(zip(names, line.split("|"), strict=True)) for line in out.splitlines()]
        for job in jobs:
            job["State"] = job["State"].split(" ")[0]
        return sorted(jobs, key=lambda job: int(job["JobIDRaw"]))


def _require_binaries() -> dict[str, str]:
    found = {name: shutil.which(name) or f"/usr/sbin/{name}" for name in DAEMONS}
    missing = [name for name, path in found.items() if not Path(path).is_file()]
    clients = [name for name in CLIENTS if not shutil.which(name)]
    if missing or clients:
        pytest.fail(
            f"SLURM test cluster: {', '.join(missing + clients)} not found: run "
            ".ci/setup-services (it installs Debian's `slurm-wlm`, `slurmdbd` and `munge`)",
            pytrace=False,
        )
    return found


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def slurm_conf(root: Path, user: str, ports: list[int]) -> str:
    """slurm.conf of the one-node cluster (cgroup-free, accounting through slurmdbd)."""
    return f"""\
ClusterName=reidtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/socket
SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={ports[2]}
AccountingStoragePass={root}/munge/socket
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory=8000 Gres=gpu:{GPUS} State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
"""


def slurmdbd_conf(root: Path, user: str, port: int, db: Database) -> str:
    return f"""\
AuthType=auth/munge
AuthInfo=socket={root}/munge/socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={port}
SlurmUser={user}
StorageType=accounting_storage/mysql
StorageHost={db.host}
StoragePort={db.port}
StorageUser={db.user}
StoragePass={db.password}
StorageLoc=slurm_acct_db
PidFile={root}/slurmdbd.pid
LogFile={root}/log/slurmdbd.log
"""


def _write_config(root: Path, user: str, ports: list[int], db: Database) -> None:
    for index in range(GPUS):
        (root / "gpus" / f"gpu{index}").touch()
    (root / "slurm.conf").write_text(slurm_conf(root, user, ports))
    (root / "gres.conf").write_text(
        f"AutoDetect=off\nNodeName=localhost Name=gpu File={root}/gpus/gpu[0-{GPUS - 1}]\n"
    )
    dbd = root / "slurmdbd.conf"
    dbd.write_text(slurmdbd_conf(root, user, ports[2], db))
    dbd.chmod(0o600)  # slurmdbd refuses a readable file (it holds the database password)


def _write_srun_shim(root: Path, srun: str) -> None:
    """`srun` that finds this cluster: inside a job, snakemake-executor-plugin-slurm-jobstep
    drops every SLURM_* variable (SLURM_CONF included) before its nested `srun`, which then
    looks for /etc/slurm/slurm.conf, where a real cluster keeps it. Rather than write there,
    the tests put this shim first on PATH (the jobs inherit PATH through --export=ALL)."""
    shim = root / "bin" / "srun"
    shim.write_text(f'#!/bin/sh\nexport SLURM_CONF="{root}/slurm.conf"\nexec "{srun}" "$@"\n')
    shim.chmod(0o755)


def _munge_user() -> pwd.struct_passwd:
    """munged runs as `munge` when we are root (it refuses root), else as ourselves."""
    if os.geteuid() == 0:
        try:
            return pwd.getpwnam("munge")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "munge"], check=True)
            return pwd.getpwnam("munge")
    return pwd.getpwuid(os.geteuid())


def _start_munge(root: Path, munged: str) -> subprocess.Popen:
    owner = _munge_user()
    folder = root / "munge"
    folder.mkdir()
    folder.chmod(0o755)  # clients (slurmd, sbatch) reach the socket through it
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    for path in (folder, key):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    argv = [munged, "--foreground", f"--socket={folder}/socket", f"--key-file={key}"]
    argv += [f"--pid-file={folder}/pid", f"--log-file={folder}/log", f"--seed-file={folder}/seed"]
    user = {"user": owner.pw_uid, "group": owner.pw_gid} if os.geteuid() == 0 else {}
    proc = _spawn(argv, root / "log" / "munged.out", {}, **user)
    _wait(lambda: (folder / "socket").exists(), proc, "munged", root / "log" / "munged.out")
    return proc


def _spawn(argv: list[str], out: Path, env: dict[str, str], **kw) -> subprocess.Popen:
    with open(out, "w") as handle:
        return subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **env}, **kw
        )


def _wait(ready, proc: subprocess.Popen, name: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = log.read_text()[-3000:] if log.is_file() else ""
    pytest.fail(f"SLURM test cluster: {name} did not start (exit {proc.poll()}):\n{tail}")


def _answers(cluster: SlurmCluster, *argv: str) -> str | None:
    try:
        return cluster.command(*argv, timeout=10)
    except (AssertionError, subprocess.TimeoutExpired):
        return None


def _node_idle(cluster: SlurmCluster) -> bool:
    state = _answers(cluster, "sinfo", "--noheader", "--format=%t", "--nodes=localhost")
    return state is not None and state.strip().splitlines()[:1] == ["idle"]


def _add_account(cluster: SlurmCluster, user: str) -> None:
    """The cluster, its account and this user in it, as an administrator would."""
    for what in (
        ["cluster", "reidtest"],
        ["account", cluster.account],
        ["user", user, f"account={cluster.account}"],
    ):
        cluster.command("sacctmgr", "--immediate", "add", *what)


def _stop(procs: list[subprocess.Popen], cluster: SlurmCluster) -> None:
    """Cancel what is left, then SIGTERM each daemon (newest first), SIGKILL after 30 s."""
    if len(procs) == len(DAEMONS):
        _answers(cluster, "scancel", "--full", f"--user={os.geteuid()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_answers(cluster, "squeue", "-h") or "").strip():
            time.sleep(0.5)
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _start_daemons(cluster: SlurmCluster, binaries: dict[str, str], procs: list) -> None:
    root, env, user = cluster.root, {"SLURM_CONF": str(cluster.conf)}, pwd.getpwuid(os.geteuid())
    procs.append(_start_munge(root, binaries["munged"]))
    log = root / "log"
    procs.append(_spawn([binaries["slurmdbd"], "-D"], log / "slurmdbd.out", env))
    ready = lambda: _answers(cluster, "sacctmgr", "-n", "list", "cluster") is not None  # noqa: E731
    _wait(ready, procs[-1], "slurmdbd", log / "slurmdbd.log")
    _add_account(cluster, user.pw_name)
    procs.append(_spawn([binaries["slurmctld"], "-D", "-i"], log / "slurmctld.out", env))
    _wait(lambda: (root / "slurmctld.pid").exists(), procs[-1], "slurmctld", log / "slurmctld.out")
    procs.append(_spawn([binaries["slurmd"], "-D", "-N", "localhost"], log / "slurmd.out", env))
    _wait(lambda: _node_idle(cluster), procs[-1], "slurmd (node idle)", log / "slurmctld.log")


@contextmanager
def slurm_cluster() -> Iterator[SlurmCluster]:
    """Start munged, MariaDB, slurmdbd, slurmctld and slurmd on localhost; yield the cluster;
    stop them and delete the folder."""
    binaries = _require_binaries()
    root = Path(tempfile.mkdtemp(prefix="reid-slurm-"))
    root.chmod(0o755)
    cluster = SlurmCluster(root)
    procs: list[subprocess.Popen] = []
    try:
        with ExitStack() as stack:
            for name in ("state", "spool", "log", "gpus", "bin"):
                (root / name).mkdir()
            db = stack.enter_context(mariadb_server(root / "db"))
            user = pwd.getpwuid(os.geteuid()).pw_name
            _write_config(root, user, _free_ports(3), db)
            _write_srun_shim(root, shutil.which("srun") or "/usr/bin/srun")
            try:
                _start_daemons(cluster, binaries, procs)
                yield cluster
            finally:
                _stop(procs, cluster)
    finally:
        shutil.rmtree(root, ignore_errors=True)
