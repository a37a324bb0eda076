"""Disk, database and hostile-input phases of the reliability campaign (see campaign.py)."""
import os
import signal
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
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            os.write(fd, chunk)  # unbuffered: nothing is left to flush (and fail) on close
    except OSError:
        pass
    finally:
        os.close(fd)
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

        # 2. The data directory's filesystem is read-only when the agent starts: it refuses to
        #    run (exit 2, a clear message) instead of reading files it could not commit.
        readonly = {"phase": "disk read-only"}
        lab.kill_agent()
        subprocess.run(["mount", "-o", "remount,ro", mount_point], check=True)
        lab.drop_idocs(100, per_file=10)
        run = subprocess.run([f"{lab.bin}/outpost", "run", "--config", lab.agent_config], capture_output=True, text=True, timeout=60)
        readonly["run_exit_status"] = run.returncode
        readonly["run_message"] = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
        readonly["files_waiting_while_read_only"] = len(lab.drop_listing())
        subprocess.run(["mount", "-o", "remount,rw", mount_point], check=True)
        if run.returncode not in (1, 2) or readonly["files_waiting_while_read_only"] == 0:
            raise CampaignFailure(f"disk read-only: expected a refusal with the files left in place: {readonly}")
        lab.start_agent()
        readonly.update(lab.settle_and_check("disk read-only"))
        results.append(readonly)

        # 3. A corrupted and a truncated outbox: refused at start with a clear message, exit 2,
        #    then `outpost outbox-recover` (the documented recovery) brings the agent back.
        for damage in ("corrupted", "truncated"):
            results.append(_damaged_outbox(lab, damage))
    finally:
        lab.stop_all()
        _umount(mount_point)
    return results


def _damaged_outbox(lab, damage):
    step = {"phase": f"outbox {damage}"}
    # A clean stop checkpoints the WAL: the damage is then in the only copy of the pages
    # (after a kill -9 the WAL can still hold page 1 and mask a damaged header).
    lab.agent.send_signal(signal.SIGTERM)
    lab.agent.wait(30)
    lab.agent = None
    database = os.path.join(lab.dirs["data"], "outbox.sqlite")
    if os.path.exists(database + "-wal"):
        raise CampaignFailure(f"outbox {damage}: a clean stop left the write-ahead log behind "
                              f"({os.path.getsize(database + '-wal')} bytes)")
    lab.drop_idocs(50, per_file=10)  # waiting in the drop directory while the agent is down
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
    # The documented recovery (docs/OPERATIONS.md, "Outbox recovery"): `outpost outbox-recover`
    # keeps the damaged file and rebuilds the outbox from what can still be read (nothing of a
    # file whose header is gone). Files still in the drop directory are then read; their ids
    # are the same, so the hub drops what it already has.
    recover = subprocess.run([f"{lab.bin}/outpost", "outbox-recover", "--config", lab.agent_config],
                             capture_output=True, text=True, timeout=300)
    step["recover_exit_status"] = recover.returncode
    step["recover_output"] = recover.stdout.strip().splitlines()[:3]
    if recover.returncode != 0:
        raise CampaignFailure(f"outbox {damage}: outbox-recover failed ({recover.returncode}): {recover.stderr[-500:]}")
    lab.start_agent()
    step.update(lab.settle_and_check(f"outbox {damage}"))
    return step


def _write(directory, name, content):
    """Writes `content` under `name` (bytes, may hold newlines or non-UTF-8), atomically."""
    base = os.fsencode(directory)
    tmp = os.path.join(base, b".incoming.tmp")
    with open(tmp, "wb") as f:
        f.write(content)
    os.rename(tmp, os.path.join(base, name))


def phase_hostile(lab, work):
    """Hostile entries in the drop directory: each is quarantined with the expected reason, the
    agent stays up, and good files around them (some with odd names) are delivered."""
    if lab.agent is None:
        lab.start_agent()
    drop = lab.dirs["drop"]
    outside = os.path.join(work, "outside")
    os.makedirs(outside, exist_ok=True)
    secret = os.path.join(outside, "secret.txt")
    with open(secret, "w") as f:
        f.write("not for the hub\n")
    idoc = b'<?xml version="1.0"?><ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><MANDT>100</MANDT><DOCNUM>%s</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPRN>ODD</SNDPRN></EDI_DC40></IDOC></ORDERS05>'
    dtd = b'<?xml version="1.0"?>\n<!DOCTYPE ORDERS05 [%s]>\n<ORDERS05><IDOC BEGIN="1">%s</IDOC></ORDERS05>'
    expected = {  # file name -> acceptable reasons
        b"xxe-file.xml": (dtd % (b'<!ENTITY x SYSTEM "file:///etc/passwd">', b"&x;"), {"dtd_forbidden"}),
        b"xxe-network.xml": (dtd % (b'<!ENTITY x SYSTEM "http://127.0.0.1:9/x">', b"&x;"), {"dtd_forbidden"}),
        b"billion-laughs.xml": (dtd % (b'<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                                       b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">', b"&d;"),
                                {"dtd_forbidden"}),
        b"quadratic.xml": (dtd % (b'<!ENTITY a "' + b"x" * 50000 + b'">', b"&a;" * 20000), {"dtd_forbidden"}),
        b"deep.xml": (b"<ORDERS05>" + b"<a>" * 100000 + b"</a>" * 100000 + b"</ORDERS05>", {"too_deep", "malformed_xml"}),
        b"bad-utf8.xml": (b'<?xml version="1.0" encoding="UTF-8"?><ORDERS05><IDOC BEGIN="1"><X>\xc3\x28\xff</X></IDOC></ORDERS05>',
                          {"bad_encoding", "malformed_xml"}),
        b"lying-encoding.xml": (b'<?xml version="1.0" encoding="UTF-16"?><ORDERS05><IDOC BEGIN="1"/></ORDERS05>',
                                {"bad_encoding", "malformed_xml", "not_xml"}),
        b"nul-bytes.xml": (b'<?xml version="1.0"?><ORDERS05><IDOC BEGIN="1">\0\0\0</IDOC></ORDERS05>',
                           {"bad_encoding", "malformed_xml", "not_xml"}),
    }
    for name, (content, _) in expected.items():
        _write(drop, name, content)
    # A 2 GB sparse file above max_file_size (1MiB in the campaign's configuration).
    with open(os.path.join(drop, "huge.xml"), "wb") as f:
        f.truncate(2 << 30)
    expected[b"huge.xml"] = (None, {"file_too_large"})
    os.symlink("/etc/passwd", os.path.join(drop, "symlink.xml"))
    expected[b"symlink.xml"] = (None, {"symlink"})
    os.mkfifo(os.path.join(drop, "fifo.xml"))
    expected[b"fifo.xml"] = (None, {"not_regular_file"})
    os.link(secret, os.path.join(drop, "hardlink.xml"))
    expected[b"hardlink.xml"] = (None, {"hard_link"})
    os.mkdir(os.path.join(drop, "a-directory"))
    # Good IDocs under hostile names: newline, spaces, non-UTF-8 bytes.
    for index, name in enumerate((b"line\nbreak.xml", b"  spaced  name .xml")):
        lab.docnum += 1
        docnum = f"{lab.docnum:016d}"
        lab.generated.add(f"idoc:ODD:100:{docnum}")
        _write(drop, name, idoc % docnum.encode())
    # A name that is not UTF-8 cannot be named in an event: quarantined under an escaped name.
    latin1 = b"latin1-\xe9\xff.xml"
    _write(drop, latin1, idoc % b"8888888888888888")
    expected[b"latin1-%E9%FF.xml"] = (None, {"file_name_not_utf8"})
    # Files deleted between listing and opening: created and removed around the settle time.
    for index in range(60):
        path = os.path.join(drop, f"vanishing-{index}.xml")
        with open(path, "wb") as f:
            f.write(idoc % b"9999999999999999")
        time.sleep(0.05 + (index % 5) * 0.03)
        try:
            os.unlink(path)
        except FileNotFoundError:
            lab.generated.add("idoc:ODD:100:9999999999999999")  # the agent was quicker: a good IDoc

    def finished():
        names = set(os.listdir(os.fsencode(drop)))
        return names <= {b"a-directory"}
    lab.wait_until(finished, 120, "hostile: entries left in the drop directory: "
                   + repr(sorted(os.listdir(os.fsencode(drop)))[:10]))
    os.rmdir(os.path.join(drop, "a-directory"))
    reasons = {}
    for entry in os.listdir(os.fsencode(lab.dirs["error"])):
        if entry.endswith(b".reason.json"):
            import json
            with open(os.path.join(os.fsencode(lab.dirs["error"]), entry)) as f:
                reasons[entry[: -len(b".reason.json")]] = json.load(f)["reason"]
    problems = []
    for name, (_, allowed) in expected.items():
        got = reasons.get(name)
        if got not in allowed:
            problems.append(f"{name!r}: reason {got!r}, expected one of {sorted(allowed)}")
    unexpected = sorted(set(reasons) - set(expected))
    if unexpected:
        problems.append(f"quarantined but should not be: {unexpected}")
    if lab.agent.poll() is not None:
        problems.append(f"the agent exited with {lab.agent.returncode}")
    with open(secret) as f:
        if f.read() != "not for the hub\n":
            problems.append("the file outside the drop directory changed")
    result = lab.settle_and_check("hostile", allow_rejected=len(expected))
    result.update(quarantined_reasons={k.decode("utf-8", "replace"): v for k, v in reasons.items()}, problems=problems)
    if problems:
        log("hostile: FAILED " + "; ".join(problems))
        raise CampaignFailure("hostile: " + "; ".join(problems))
    log("hostile: OK, reasons " + json_dumps(result["quarantined_reasons"]))
    return result


def json_dumps(value):
    import json
    return json.dumps(value)
