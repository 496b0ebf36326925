// The playground's settable state: defaults, validation for set(), and the URL hash form.
import { checkPoint, generate, MAX_CLASSES, PRESETS } from "./data.js";
import { LOSS_NAMES } from "./math.js";
import { gaussian, makeRng } from "./random.js";

const DATA_FIELDS = ["preset", "count", "classes", "noise", "seed", "testFraction"];
const BOOLEAN_FIELDS = ["showTest", "showLines", "showWeights", "showGradient", "gradientOfSelected"];

const num = (name, lo, hi) => (v) => {
  const x = typeof v === "string" ? Number(v) : v;
  if (typeof x !== "number" || !Number.isFinite(x) || x < lo || x > hi) {
    throw new Error(`${name} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return x;
};
const int = (name, lo, hi) => (v) => {
  const x = num(name, lo, hi)(v);
  if (!Number.isInteger(x)) throw new Error(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return x;
};
const choice = (name, options) => (v) => {
  if (!options.includes(v)) throw new Error(`${name} must be one of ${options.join(", ")}, got ${JSON.stringify(v)}`);
  return v;
};
const bool = (name) => (v) => {
  if (v === "1" || v === "0") return v === "1";
  if (typeof v !== "boolean") throw new Error(`${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
};
const pointList = (name) => (v) => {
  if (!Array.isArray(v)) throw new Error(`${name} must be a list of [x0, x1, label] rows`);
  return v.map((row, i) => checkPoint(row, `${name}[${i}]`));
};
const matrix = (v) => {
  if (!Array.isArray(v) || v.length < 2 || v.length > MAX_CLASSES) {
    throw new Error(`W must have 2..${MAX_CLASSES} rows (one per class), got ${JSON.stringify(v)}`);
  }
  return v.map((row, c) => {
    if (!Array.isArray(row) || row.length !== 2 || !row.every(Number.isFinite)) {
      throw new Error(`W[${c}] must be 2 finite numbers (the lecture's Wx layout), got ${JSON.stringify(row)}`);
    }
    return row.slice();
  });
};
const vector = (v) => {
  if (!Array.isArray(v) || !v.every(Number.isFinite)) throw new Error(`b must be a list of finite numbers, got ${JSON.stringify(v)}`);
  return v.slice();
};

/** Field -> check(value), which returns the cleaned value or throws an Error naming the field. */
export const FIELDS = {
  points: pointList("points"),
  testPoints: pointList("testPoints"),
  W: matrix,
  b: vector,
  loss: choice("loss", LOSS_NAMES),
  reg: num("reg", 0, 100),
  margin: num("margin", 1e-6, 100),
  stepSize: num("stepSize", 0, 100),
  seed: int("seed", 0, 2 ** 31 - 1),
  preset: choice("preset", PRESETS),
  count: int("count", 0, 400),
  classes: int("classes", 2, MAX_CLASSES),
  noise: num("noise", 0, 3),
  testFraction: num("testFraction", 0, 0.9),
  showTest: bool("showTest"),
  showLines: bool("showLines"),
  showWeights: bool("showWeights"),
  showGradient: bool("showGradient"),
  selected: int("selected", -1, 100000),
  gradientOfSelected: bool("gradientOfSelected"),
  landscape: choice("landscape", ["gradient", "random"]),
  raceEvaluations: int("raceEvaluations", 1, 2000),
  raceSigma: num("raceSigma", 1e-6, 10),
};

export const COMPUTED = ["dataLoss", "regLoss", "totalLoss", "dW", "db", "perExample", "iteration", "testAccuracy"];

/** W (C x 2) and b (C) drawn from a seed: entries N(0, 0.5^2) for W, N(0, 0.2^2) for b. */
export function randomParameters(classes, seed) {
  const rng = makeRng(seed * 2654435761);
  const W = Array.from({ length: classes }, () => [0.5 * gaussian(rng), 0.5 * gaussian(rng)]);
  const b = Array.from({ length: classes }, () => 0.2 * gaussian(rng));
  const r = (v) => Math.round(v * 1e3) / 1e3;
  return { W: W.map((row) => row.map(r)), b: b.map(r) };
}

export function defaultState() {
  const state = {
    loss: "svm", reg: 0.1, margin: 1, stepSize: 0.1, seed: 1,
    preset: "blobs", count: 15, classes: 3, noise: 0.5, testFraction: 0,
    showTest: true, showLines: true, showWeights: true, showGradient: false,
    selected: -1, gradientOfSelected: false, landscape: "gradient",
    raceEvaluations: 100, raceSigma: 0.5,
  };
  Object.assign(state, generate(state), randomParameters(state.classes, state.seed));
  return state;
}

/**
 * The state after applying partial: every field checked; changing a data field without giving
 * points regenerates them; changing the class count without W draws new parameters.
 */
export function applyPartial(state, partial) {
  if (partial === null || typeof partial !== "object" || Array.isArray(partial)) {
    throw new Error("set() takes an object of fields, e.g. set({loss: 'softmax'})");
  }
  const next = { ...state };
  for (const [key, value] of Object.entries(partial)) {
    if (COMPUTED.includes(key)) throw new Error(`${key} is computed from the state and cannot be set`);
    if (!(key in FIELDS)) throw new Error(`unknown field ${JSON.stringify(key)}; settable: ${Object.keys(FIELDS).join(", ")}`);
    next[key] = FIELDS[key](value);
  }
  if ("W" in partial) next.classes = next.W.length;
  if ("classes" in partial && !("W" in partial) && next.classes !== state.classes) {
    Object.assign(next, randomParameters(next.classes, next.seed));
  }
  if (next.b.length !== next.W.length) {
    throw new Error(`b must have ${next.W.length} entries (one per row of W), got ${next.b.length}`);
  }
  const dataChanged = DATA_FIELDS.some((k) => k in partial && partial[k] !== state[k]);
  if (dataChanged && !("points" in partial)) Object.assign(next, generate(next));
  for (const [name, list] of [["points", next.points], ["testPoints", next.testPoints]]) {
    list.forEach((p, i) => {
      if (p[2] >= next.classes) throw new Error(`${name}[${i}] has label ${p[2]} but there are ${next.classes} classes`);
    });
  }
  if (next.selected >= next.points.length) next.selected = -1;
  return next;
}

const joinRows = (rows) => rows.map((r) => r.join(",")).join(";");
const splitRows = (text) => (text === "" ? [] : text.split(";").map((r) => r.split(",").map(Number)));

/** The state as a URL hash: every field, numbers in JavaScript's shortest round-trip form. */
export function toHash(state) {
  const params = new URLSearchParams();
  for (const key of Object.keys(FIELDS)) {
    const v = state[key];
    if (key === "points" || key === "testPoints" || key === "W") params.set(key, joinRows(v));
    else if (key === "b") params.set(key, v.join(","));
    else if (typeof v === "boolean") params.set(key, v ? "1" : "0");
    else params.set(key, String(v));
  }
  return "#" + params.toString();
}

/** The partial state a hash describes (missing fields are left out). */
export function fromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const partial = {};
  for (const [key, text] of params) {
    if (!(key in FIELDS)) continue;
    if (key === "points" || key === "testPoints" || key === "W") partial[key] = splitRows(text);
    else if (key === "b") partial[key] = text === "" ? [] : text.split(",").map(Number);
    else if (["loss", "preset", "landscape"].includes(key)) partial[key] = text;
    else if (BOOLEAN_FIELDS.includes(key)) partial[key] = text;
    else partial[key] = Number(text);
  }
  return partial;
}
