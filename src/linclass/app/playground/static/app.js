// The page: one state object, drawn after every change; controls, mouse, keyboard, the URL hash,
// and the scriptable hook window.playground = {state(), set(partial), step(n), ...}.
import { formatCsv, formatJson, parseCsv, parseJson } from "./data.js";
import { evaluate, gradientCheck, gradientStep } from "./math.js";
import { renderExamples, renderExplain, renderGradcheck, renderParams } from "./panels.js";
import { COLORS, drawCurves, drawPlot, toData, toPixel } from "./plot.js";
import { pythonSnippet } from "./python.js";
import { comparePenalties, race } from "./race.js";
import { applyPartial, defaultState, FIELDS, fromHash, randomParameters, toHash } from "./state.js";
import { accuracy, explainPoint, gradientArrows, landscape } from "./views.js";

const $ = (id) => document.getElementById(id);
const VIEW_ONLY = ["showTest", "showLines", "showWeights", "showGradient", "selected", "gradientOfSelected", "landscape", "raceEvaluations", "raceSigma"];
const PLAY_INTERVAL_MS = 50;
const NUDGE = 0.1;

let state = defaultState();
let iteration = 0;
let lossHistory = [];
let testLossHistory = [];
let timer = null;
let dragging = -1;

const lossOptions = (s) => ({ loss: s.loss, margin: s.margin, reg: s.reg });

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

function recordHistory() {
  lossHistory.push(evaluate(state.W, state.b, state.points, lossOptions(state)).totalLoss);
  if (state.testPoints.length) testLossHistory.push(evaluate(state.W, state.b, state.testPoints, lossOptions(state)).dataLoss);
}

function resetHistory() {
  iteration = 0;
  lossHistory = [];
  testLossHistory = [];
  recordHistory();
}

/** The state plus everything computed from it, as plain data (deep copies). */
function snapshot() {
  const r = evaluate(state.W, state.b, state.points, lossOptions(state));
  const copy = JSON.parse(JSON.stringify(state));
  return {
    ...copy,
    dataLoss: r.dataLoss,
    regLoss: r.regLoss,
    totalLoss: r.totalLoss,
    dW: r.dW,
    db: r.db,
    perExample: r.perExample.map((e) => ({ x: e.x, y: e.y, scores: e.scores, loss: e.loss })),
    iteration,
    accuracy: accuracy(state.W, state.b, state.points),
    testAccuracy: accuracy(state.W, state.b, state.testPoints),
  };
}

function update(partial) {
  const next = applyPartial(state, partial);
  const viewOnly = Object.keys(partial).every((k) => VIEW_ONLY.includes(k));
  state = next;
  if (!viewOnly) resetHistory();
  render();
}

function step(n = 1) {
  if (!Number.isInteger(n) || n < 0) throw new Error(`step(n) takes a whole number of steps n >= 0, got ${JSON.stringify(n)}`);
  for (let i = 0; i < n; i++) {
    Object.assign(state, gradientStep(state.W, state.b, state.points, lossOptions(state), state.stepSize));
    iteration += 1;
    recordHistory();
  }
  render();
}

function setPlaying(on) {
  if (on && timer === null) timer = setInterval(() => step(1), PLAY_INTERVAL_MS);
  if (!on && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
  $("play").textContent = on ? "Pause (space)" : "Play (space)";
  $("play").setAttribute("aria-pressed", String(on));
  render();
}

function syncControls() {
  for (const id of ["loss", "preset", "landscape"]) $(id).value = state[id];
  for (const id of ["reg", "stepSize", "margin", "noise", "testFraction", "classes", "count", "seed", "raceEvaluations", "raceSigma"]) {
    if (document.activeElement !== $(id) || $(id).type === "range") $(id).value = String(state[id]);
    if ($(`${id}Value`)) $(`${id}Value`).textContent = String(state[id]);
  }
  for (const id of ["showTest", "showLines", "showWeights", "showGradient", "gradientOfSelected"]) $(id).checked = state[id];
  const add = $("addClass");
  if (add.options.length !== state.classes) {
    add.replaceChildren(...state.W.map((_, c) => new Option(`${c}`, String(c))));
  }
}

function render() {
  const opts = lossOptions(state);
  const r = evaluate(state.W, state.b, state.points, opts);
  syncControls();
  const arrows = state.showGradient ? gradientArrows(state, r).arrows : [];
  drawPlot($("plot"), { ...state, gradientArrows: arrows });
  renderParams($("params"), state.W, state.b, r.dW, r.db, nudge);
  const acc = accuracy(state.W, state.b, state.points);
  const testAcc = accuracy(state.W, state.b, state.testPoints);
  $("totals").textContent =
    `step ${iteration}: data loss ${r.dataLoss.toFixed(4)} + regularization ${r.regLoss.toFixed(4)} = total ${r.totalLoss.toFixed(4)}` +
    (acc === null ? "" : `; train accuracy ${(100 * acc).toFixed(0)} %`) +
    (testAcc === null ? "" : `; test accuracy ${(100 * testAcc).toFixed(0)} %`);
  renderExamples($("examples"), r, state.selected, (i) => update({ selected: i }));
  renderExplain($("explainBody"), state.selected >= 0 ? explainPoint(state, state.selected) : null);
  renderGradcheck($("gradcheck"), $("gradcheckSummary"), gradientCheck(state.W, state.b, state.points, opts));
  const curves = [{ values: lossHistory, colour: "#1f77b4", label: "training total loss" }];
  if (testLossHistory.length) curves.push({ values: testLossHistory, colour: "#ff7f0e", label: "test data loss" });
  drawCurves($("lossCurve"), curves, { xLabel: "step" });
  $("curveLegend").textContent = curves.map((c) => `${c.colour === "#1f77b4" ? "blue" : "orange"}: ${c.label}`).join("; ");
  renderRace(opts);
  renderPenalties(opts);
  const slice = landscape(state, r, opts);
  drawCurves($("landscapeCurve"), [{ values: slice.losses, colour: "#9467bd" }], { xs: slice.ts, marker: 40, xLabel: "t" });
  if (!$("python").hidden) $("python").value = pythonSnippet(snapshot());
  if (timer === null) {
    const hash = toHash(state);
    if (location.hash !== hash) window.history.replaceState(null, "", hash);
  }
}

const RACE_COLOURS = { randomSearch: "#d62728", randomLocalSearch: "#ff7f0e", gradientDescent: "#2ca02c" };
const RACE_NAMES = { randomSearch: "random search", randomLocalSearch: "random local search", gradientDescent: "gradient descent" };

function raceResults(opts) {
  return race(state.W, state.b, state.points, opts, {
    evaluations: state.raceEvaluations, sigma: state.raceSigma, stepSize: state.stepSize, seed: state.seed,
  });
}

function renderRace(opts) {
  const results = raceResults(opts);
  const names = Object.keys(results);
  drawCurves($("raceCurve"), names.map((n) => ({ values: results[n].losses, colour: RACE_COLOURS[n] })), { xLabel: "evaluation" });
  $("raceLegend").replaceChildren(
    ...names.map((n) => {
      const span = document.createElement("span");
      span.innerHTML = `<span class="swatch" style="background:${RACE_COLOURS[n]}"></span>`;
      span.append(`${RACE_NAMES[n]}: ${results[n].losses.at(-1).toFixed(4)}  `);
      span.dataset.race = n;
      return span;
    }),
  );
}

function penaltyResults(opts) {
  return comparePenalties(state.W, state.b, state.points, opts, { steps: state.raceEvaluations, stepSize: state.stepSize });
}

function renderPenalties(opts) {
  const container = $("penalties");
  const results = penaltyResults(opts);
  if (container.children.length !== results.length) {
    container.replaceChildren(
      ...results.map((p) => {
        const figure = document.createElement("figure");
        figure.innerHTML = `<canvas width="170" height="170" aria-label="regions after gradient descent with the ${p.penalty} penalty"></canvas><figcaption></figcaption>`;
        return figure;
      }),
    );
  }
  results.forEach((p, i) => {
    const figure = container.children[i];
    drawPlot(figure.querySelector("canvas"), { ...state, W: p.W, b: p.b, showTest: false, showLines: false, showWeights: true, selected: -1 });
    figure.querySelector("figcaption").textContent =
      `${p.penalty}: total ${p.totalLoss.toFixed(3)} (data ${p.dataLoss.toFixed(3)}), \u03a3|W| ${p.sumAbs.toFixed(2)}, \u03a3W\u00b2 ${p.sumSquares.toFixed(2)}`;
  });
}

function nudge(key) {
  const [kind, ...rest] = key.split(":").map((v, i) => (i === 0 ? v : Number(v)));
  const sign = rest.at(-1);
  if (kind === "W") {
    const W = state.W.map((row) => row.slice());
    W[rest[0]][rest[1]] = Math.round((W[rest[0]][rest[1]] + sign * NUDGE) * 1e9) / 1e9;
    update({ W });
  } else {
    const b = state.b.slice();
    b[rest[0]] = Math.round((b[rest[0]] + sign * NUDGE) * 1e9) / 1e9;
    update({ b });
  }
}

function canvasPoint(event) {
  const canvas = $("plot");
  const rect = canvas.getBoundingClientRect(); // includes the border; client* does not
  const px = ((event.clientX - rect.left - canvas.clientLeft) / canvas.clientWidth) * canvas.width;
  const py = ((event.clientY - rect.top - canvas.clientTop) / canvas.clientHeight) * canvas.height;
  return [px, py];
}

function pointAt([px, py]) {
  let best = -1;
  let bestDistance = 9;
  state.points.forEach((p, i) => {
    const [qx, qy] = toPixel($("plot"), p);
    const d = Math.hypot(qx - px, qy - py);
    if (d <= bestDistance) [best, bestDistance] = [i, d];
  });
  return best;
}

const round4 = (v) => Math.round(v * 1e4) / 1e4;

function bindMouse() {
  const canvas = $("plot");
  canvas.addEventListener("pointerdown", (event) => {
    const at = canvasPoint(event);
    const hit = pointAt(at);
    if (hit >= 0 && event.shiftKey) {
      update({ points: state.points.filter((_, i) => i !== hit), selected: -1 });
    } else if (hit >= 0) {
      dragging = hit;
      canvas.setPointerCapture?.(event.pointerId);
      update({ selected: hit });
    } else if (!event.shiftKey) {
      const [x0, x1] = toData(canvas, at).map(round4);
      update({ points: [...state.points, [x0, x1, Number($("addClass").value)]], selected: state.points.length });
    }
  });
  canvas.addEventListener("pointermove", (event) => {
    if (dragging < 0) return;
    const [x0, x1] = toData(canvas, canvasPoint(event)).map(round4);
    const points = state.points.map((p, i) => (i === dragging ? [x0, x1, p[2]] : p));
    update({ points });
  });
  const stop = () => (dragging = -1);
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
}

function download(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

function guarded(fn) {
  return (...args) => {
    try {
      showError("");
      fn(...args);
    } catch (err) {
      showError(err.message);
    }
  };
}

function bindControls() {
  for (const id of ["loss", "preset", "landscape"]) $(id).addEventListener("change", guarded(() => update({ [id]: $(id).value })));
  for (const id of ["reg", "stepSize", "margin", "noise", "testFraction"]) $(id).addEventListener("input", guarded(() => update({ [id]: Number($(id).value) })));
  for (const id of ["classes", "count", "seed", "raceEvaluations", "raceSigma"]) $(id).addEventListener("change", guarded(() => update({ [id]: Number($(id).value) })));
  for (const id of ["showTest", "showLines", "showWeights", "showGradient", "gradientOfSelected"]) $(id).addEventListener("change", () => update({ [id]: $(id).checked }));
  $("step").addEventListener("click", () => step(1));
  $("play").addEventListener("click", () => setPlaying(timer === null));
  $("randomizeParams").addEventListener("click", () => update(randomParameters(state.classes, Math.floor(Math.random() * 2 ** 31))));
  $("randomizeData").addEventListener("click", () => update({ seed: (state.seed + 1) % 2 ** 31 }));
  $("exportCsv").addEventListener("click", () => download("points.csv", formatCsv(state.points.concat(state.testPoints)), "text/csv"));
  $("exportJson").addEventListener("click", () => download("points.json", formatJson(state.points, state.testPoints), "application/json"));
  $("importFile").addEventListener("change", guarded(async () => {
    const file = $("importFile").files[0];
    if (!file) return;
    const text = await file.text();
    try {
      const data = file.name.toLowerCase().endsWith(".json") ? parseJson(text) : { points: parseCsv(text), testPoints: [] };
      const classes = Math.max(state.classes, ...data.points.concat(data.testPoints).map((p) => p[2] + 1));
      const grown = classes === state.classes ? {} : randomParameters(classes, state.seed);
      update({ ...grown, ...data, selected: -1 });
    } catch (err) {
      showError(`${file.name}: ${err.message}`);
    }
  }));
  $("copyLink").addEventListener("click", () => navigator.clipboard?.writeText(location.href));
  $("exportPython").addEventListener("click", () => {
    $("python").hidden = false;
    $("python").value = pythonSnippet(snapshot());
  });
  document.addEventListener("keydown", (event) => {
    const tag = event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (event.key === " ") {
      event.preventDefault();
      setPlaying(timer === null);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      step(1);
    }
  });
  // a focused button would also "click" on the space key's release
  document.addEventListener("keyup", (event) => {
    if (event.key === " " && event.target.tagName === "BUTTON") event.preventDefault();
  });
  window.addEventListener("hashchange", guarded(() => update(fromHash(location.hash))));
}

function hookFields(partial) {
  update(partial);
  return snapshot();
}

window.playground = {
  state: snapshot,
  set: hookFields,
  step: (n = 1) => {
    step(n);
    return snapshot();
  },
  play: () => setPlaying(true),
  pause: () => setPlaying(false),
  playing: () => timer !== null,
  settable: () => Object.keys(FIELDS),
  explain: (i) => explainPoint(state, i),
  gradientCheck: () => gradientCheck(state.W, state.b, state.points, lossOptions(state)),
  gradientArrows: () => gradientArrows(state, evaluate(state.W, state.b, state.points, lossOptions(state))),
  landscape: () => landscape(state, evaluate(state.W, state.b, state.points, lossOptions(state)), lossOptions(state)),
  race: () => raceResults(lossOptions(state)),
  penalties: () => penaltyResults(lossOptions(state)),
  python: () => pythonSnippet(snapshot()),
  lossCurve: () => ({ train: lossHistory.slice(), test: testLossHistory.slice() }),
  colours: () => COLORS.slice(),
};

bindControls();
bindMouse();
try {
  if (location.hash.length > 1) state = applyPartial(state, fromHash(location.hash));
} catch (err) {
  showError(`the link's state was not used: ${err.message}`);
}
resetHistory();
render();
document.documentElement.dataset.ready = "1";
