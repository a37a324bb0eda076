"""Driving powercutfs (powercutfs.c): build it, mount a "host", cut its power, remount it on
what survived. Used by the power phase of the campaign and by powercutfs_test.py."""
import os
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "powercutfs.c")


class PowerCutError(Exception):
    pass


def build(out_dir):
    """Compiles powercutfs into out_dir (again only when the source is newer); returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    binary = os.path.join(out_dir, "powercutfs")
    if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(SOURCE):
        return binary
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True, text=True)
    if flags.returncode != 0:
        raise PowerCutError("pkg-config does not know fuse3 (install libfuse3-dev): " + flags.stderr.strip())
    result = subprocess.run(["gcc", "-O2", "-Wall", "-o", binary + ".tmp", SOURCE] + flags.stdout.split(),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise PowerCutError("compiling powercutfs failed:\n" + result.stderr)
    os.rename(binary + ".tmp", binary)
    return binary


def available():
    """Why powercutfs cannot run here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is missing (Debian package fuse3)"
    if shutil.which("gcc") is None:
        return "gcc is missing"
    if subprocess.run(["pkg-config", "--exists", "fuse3"]).returncode != 0:
        return "libfuse3-dev is missing"
    return None


def is_mounted(path):
    """From the mount table (a dead mount answers EIO to stat, so os.path.ismount cannot tell)."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4].replace("\\040", " ") == path:
                return True
    return False


class Host:
    """One machine's disk: a powercutfs mount at `mount_point` over a backing directory that is
    replaced by what survived at every cut. Generations live under `root`."""

    def __init__(self, binary, root, name):
        self.binary = binary
        self.root = root
        self.name = name
        self.mount_point = os.path.join(root, "mnt")
        self.generation = 0
        self.backing = os.path.join(root, "gen0")
        self.state = None
        self.process = None
        os.makedirs(self.mount_point, exist_ok=True)
        os.makedirs(self.backing, exist_ok=True)
        self.log = os.path.join(root, "powercutfs.log")

    def mount(self):
        self.state = os.path.join(self.root, f"state{self.generation}")
        os.makedirs(self.state)
        out = open(self.log, "a")
        self.process = subprocess.Popen([self.binary, self.backing, self.mount_point, self.state, "-f"],
                                        stdout=out, stderr=out)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise PowerCutError(f"{self.name}: powercutfs exited with {self.process.returncode}; see {self.log}")
            if is_mounted(self.mount_point) and os.path.exists(os.path.join(self.state, "control")):
                return
            time.sleep(0.05)
        raise PowerCutError(f"{self.name}: the mount did not appear")

    def command(self, line, timeout=120):
        """Sends one control line; returns the reply as a dict (raises on an error reply)."""
        answer = os.path.join(self.state, "reply")
        if os.path.exists(answer):
            os.unlink(answer)
        fd = os.open(os.path.join(self.state, "control"), os.O_WRONLY)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(answer) as f:
                    text = f.read().strip()
                break
            except FileNotFoundError:
                time.sleep(0.01)
        else:
            raise PowerCutError(f"{self.name}: no answer to {line!r}")
        words = text.split()
        if not words or words[0] != "ok":
            raise PowerCutError(f"{self.name}: {line!r} -> {text}")
        return dict(word.split("=", 1) for word in words[1:])

    def status(self):
        return self.command("status")

    def cut(self, mode):
        """Cuts the power: the survivors become the next backing. The mount answers EIO until
        unmount() (kill what used it first)."""
        survived = os.path.join(self.root, f"gen{self.generation + 1}")
        counts = self.command(f"cut {mode} {survived}")
        self.generation += 1
        self.previous_backing, self.backing = self.backing, survived
        return counts

    def unmount(self):
        if self.process is None:
            return
        deadline = time.time() + 20
        while is_mounted(self.mount_point) and time.time() < deadline:
            if subprocess.run(["fusermount3", "-u", self.mount_point], capture_output=True).returncode != 0:
                time.sleep(0.1)
        if is_mounted(self.mount_point):
            subprocess.run(["fusermount3", "-u", "-z", self.mount_point], capture_output=True)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart_after_cut(self):
        """Unmounts the dead mount, drops the old generation, mounts the survivors."""
        self.unmount()
        for old in (getattr(self, "previous_backing", None), self.state):
            if old and os.path.isdir(old):
                shutil.rmtree(old, ignore_errors=True)
        self.mount()

    def path(self, *parts):
        return os.path.join(self.mount_point, *parts)
