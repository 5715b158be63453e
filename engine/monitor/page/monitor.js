// The training monitor's page: polls /status.json every second, fetches the
// new rows of /loss.json, reloads the preview when a new one is written, and
// draws the charts on canvas with the small plotter below (no library).
'use strict';

const POLL_MS = 1000;
const COLORS = ['#ff8c3c', '#50aaff', '#78dc78', '#f064c8', '#fadc50', '#a082ff', '#50dcdc', '#e6e6e6'];

const model = {
  generation: null, // the feed's generation: a change means "start over"
  identities: [],
  rows: [], // [iteration, seconds|null, loss per identity...]
  since: -1,
  status: null,
  previewSerial: 0,
};

const $ = (id) => document.getElementById(id);

async function getJSON(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return r.json();
}

function reset(generation) {
  model.generation = generation;
  model.rows = [];
  model.since = -1;
}

// New rows since the last call, page by page; starts over if the feed was replaced meanwhile.
async function fetchLoss() {
  for (let pages = 0; pages < 10000; pages++) {
    const d = await getJSON('/loss.json?since=' + model.since);
    if (d.generation !== model.generation) {
      reset(d.generation);
      continue;
    }
    model.identities = d.identities;
    for (const row of d.rows) model.rows.push(row);
    model.since = d.next;
    if (!d.more) return;
  }
}

// ---- formatting ----

// h:mm:ss or m:ss; with step (a chart's tick spacing) under 10 s, seconds with a decimal
function fmtTime(s, step) {
  if (step !== undefined && step < 10 && s < 600) return s.toFixed(step < 1 ? 1 : 0) + ' s';
  if (s == null || !isFinite(s)) return '-';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
  const two = (v) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

function setValue(id, text, value) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = value === undefined ? text : String(value);
}

function configSummary(c) {
  if (!c) return '-';
  const t = c.train || {}, o = t.optimizer || {};
  return `${c.name}: ${c.input.size}px, encoder conv [${c.encoder.conv.join(', ')}] dense ${c.encoder.dense}, ` +
    `decoders ${c.decoders.join(', ')}, batch ${t.batch}, loss ${t.loss}, ${o.type} lr ${o.lr}`;
}

function renderStatus(s) {
  document.title = `dsengine ${s.config ? s.config.name : ''} ${s.iteration}`;
  $('model-name').textContent = s.config ? s.config.name : 'monitor';
  const badge = $('state');
  badge.textContent = s.state;
  badge.className = 'badge ' + s.state;
  setValue('iteration', s.target ? `${s.iteration} / ${s.target}` : String(s.iteration), s.iteration);
  setValue('samples', s.samples_per_s.toFixed(1), s.samples_per_s);
  setValue('elapsed', fmtTime(s.elapsed_s), s.elapsed_s);
  setValue('eta', s.eta_s == null ? '-' : fmtTime(s.eta_s), s.eta_s == null ? '' : s.eta_s);
  setValue('train-time', fmtTime(s.train_seconds), s.train_seconds);
  setValue('checkpoint', s.checkpoint ? `${s.checkpoint.iteration} at ${s.checkpoint.time.replace('T', ' ').replace('Z', ' UTC')}` : 'none yet',
    s.checkpoint ? s.checkpoint.iteration : '');
  setValue('loss', s.identities.map((n) => `${n} ${s.loss[n] == null ? '-' : s.loss[n].toFixed(4)}`).join('   '),
    JSON.stringify(s.loss));
  setValue('device', s.device || '-');
  setValue('parameters', s.parameters.toLocaleString('en-US'), s.parameters);
  setValue('config', configSummary(s.config));
  const body = $('runs').tBodies[0];
  body.textContent = '';
  s.runs.forEach((r, k) => {
    const tr = body.insertRow();
    for (const v of [k + 1, `${r.first + 1}..${r.last}`, fmtTime(r.seconds), r.samples_per_s.toFixed(1), r.batch, r.device, r.started.replace('T', ' ').replace('Z', '')])
      tr.insertCell().textContent = v;
  });
}

function renderPreview(s) {
  if (!s.preview || s.preview.serial === model.previewSerial) return;
  const serial = s.preview.serial;
  model.previewSerial = serial;
  const img = $('preview');
  img.onload = () => {
    img.dataset.serial = serial;
    $('preview-note').textContent = s.preview.iteration == null ? '' : `iteration ${s.preview.iteration}`;
  };
  img.src = '/preview.png?serial=' + serial;
}

// ---- the plotter ----

function niceStep(span, count) {
  const raw = span / count, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

// opt: {series: [{name, color, raw: [[x, y]], line: [[x, y]]}], marks: [{x, label}],
//       log, xFormat, yFormat, empty}
function drawChart(canvas, opt) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const L = 58, R = 12, T = 24, B = 26;
  const fy = opt.log ? (v) => Math.log10(v) : (v) => v;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of opt.series)
    for (const pts of [s.raw, s.line])
      for (const [x, y] of pts) {
        if (y == null || !isFinite(y) || (opt.log && y <= 0)) continue;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, fy(y)); y1 = Math.max(y1, fy(y));
      }
  for (const m of opt.marks) { x0 = Math.min(x0, m.x); x1 = Math.max(x1, m.x); }
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#8d929b';
  if (!(x0 <= x1) || !(y0 <= y1)) {
    g.fillText(opt.empty || 'no data yet', L + 10, T + 20);
    return;
  }
  if (x1 === x0) x1 = x0 + 1;
  const pad = (y1 - y0) * 0.05 || (opt.log ? 0.1 : Math.abs(y0) * 0.1 || 1);
  y0 -= pad; y1 += pad;
  if (!opt.log && y0 < 0 && fy(0) >= y0 - pad) y0 = Math.min(y0, 0);
  const px = (x) => L + (x - x0) / (x1 - x0) * (w - L - R);
  const py = (v) => h - B - (fy(v) - y0) / (y1 - y0) * (h - T - B);

  g.strokeStyle = '#3a3e45';
  g.lineWidth = 1;
  g.textAlign = 'right';
  const yTicks = [];
  if (opt.log) {
    const few = y1 - y0 > 1.5;
    for (let e = Math.floor(y0); e <= Math.ceil(y1); e++)
      for (const m of few ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
        const v = m * Math.pow(10, e);
        if (Math.log10(v) >= y0 && Math.log10(v) <= y1) yTicks.push(v);
      }
  }
  if (yTicks.length < 3) { // a linear scale, or a log one spanning too little for 1..9 x 10^k
    yTicks.length = 0;
    const a = opt.log ? Math.pow(10, y0) : y0, b = opt.log ? Math.pow(10, y1) : y1;
    const st = niceStep(b - a, 5);
    for (let v = Math.ceil(a / st) * st; v <= b; v += st) yTicks.push(v);
  }
  for (const v of yTicks) {
    g.beginPath(); g.moveTo(L, py(v)); g.lineTo(w - R, py(v)); g.stroke();
    g.fillText((opt.yFormat || String)(v), L - 6, py(v) + 4);
  }
  g.textAlign = 'center';
  const xs = niceStep(x1 - x0, Math.max(2, Math.floor((w - L - R) / 110)));
  for (let v = Math.ceil(x0 / xs) * xs; v <= x1; v += xs) {
    g.beginPath(); g.moveTo(px(v), T); g.lineTo(px(v), h - B); g.stroke();
    g.fillText((opt.xFormat || String)(v, xs), px(v), h - B + 15);
  }
  g.setLineDash([4, 4]);
  g.strokeStyle = '#9aa0aa';
  g.textAlign = 'left';
  for (const m of opt.marks) {
    g.beginPath(); g.moveTo(px(m.x), T); g.lineTo(px(m.x), h - B); g.stroke();
    g.fillStyle = '#9aa0aa';
    g.fillText(m.label, px(m.x) + 4, T + 10);
  }
  g.setLineDash([]);

  // a series: its raw points as a faint envelope (min..max per pixel column), its line on top
  const path = (pts, envelope) => {
    g.beginPath();
    let col = null, lo = 0, hi = 0, started = false;
    const flush = () => {
      if (col === null) return;
      if (!started) { g.moveTo(col, lo); started = true; } else g.lineTo(col, lo);
      if (envelope && hi !== lo) g.lineTo(col, hi);
    };
    for (const [x, y] of pts) {
      if (y === null) { flush(); col = null; started = false; continue; } // a gap
      if (!isFinite(y) || (opt.log && y <= 0)) continue;
      const cx = Math.round(px(x)), cy = py(y);
      if (cx !== col) { flush(); col = cx; lo = hi = cy; } else { lo = Math.min(lo, cy); hi = Math.max(hi, cy); }
    }
    flush();
    g.stroke();
  };
  opt.series.forEach((s) => {
    g.strokeStyle = s.color;
    g.globalAlpha = 0.3; g.lineWidth = 1; path(s.raw, true);
    g.globalAlpha = 1; g.lineWidth = 2; path(s.line, false);
  });
  let lx = L + 8;
  g.font = '12px system-ui, sans-serif';
  opt.series.forEach((s) => {
    g.fillStyle = s.color; g.fillRect(lx, 6, 14, 4);
    g.fillStyle = '#e4e6ea'; g.fillText(s.name, lx + 18, 12);
    lx += 30 + g.measureText(s.name).width;
  });
}

// Exponential moving average as TensorBoard draws it (debiased), restarted at each run.
function smooth(points, weight, starts) {
  const out = [];
  let ema = 0, n = 0, run = 0;
  for (const [x, y] of points) {
    while (run < starts.length && x > starts[run]) { run++; ema = 0; n = 0; }
    if (y == null || !isFinite(y)) continue;
    ema = ema * weight + (1 - weight) * y;
    n++;
    out.push([x, ema / (1 - Math.pow(weight, n))]);
  }
  return out;
}

function renderLoss(s) {
  const canvas = $('loss-chart');
  const log = $('log-scale').checked, weight = Number($('smoothing').value);
  const starts = s.runs.map((r) => r.first);
  const counts = {};
  const series = model.identities.map((name, i) => {
    const raw = [];
    for (const r of model.rows) if (r[2 + i] != null) raw.push([r[0], r[2 + i]]);
    counts[name] = raw.length;
    return { name, color: COLORS[i % COLORS.length], raw, line: smooth(raw, weight, starts) };
  });
  const marks = s.runs.slice(1).map((r, k) => ({ x: r.first, label: `run ${k + 2}` }));
  drawChart(canvas, { series, marks, log, xFormat: (v) => String(Math.round(v)), yFormat: (v) => String(+v.toPrecision(3)), empty: 'no iterations yet' });
  // what the chart holds, for scripts and tests
  canvas.dataset.series = String(series.length);
  canvas.dataset.points = JSON.stringify(counts);
  canvas.dataset.lastIteration = model.rows.length ? String(model.rows[model.rows.length - 1][0]) : '';
  canvas.dataset.scale = log ? 'log' : 'linear';
  canvas.dataset.marks = String(marks.length);
}

// samples/s over training time: measured from this run's rows (windows of >= 1 s), and each
// earlier run's mean where rows carry no time
function renderSpeed(s) {
  const perIteration = (s.batch || 0) * Math.max(1, s.identities.length);
  const live = [];
  let j = -1;
  for (let i = 0; i < model.rows.length; i++) {
    const r = model.rows[i];
    if (r[1] == null) continue;
    if (j < 0 || model.rows[j][0] >= r[0]) { j = i; continue; }
    const dt = r[1] - model.rows[j][1];
    if (dt >= 1) { live.push([r[1], (r[0] - model.rows[j][0]) * perIteration / dt]); j = i; }
  }
  const past = [], marks = [];
  let t = 0;
  s.runs.forEach((r, k) => {
    if (k > 0) marks.push({ x: t, label: `run ${k + 1}` });
    if (k < s.runs.length - 1 || s.state === 'saved') { past.push([t, r.samples_per_s], [t + r.seconds, r.samples_per_s], [t + r.seconds, null]); }
    t += r.seconds;
  });
  const series = [{ name: 'this run', color: COLORS[2], raw: [], line: live },
    { name: 'run means', color: '#9aa0aa', raw: [], line: past }];
  drawChart($('speed-chart'), { series, marks, log: false, xFormat: fmtTime, yFormat: (v) => String(+v.toPrecision(3)), empty: 'no timing yet' });
}

function render() {
  const s = model.status;
  if (!s) return;
  renderStatus(s);
  renderPreview(s);
  renderLoss(s);
  renderSpeed(s);
}

// ---- polling ----

async function refreshOnce() {
  const s = await getJSON('/status.json');
  if (s.generation !== model.generation) reset(s.generation);
  await fetchLoss();
  model.status = s;
  render();
  return s;
}

// One refresh at a time, so rows are never appended twice.
let queue = Promise.resolve();
function refresh() {
  queue = queue.catch(() => {}).then(refreshOnce);
  return queue;
}

async function tick() {
  try {
    await refresh();
    $('link').className = 'link';
    $('link').textContent = '\u25cf live';
  } catch (e) {
    $('link').className = 'link down';
    $('link').textContent = '\u25cf disconnected';
  }
  setTimeout(tick, POLL_MS);
}

window.dsMonitor = { refresh, model };
document.addEventListener('DOMContentLoaded', () => {
  $('log-scale').addEventListener('change', render);
  $('smoothing').addEventListener('input', render);
  window.addEventListener('resize', render);
  tick();
});
