#!/usr/bin/python3
"""What watching costs training: samples/s of a tiny training run with no
monitor, with --monitor and the page open in headless Chromium, with 200
loopback connections each polling like a page (/status.json and the new rows
of /loss.json once a second), and with 200 connections asking as fast as they
can. Conditions are interleaved, REPS times each; prints best and median.
On a shared, noisy machine samples/s hardly resolve a few per cent, so it also
reads the CPU time of dsengine's threads from /proc: the server thread's
(libmicrohttpd's "MHD-single") share of the process is what watching costs the
training process itself.

usage: bench/monitor_load.py DSENGINE SYNTH_FACES REPO_ROOT SCRATCH [ITERATIONS] [REPS] [CONFIG]
(defaults 150 iterations, 3 reps, configs/tiny.json; DSENGINE_TUNE=off is set;
MONITOR_BENCH_CONDITIONS=none,page,... picks conditions)"""
import asyncio
import faulthandler
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

faulthandler.register(signal.SIGUSR1)  # kill -USR1 prints where a stuck run waits
bin_, synth, root, scratch = sys.argv[1:5]
iterations = int(sys.argv[5]) if len(sys.argv) > 5 else 150
reps = int(sys.argv[6]) if len(sys.argv) > 6 else 3
config = sys.argv[7] if len(sys.argv) > 7 else os.path.join(root, "configs/tiny.json")
os.environ["DSENGINE_TUNE"] = "off"
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
for ident, seed in (("A", 1), ("B", 2)):
    subprocess.run([synth, "--identity", str(ord(ident) - 65), "--count", "64", "--size", "256",
                    "--seed", str(seed), os.path.join(scratch, ident)], check=True, stdout=subprocess.DEVNULL)


def train(tag, monitor, iters):
    model = os.path.join(scratch, "m-" + tag)
    shutil.rmtree(model, ignore_errors=True)
    args = [bin_, "train", "--config", config, "--faces", "A=" + os.path.join(scratch, "A"),
            "--faces", "B=" + os.path.join(scratch, "B"), "--model", model, "--iterations", str(iters)]
    if monitor:
        args += ["--monitor", "127.0.0.1:0"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_url(p):
    for line in p.stdout:
        if line.startswith("monitor: "):
            return line.split(" ", 1)[1].strip()
    return None


def samples_per_s(p):
    out = p.stdout.read()
    p.wait()
    m = re.search(r"trained iterations \d+\.\.\d+ in \S+ \(([0-9.]+) samples/s\)", out)
    if not m:
        sys.exit("no summary in:\n" + out)
    return float(m.group(1))


async def poller(host, port, stop, counter, pause):
    """One keep-alive connection polling as the page does."""
    reader, writer = await asyncio.open_connection(host, port)
    since = -1
    try:
        while not stop.is_set():
            for path in ("/status.json", "/loss.json?since=%d" % since):
                writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                n = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
                body = await reader.readexactly(n)
                if path.startswith("/loss"):
                    m = re.search(rb'"next":(-?\d+)', body)
                    since = int(m.group(1)) if m else since
                counter[0] += 1
            if pause:
                await asyncio.sleep(pause)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass  # the server went away with the training
    finally:
        writer.close()


def load(url, stop, counter, pause, connections=200):
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()

    async def main():
        ev = asyncio.Event()

        async def watch():
            while not stop.is_set():
                await asyncio.sleep(0.1)
            ev.set()
        tasks = [asyncio.create_task(poller(host, int(port), ev, counter, pause)) for _ in range(connections)]
        await watch()
        await asyncio.gather(*tasks, return_exceptions=True)
    asyncio.run(main())


def cpu_ticks(pid, out):
    """Samples utime + stime per thread name until the process ends; keeps the last."""
    while True:
        now = {}
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    stat = f.read()
                name = stat[stat.index("(") + 1:stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2:].split()
                now[name] = now.get(name, 0) + int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            return
        out.clear()
        out.update(now)
        time.sleep(0.2)


def run_condition(name, k):
    p = train("%s-%d" % (name, k), name != "none", iterations)
    ticks = {}
    sampler = threading.Thread(target=cpu_ticks, args=(p.pid, ticks))
    sampler.start()
    browser, stop, counter, th = None, threading.Event(), [0, 0], None
    if name != "none":
        url = read_url(p)
        if name == "page":
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
            opts = webdriver.ChromeOptions()
            opts.binary_location = "/usr/bin/chromium"
            for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--user-data-dir=" + tempfile.mkdtemp(dir=scratch)):
                opts.add_argument(flag)
            browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
            browser.get(url)
        else:
            th = threading.Thread(target=load, args=(url, stop, counter, 1.0 if name == "200-polling" else 0))
            th.start()
    sps = samples_per_s(p)
    sampler.join()
    stop.set()
    if th:
        th.join()
    if browser:
        browser.quit()
    server = ticks.get("MHD-single", 0)
    return sps, counter, server / max(1, sum(ticks.values()))


conditions = os.environ.get("MONITOR_BENCH_CONDITIONS", "none,page,200-polling,200-flat-out").split(",")
print("warm-up (kernel cache)...", flush=True)
samples_per_s(train("warmup", False, 5))
results = {c: [] for c in conditions}
shares = {c: [] for c in conditions}
for k in range(reps):
    for c in conditions:
        sps, counter, share = run_condition(c, k)
        results[c].append(sps)
        shares[c].append(share)
        extra = " (%d requests answered)" % counter[0] if c.startswith("200") else ""
        print("rep %d %-13s %.1f samples/s, server thread %.2f %% of dsengine's CPU time%s"
              % (k + 1, c, sps, 100 * share, extra), flush=True)
base = max(results["none"])
print("\n%-13s %8s %8s %12s %s" % ("condition", "best", "median", "best vs none", "server CPU share (median)"))
for c in conditions:
    b, m = max(results[c]), statistics.median(results[c])
    print("%-13s %8.1f %8.1f %+11.1f %% %.2f %%" % (c, b, m, 100 * (b / base - 1), 100 * statistics.median(shares[c])))
