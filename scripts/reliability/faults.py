"""Disk, database and hostile-input phases of the reliability campaign (see campaign.py)."""
import os
import subprocess
import time

from campaign import CampaignFailure, Lab, log


def _mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], capture_output=True).returncode == 0


def _umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def _fill(directory):
    """Writes a filler file until the filesystem is full; returns its path."""
    filler = os.path.join(directory, "filler")
    chunk = b"\0" * (64 << 10)
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    return filler


def _agent_alive_or_restart(lab, results, step):
    """An agent that exited on a fault is restarted (as systemd would); the exit is recorded."""
    if lab.agent is not None and lab.agent.poll() is not None:
        results[f"{step}_agent_exit_status"] = lab.agent.returncode
        lab.agent = None
    if lab.agent is None:
        lab.start_agent()


def phase_disk(main_lab, work):
    """data_dir filesystem full, then read-only, then a corrupted and a truncated outbox."""
    results = []
    mount_point = os.path.join(work, "datafs")
    if not _mount_tmpfs(mount_point, "24m"):
        log("disk: skipped (mounting a tmpfs needs root)")
        return [{"phase": "disk", "skipped": "mounting a tmpfs needs root"}]
    lab = Lab(main_lab.bin, os.path.join(work, "disk"), data_dir=os.path.join(mount_point, "data"))
    try:
        lab.start_hub()
        lab.start_proxy()
        lab.start_agent()
        lab.drop_idocs(100)
        lab.settle_and_check("disk baseline")

        # 1. The filesystem is full: commits fail, files stay, nothing is quarantined.
        full = {"phase": "disk full"}
        filler = _fill(mount_point)
        lab.drop_idocs(200, per_file=10)
        time.sleep(8)
        full["files_waiting_while_full"] = len(lab.drop_listing())
        full["agent_running_while_full"] = lab.agent.poll() is None
        os.unlink(filler)
        _agent_alive_or_restart(lab, full, "full")
        full.update(lab.settle_and_check("disk full"))
        results.append(full)

        # 2. The filesystem turns read-only under the running agent.
        readonly = {"phase": "disk read-only"}
        subprocess.run(["mount", "-o", "remount,ro", mount_point], check=True)
        lab.drop_idocs(100, per_file=10)
        time.sleep(6)
        readonly["files_waiting_while_read_only"] = len(lab.drop_listing())
        readonly["agent_running_while_read_only"] = lab.agent.poll() is None
        subprocess.run(["mount", "-o", "remount,rw", mount_point], check=True)
        _agent_alive_or_restart(lab, readonly, "read_only")
        readonly.update(lab.settle_and_check("disk read-only"))
        results.append(readonly)

        # 3. A corrupted and a truncated outbox: refused at start with a clear message, exit 2,
        #    then `outpost outbox-recover` brings the agent back.
        for damage in ("corrupted", "truncated"):
            results.append(_damaged_outbox(lab, damage))
    finally:
        lab.stop_all()
        _umount(mount_point)
    return results


def _damaged_outbox(lab, damage):
    step = {"phase": f"outbox {damage}"}
    lab.kill_agent()
    lab.drop_idocs(50, per_file=10)  # waiting in the drop directory while the agent is down
    database = os.path.join(lab.dirs["data"], "outbox.sqlite")
    if damage == "corrupted":
        with open(database, "r+b") as f:
            f.seek(0)
            f.write(b"this is not an SQLite header!!!!" * 4)
    else:
        os.truncate(database, os.path.getsize(database) // 2)
    started = time.time()
    run = subprocess.run([f"{lab.bin}/outpost", "run", "--config", lab.agent_config], capture_output=True, text=True, timeout=60)
    step["run_exit_status"] = run.returncode
    step["run_seconds"] = round(time.time() - started, 2)
    step["run_message"] = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
    if run.returncode != 2 or "Outbox recovery" not in run.stderr:
        raise CampaignFailure(f"outbox {damage}: expected exit 2 pointing at the outbox recovery, got {run.returncode}: {run.stderr[-500:]}")
    # The documented recovery (docs/RELIABILITY.md): keep the damaged file aside, start afresh;
    # files still in the drop directory are read again.
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.rename(database + suffix, database + suffix + f".damaged-{damage}")
    lab.start_agent()
    step.update(lab.settle_and_check(f"outbox {damage}"))
    return step
