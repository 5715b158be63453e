#!/usr/bin/python3
"""The training monitor's page in a real browser: headless Chromium, driven by
Selenium, opens the page of a micro training run (a resumed one: 20 iterations
first, then a monitored session) and checks that the preview loads and changes
after the next preview, that the loss chart holds one series per identity
with the first session's saved points and one point per iteration reported
since, the run boundary marked, that the page's numbers
match /status.json, and that the page logs no errors (a blocked script or
style would). Saves a screenshot. Then the same page from dsengine monitor on
the saved model: both runs, one point per saved row, no errors.

usage: monitor_browser_test.py DSENGINE SYNTH_FACES REPO_ROOT SCRATCH
Exits 77 (skipped) only when Selenium, Chromium or chromedriver is missing."""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

bin_, synth, root, scratch = sys.argv[1:5]
failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAILED: " + what, file=sys.stderr)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    print("monitor_browser: skipped: python3-selenium is not installed (apt-get install python3-selenium)")
    sys.exit(77)
chromium = shutil.which("chromium") or "/usr/bin/chromium"
driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not (os.access(chromium, os.X_OK) and os.access(driver_bin, os.X_OK)):
    print("monitor_browser: skipped: chromium or chromedriver is missing (apt-get install chromium chromium-driver)")
    sys.exit(77)

shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
for ident, seed in (("A", 1), ("B", 2)):
    subprocess.run([synth, "--identity", str(ord(ident) - 65), "--count", "24", "--size", "256",
                    "--seed", str(seed), os.path.join(scratch, ident)], check=True, stdout=subprocess.DEVNULL)

config = os.environ.get("MONITOR_TEST_CONFIG", os.path.join(root, "tests/data/train_micro.json"))
common = [bin_, "train", "--config", config, "--faces", "A=" + os.path.join(scratch, "A"),
          "--faces", "B=" + os.path.join(scratch, "B"), "--batch", "8", "--model", os.path.join(scratch, "m")]
FIRST = 20  # the first session: saves (and loss history points) at 10 and 20
log = open(os.path.join(scratch, "train.log"), "w+")
check(subprocess.run(common + ["--iterations", str(FIRST), "--save-every", "10"], stdout=log,
                     stderr=subprocess.STDOUT).returncode == 0, "the first session")
train = subprocess.Popen(common + ["--iterations", "100000", "--save-every", "40", "--preview-every", "15",
                                   "--monitor", "0"], stdout=log, stderr=subprocess.STDOUT)
# whatever fails below, the training does not outlive the test
atexit.register(lambda: train.poll() is None and train.kill())
url = None
for _ in range(200):
    log.seek(0)
    for line in log.read().splitlines():
        if line.startswith("monitor: "):
            url = line.split(" ", 1)[1].strip()
    if url or train.poll() is not None:
        break
    time.sleep(0.05)
check(url is not None and url.startswith("http://127.0.0.1:"), "the monitor's address is printed: %r" % url)


def get(path):
    with urllib.request.urlopen(url + path.lstrip("/"), timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def finish():
    if train.poll() is None:
        train.send_signal(signal.SIGINT)
        try:
            train.wait(60)
        except subprocess.TimeoutExpired:
            train.kill()
    print("monitor_browser: %d passed, %d failed" % (passed, len(failures)))
    if failures:
        log.seek(0)
        print(log.read()[-3000:], file=sys.stderr)
    sys.exit(1 if failures else 0)


if not url:
    finish()

opts = webdriver.ChromeOptions()
opts.binary_location = chromium
profile = tempfile.mkdtemp(prefix="chromium-", dir=scratch)
for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--window-size=1280,1100", "--user-data-dir=" + profile):
    opts.add_argument(flag)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
browser = webdriver.Chrome(service=Service(driver_bin), options=opts)
browser.set_script_timeout(20)


def wait_for(script, what, timeout=40):
    end = time.time() + timeout
    while time.time() < end:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    check(False, "timed out waiting for " + what)
    return None


# the preview as the page drew it: its serial and its pixels
PREVIEW = """const img = document.getElementById('preview');
if (!img.dataset.serial || !img.complete || !img.naturalWidth) return null;
const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
c.getContext('2d').drawImage(img, 0, 0);
return [Number(img.dataset.serial), c.toDataURL(), img.naturalWidth];"""

try:
    browser.get(url)
    first = wait_for("return (%s)" % ("(() => {" + PREVIEW + "})()"), "the first preview")
    if first:
        check(first[2] > 0, "the preview image loaded")
        second = wait_for("const p = (() => {%s})(); return p && p[0] > %d ? p : null;" % (PREVIEW, first[0]),
                          "the next preview")
        if second:
            check(second[1] != first[1], "the preview changed after the next preview")
    # one refresh the test waits for: the page draws what it fetched, then we read it
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; window.dsMonitor.refresh().then(done, (e) => done(String(e)));")
    check(isinstance(status, dict), "the page's refresh returned its status: %r" % (status,))
    if isinstance(status, dict):
        text = lambda i: browser.find_element("id", i).text
        value = lambda i: browser.find_element("id", i).get_attribute("data-value")
        it = status["iteration"]
        check(value("iteration") == str(it), "iteration %s shown as %s" % (it, value("iteration")))
        check(text("iteration") == ("%d / %d" % (it, status["target"]) if status["target"] else str(it)),
              "iteration text " + text("iteration"))
        check(abs(float(text("samples")) - status["samples_per_s"]) < 0.051,
              "samples/s %s shown as %s" % (status["samples_per_s"], text("samples")))
        check(text("device") == status["device"], "device %r shown as %r" % (status["device"], text("device")))
        check(text("parameters") == "{:,}".format(status["parameters"]), "parameters " + text("parameters"))
        ck = status["checkpoint"]
        check(ck is None or value("checkpoint") == str(ck["iteration"]), "checkpoint %r shown as %r" % (ck, value("checkpoint")))
        for name in status["identities"]:
            check("%s %.4f" % (name, status["loss"][name]) in text("loss"), "loss of %s in %r" % (name, text("loss")))
        check(status["config"]["name"] in text("config"), "config summary " + text("config"))
        # /status.json fetched apart from the page agrees, later in time
        code, ctype, body = get("/status.json")
        later = json.loads(body)
        check(code == 200 and ctype == "application/json", "status.json answers JSON")
        for key in ("device", "parameters", "config", "identities", "run_first_iteration", "batch"):
            check(later[key] == status[key], "status.json %s %r equals the page's %r" % (key, later[key], status[key]))
        check(later["iteration"] >= it, "status.json iteration %d follows the page's %d" % (later["iteration"], it))
        # the loss chart: one series per identity, one point per iteration
        chart = browser.find_element("id", "loss-chart")
        points = json.loads(chart.get_attribute("data-points"))
        last = int(chart.get_attribute("data-last-iteration") or 0)
        check(int(chart.get_attribute("data-series")) == len(status["identities"]) == 2, "two loss series")
        check(sorted(points) == sorted(status["identities"]), "a series per identity: %r" % points)
        check(it <= last <= later["iteration"], "the chart reaches the status's iteration (%d <= %d <= %d)" % (it, last, later["iteration"]))
        check(status["run_first_iteration"] == FIRST and len(status["runs"]) == 2, "a second run from %d" % FIRST)
        check(all(n == 2 + last - FIRST for n in points.values()),
              "2 saved points, then one per iteration: %r up to iteration %d" % (points, last))
        check(chart.get_attribute("data-marks") == "1", "the run boundary is marked")
        browser.find_element("id", "log-scale").click()
        check(chart.get_attribute("data-scale") == "log", "the log scale toggle redraws the chart")
        code, ctype, body = get("/loss.png")
        check(code == 200 and ctype == "image/png" and body[:8] == b"\x89PNG\r\n\x1a\n", "loss.png is served")
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    check(not severe, "the page logged no errors: %r" % severe)
    browser.save_screenshot(os.path.join(scratch, "monitor.png"))
    check(os.path.getsize(os.path.join(scratch, "monitor.png")) > 10000, "a screenshot was saved")

    # the same page for the saved model: dsengine monitor after the training stopped
    train.send_signal(signal.SIGINT)
    check(train.wait(60) == 130, "the training stopped on SIGINT")
    mlog = open(os.path.join(scratch, "monitor.log"), "w+")
    watcher = subprocess.Popen([bin_, "monitor", "--model", os.path.join(scratch, "m"), "--port", "0"],
                               stdout=mlog, stderr=subprocess.STDOUT)
    atexit.register(lambda: watcher.poll() is None and watcher.kill())
    url = None
    for _ in range(200):
        mlog.seek(0)
        url = next((l.split(" ", 1)[1].strip() for l in mlog.read().splitlines() if l.startswith("monitor: ")), None)
        if url:
            break
        time.sleep(0.05)
    check(url is not None, "dsengine monitor printed its address")
    if url:
        browser.get(url)
        browser.get_log("browser")  # what the stopped run's page logged is gone with it
        wait_for("return document.getElementById('state').textContent === 'saved'", "the saved model's page")
        status = browser.execute_async_script(
            "const done = arguments[arguments.length - 1]; window.dsMonitor.refresh().then(done, (e) => done(String(e)));")
        chart = browser.find_element("id", "loss-chart")
        if isinstance(status, dict):
            points = json.loads(chart.get_attribute("data-points"))
            check(status["state"] == "saved" and len(status["runs"]) == 2, "saved: %r" % status.get("runs"))
            check(all(n == status["rows"] for n in points.values()) and len(points) == 2,
                  "the saved model's chart: %r points, %d rows" % (points, status["rows"]))
            check(chart.get_attribute("data-marks") == "1", "the saved model's run boundary")
        severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        check(not severe, "the saved model's page logged no errors: %r" % severe)
    watcher.send_signal(signal.SIGINT)
    check(watcher.wait(30) == 0, "dsengine monitor stops on SIGINT")
finally:
    browser.quit()
finish()
