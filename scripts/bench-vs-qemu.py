#!/usr/bin/env python3
"""Runs blockkit and qemu-img alternately on the same files and prints ratio tables.

Every workload of docs/PERFORMANCE.md: builds its inputs with qemu-img/qemu-io (a neutral
producer), then for each of --runs rounds runs qemu-img and blockkit back to back (alternating
which goes first) and reports blockkit time / qemu-img time as median, min and max.

Usage: scripts/bench-vs-qemu.py [--runs 5] [--dir /dev/shm/blockkit-bench] [--quick]
                                [--only REGEX] [--skip REGEX]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
GIB = 1 << 30


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def timed(cmd, env=None):
    """Wall time of one command, its output, and peak RSS (KiB) and CPU seconds via /usr/bin/time."""
    t = ["/usr/bin/time", "-f", "%M %U %S"] if os.path.exists("/usr/bin/time") else []
    start = time.perf_counter()
    p = subprocess.run(t + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, **env) if env else None)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    rss = cpu = None
    if t:
        last = p.stderr.strip().splitlines()[-1:]
        m = re.fullmatch(r"(\d+) ([0-9.]+) ([0-9.]+)", last[0]) if last else None
        if m:
            rss, cpu = int(m.group(1)), float(m.group(2)) + float(m.group(3))
    return wall, p.stdout, rss, cpu


def run_completed(out):
    m = re.search(r"Run completed in ([0-9.]+) seconds", out)
    return float(m.group(1)) if m else None


def allocated_bytes(path):
    return os.stat(path).st_blocks * 512


class Bench:
    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        self.bk = [os.path.join(ROOT, "blockkit")]
        self.rows = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def build_inputs(self):
        os.makedirs(self.dir, exist_ok=True)
        full = self.args.full_size
        if not os.path.exists(self.path("full.raw")):
            print("building inputs in %s ..." % self.dir, file=sys.stderr)
            with open(self.path("full.raw"), "wb") as f:
                chunk = os.urandom(4 * MIB)
                for i in range(full // (4 * MIB)):
                    f.write(chunk[i % 7:] + chunk[:i % 7])
            sh(["qemu-img", "convert", "-f", "raw", "-O", "vdi", self.path("full.raw"),
                self.path("full.vdi")])
            sh(["qemu-img", "create", "-f", "vdi", self.path("sparse.vdi"), "100G"])
            sh(["truncate", "-s", "100G", self.path("sparse.raw")])
            for i, off in enumerate([0, 7 * GIB, 33 * GIB + 12345 * 512, 64 * GIB, 99 * GIB]):
                cmd = "write -P %d %d 1M" % (0x11 * (i + 1), off)
                sh(["qemu-io", "-f", "vdi", "-c", cmd, self.path("sparse.vdi")])
                sh(["qemu-io", "-f", "raw", "-c", cmd, self.path("sparse.raw")])
            sh(["qemu-img", "create", "-f", "vdi", self.path("blocks100k.vdi"), "100000M"])
        if not os.path.exists(self.path("mixed.raw")):
            # Half compressible (text), half not (noise), 1 MiB each: what -c and
            # streamOptimized meet in a real disk, without timing zlib on pure noise alone.
            text = (b"the quick brown fox jumps over the lazy dog 0123456789\n" * 20000)[:MIB]
            with open(self.path("mixed.raw"), "wb") as f:
                for i in range(self.args.mixed_size // MIB):
                    f.write(text if i % 2 == 0 else os.urandom(MIB))
        for fmt, opts in (("qcow2", []), ("vmdk", []), ("vhdx", []), ("vpc", [])):
            if not os.path.exists(self.path("full." + fmt)):
                sh(["qemu-img", "convert", "-f", "raw", "-O", fmt] + opts
                   + [self.path("full.raw"), self.path("full." + fmt)])
        if not os.path.exists(self.path("small.vdi")):
            sh(["qemu-img", "create", "-f", "vdi", self.path("small.vdi"), "64M"])
        if not os.path.exists(self.path("Hello.class")):
            with open(self.path("Hello.java"), "w") as f:
                f.write('public class Hello { public static void main(String[] a) '
                        '{ System.out.println("hello"); } }\n')
            sh(["javac", "-d", self.dir, self.path("Hello.java")])
        if not os.path.exists(self.path("largest.vdi")):
            # The largest VDI QEMU allows: 512 TiB - 128 MiB, 536870784 blocks, a 2 GiB map.
            sh(["qemu-img", "create", "-f", "vdi", self.path("largest.vdi"), "562949819203584"])
        # warm the tool (builds the jar and the class-data archive on first use)
        sh(self.bk + ["info", self.path("full.vdi")])

    def wanted(self, name):
        a = self.args
        return ((not a.only or re.search(a.only, name))
                and not (a.skip and re.search(a.skip, name)))

    def pair(self, name, qemu_cmd, bk_cmd, outputs=(), prepare=None, inner=False, check=None,
             bk_env=None, table="qemu"):
        """outputs: files the commands make, removed before each run and when the row is done."""
        if not self.wanted(name):
            return
        ratios, inner_ratios, q_times, b_times, q_rss, b_rss = [], [], [], [], [], []
        cpu_ratios = []
        for r in range(self.args.runs):
            order = [("q", qemu_cmd), ("b", bk_cmd)]
            if r % 2:
                order.reverse()
            res = {}
            for who, cmd in order:
                self.rm(*outputs)
                if prepare:
                    prepare()
                res[who] = timed(cmd, bk_env if who == "b" else None)
                if check:
                    check(who)
            q, b = res["q"], res["b"]
            q_times.append(q[0])
            b_times.append(b[0])
            ratios.append(b[0] / q[0])
            if q[3] and b[3]:
                cpu_ratios.append(b[3] / q[3])
            if q[2]:
                q_rss.append(q[2])
            if b[2]:
                b_rss.append(b[2])
            if inner:
                qi, bi = run_completed(q[1]), run_completed(b[1])
                if qi and bi:
                    inner_ratios.append(bi / qi)
        row = {
            "table": table,
            "workload": name,
            "qemu_s": statistics.median(q_times),
            "blockkit_s": statistics.median(b_times),
            "ratio": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "qemu_rss_mib": max(q_rss) / 1024 if q_rss else None,
            "blockkit_rss_mib": max(b_rss) / 1024 if b_rss else None,
            "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else None,
        }
        if inner_ratios:
            row["inner_ratio"] = statistics.median(inner_ratios)
            row["inner_min"] = min(inner_ratios)
            row["inner_max"] = max(inner_ratios)
        self.rows.append(row)
        # outputs go as soon as their row is done: 2 GiB outputs of every format would fill a
        # tmpfs (and the RAM under it)
        self.rm(*outputs)
        print(json.dumps(row), file=sys.stderr)

    def rm(self, *names):
        for n in names:
            if os.path.exists(self.path(n)):
                os.remove(self.path(n))

    def jvm_floor(self):
        """Median wall time of a bare JVM start (java -version), the floor of any Java tool."""
        times = [timed(["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                        "-version"])[0] for _ in range(max(5, self.args.runs))]
        self.floor = statistics.median(times)

    def run(self):
        p = self.path
        bk = self.bk
        self.jvm_floor()
        self.formats()
        self.nbd()
        self.pair("start-up: --version", ["qemu-img", "--version"], bk + ["--version"])
        # The start-up goal: blockkit's short commands against the floor of any Java tool, a
        # hello-world run with the launcher's short-command flags.
        hello = ["java", "-XX:+UseSerialGC", "-Xss2m", "-XX:TieredStopAtLevel=1", "-cp",
                 self.dir, "Hello"]
        for cmd in ("info", "check", "map"):
            self.pair("%s small.vdi (64 MiB)" % cmd, hello, bk + [cmd, p("small.vdi")],
                      table="floor")
        size = "%d MiB" % (self.args.full_size // MIB) if self.args.quick else "2 GiB"
        self.pair("convert %s full VDI -> raw" % size,
                  ["qemu-img", "convert", "-f", "vdi", "-O", "raw", p("full.vdi"), p("o.raw")],
                  bk + ["convert", "-f", "vdi", "-O", "raw", p("full.vdi"), p("o.raw")],
                  outputs=["o.raw"])
        self.pair("convert %s raw -> VDI" % size,
                  ["qemu-img", "convert", "-f", "raw", "-O", "vdi", p("full.raw"), p("o.vdi")],
                  bk + ["convert", "-f", "raw", "-O", "vdi", p("full.raw"), p("o.vdi")],
                  outputs=["o.vdi"])
        self.pair("compare %s raw with the VDI of the same data" % size,
                  ["qemu-img", "compare", "-f", "raw", "-F", "vdi", p("full.raw"), p("full.vdi")],
                  bk + ["compare", "-f", "raw", "-F", "vdi", p("full.raw"), p("full.vdi")])
        sparse_sizes = {}

        def record(name):
            def f(who):
                sparse_sizes.setdefault(name, {})[who] = allocated_bytes(p(name))
            return f
        self.pair("convert 100 GiB sparse VDI (5 MiB data) -> raw",
                  ["qemu-img", "convert", "-f", "vdi", "-O", "raw", p("sparse.vdi"), p("s.raw")],
                  bk + ["convert", "-f", "vdi", "-O", "raw", p("sparse.vdi"), p("s.raw")],
                  outputs=["s.raw"], check=record("s.raw"))
        self.pair("convert 100 GiB sparse raw (5 MiB data) -> VDI",
                  ["qemu-img", "convert", "-f", "raw", "-O", "vdi", p("sparse.raw"), p("s.vdi")],
                  bk + ["convert", "-f", "raw", "-O", "vdi", p("sparse.raw"), p("s.vdi")],
                  outputs=["s.vdi"], check=record("s.vdi"))
        n = str(self.args.requests)
        for depth in ("1", "16"):
            self.pair("bench read 4 KiB x %s, depth %s" % (n, depth),
                      ["qemu-img", "bench", "-f", "vdi", "-c", n, "-d", depth, "-s", "4k",
                       p("full.vdi")],
                      bk + ["bench", "-f", "vdi", "-c", n, "-d", depth, "-s", "4k", p("full.vdi")],
                      inner=True)

        def fresh():
            sh(["qemu-img", "create", "-f", "vdi", p("w.vdi"), "8G"])
        # A non-zero pattern: blockkit allocates nothing for zeros (qemu's VDI driver does), so
        # the default all-zero writes would not measure allocation at all.
        self.pair("bench write 4 KiB x %s sequential, allocating" % n,
                  ["qemu-img", "bench", "-w", "--pattern=165", "-f", "vdi", "-c", n, "-d", "1",
                   "-s", "4k", p("w.vdi")],
                  bk + ["bench", "-w", "--pattern=165", "-f", "vdi", "-c", n, "-d", "1", "-s", "4k",
                        p("w.vdi")],
                  outputs=["w.vdi"], prepare=fresh, inner=True)
        for img in ("blocks100k.vdi", "sparse.vdi"):
            self.pair("info %s" % img, ["qemu-img", "info", p(img)], bk + ["info", p(img)])
            self.pair("check %s" % img, ["qemu-img", "check", p(img)], bk + ["check", p(img)])
        # blockkit in a 256 MiB heap: the block map is read lazily and check keeps a bit per block.
        small_heap = {"JAVA_TOOL_OPTIONS": "-Xmx256m"}
        for cmd in ("info", "check"):
            self.pair("%s largest.vdi (2 GiB map; blockkit -Xmx256m)" % cmd,
                      ["qemu-img", cmd, p("largest.vdi")], bk + [cmd, p("largest.vdi")],
                      bk_env=small_heap)
        self.sparse_sizes = sparse_sizes

    def formats(self):
        """convert rows for every format with a writer in both tools."""
        p = self.p = self.path
        size = "%d MiB" % (self.args.full_size // MIB) if self.args.quick else "2 GiB"
        mixed = "%d MiB" % (self.args.mixed_size // MIB)

        def conv(name, src, src_fmt, dst, dst_fmt, extra=()):
            extra = list(extra)
            self.pair(name,
                      ["qemu-img", "convert", "-f", src_fmt, "-O", dst_fmt] + extra + [p(src), p(dst)],
                      self.bk + ["convert", "-f", src_fmt, "-O", dst_fmt] + extra + [p(src), p(dst)],
                      outputs=[dst])
        conv("convert %s raw -> raw" % size, "full.raw", "raw", "o.raw", "raw")
        conv("convert %s raw -> raw, copy offload (-C)" % size, "full.raw", "raw", "o.raw", "raw",
             ["-C"])
        for fmt, label in (("qcow2", "qcow2"), ("vmdk", "VMDK monolithicSparse"),
                           ("vhdx", "VHDX"), ("vpc", "VHD (vpc)")):
            conv("convert %s raw -> %s" % (size, label), "full.raw", "raw", "o." + fmt, fmt)
            conv("convert %s %s -> raw" % (size, label), "full." + fmt, fmt, "o.raw", "raw")
        conv("convert %s half-compressible raw -> qcow2 -c" % mixed, "mixed.raw", "raw",
             "c.qcow2", "qcow2", ["-c"])
        conv("convert %s half-compressible raw -> VMDK streamOptimized" % mixed, "mixed.raw",
             "raw", "c.vmdk", "vmdk", ["-o", "subformat=streamOptimized"])

    def nbd(self):
        """nbdcopy reading the same image from qemu-nbd and from blockkit serve, on loopback."""
        if not (shutil.which("nbdcopy") and shutil.which("qemu-nbd")):
            print("nbdcopy or qemu-nbd missing: NBD rows skipped", file=sys.stderr)
            return
        size = "%d MiB" % (self.args.full_size // MIB) if self.args.quick else "2 GiB"
        for fmt in ("raw", "qcow2"):
            name = "NBD: nbdcopy of a %s %s export to /dev/null" % (size, fmt)
            if not self.wanted(name):
                continue
            qport, bport = free_port(), free_port()
            servers = [
                subprocess.Popen(["qemu-nbd", "-r", "-t", "-f", fmt, "-b", "127.0.0.1", "-p",
                                  str(qport), "-e", "4", self.path("full." + fmt)]),
                subprocess.Popen(self.bk + ["serve", "-r", "-t", "-f", fmt, "-b", "127.0.0.1",
                                            "-p", str(bport), "-e", "4", self.path("full." + fmt)])]
            try:
                for port in (qport, bport):
                    wait_port(port)
                self.pair(name, ["nbdcopy", "nbd://127.0.0.1:%d" % qport, "/dev/null"],
                          ["nbdcopy", "nbd://127.0.0.1:%d" % bport, "/dev/null"])
            finally:
                for s in servers:
                    s.send_signal(signal.SIGTERM)
                    s.wait(timeout=30)

    def report(self):
        print("| workload | qemu-img median (s) | blockkit median (s) | ratio median | min | max |"
              " CPU-time ratio | peak RSS qemu-img / blockkit (MiB) |")
        print("|---|---|---|---|---|---|---|---|")
        for r in self.rows:
            if r["table"] != "qemu":
                continue
            rss = ""
            if r["qemu_rss_mib"] and r["blockkit_rss_mib"]:
                rss = "%.0f / %.0f" % (r["qemu_rss_mib"], r["blockkit_rss_mib"])
            cpu = "%.2f" % r["cpu_ratio"] if r.get("cpu_ratio") else ""
            print("| %s | %.3f | %.3f | **%.2f** | %.2f | %.2f | %s | %s |" % (
                r["workload"], r["qemu_s"], r["blockkit_s"], r["ratio"], r["min"], r["max"], cpu,
                rss))
            if "inner_ratio" in r:
                print("| %s (in-tool 'Run completed' time) | | | **%.2f** | %.2f | %.2f | | |" % (
                    r["workload"], r["inner_ratio"], r["inner_min"], r["inner_max"]))
        print()
        floor = [r for r in self.rows if r["table"] == "floor"]
        if floor:
            print("| start-up against a Java hello-world | hello median (s) | blockkit median (s) |"
                  " ratio median | min | max | CPU-time ratio |")
            print("|---|---|---|---|---|---|---|")
            for r in floor:
                cpu = "%.2f" % r["cpu_ratio"] if r.get("cpu_ratio") else ""
                print("| %s | %.3f | %.3f | **%.2f** | %.2f | %.2f | %s |" % (
                    r["workload"], r["qemu_s"], r["blockkit_s"], r["ratio"], r["min"], r["max"],
                    cpu))
            print()
        if hasattr(self, "floor"):
            print("- bare JVM start (java -version, CDS on, C1 only) on this machine: %.3f s" %
                  self.floor)
        for name, d in getattr(self, "sparse_sizes", {}).items():
            print("- allocated bytes of %s: qemu-img %s, blockkit %s" % (
                name, d.get("q"), d.get("b")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/dev/shm/blockkit-bench")
    ap.add_argument("--quick", action="store_true", help="256 MiB full image, 20000 requests")
    ap.add_argument("--keep", action="store_true", help="keep the inputs for the next run")
    ap.add_argument("--only", help="run only the workloads whose name matches this regex")
    ap.add_argument("--skip", help="skip the workloads whose name matches this regex")
    args = ap.parse_args()
    args.full_size = 256 * MIB if args.quick else 2 * GIB
    args.requests = 20000 if args.quick else 200000
    args.mixed_size = 64 * MIB if args.quick else 512 * MIB
    for tool in ("qemu-img", "qemu-io"):
        if not shutil.which(tool):
            sys.exit("%s is missing: apt-get install qemu-utils" % tool)
    b = Bench(args)
    try:
        b.build_inputs()
        b.run()
        b.report()
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
