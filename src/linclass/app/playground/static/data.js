// Data sets for the plot: seeded presets, a train/test split, and CSV / JSON points.
import { gaussian, makeRng } from "./random.js";

export const PRESETS = ["blobs", "separable", "xor", "outliers"];
export const VIEW = { min: -3, max: 3 };
export const MAX_CLASSES = 6;

const clampToView = (v) => Math.min(VIEW.max - 0.05, Math.max(VIEW.min + 0.05, v));
const round4 = (v) => Math.round(v * 1e4) / 1e4; // short numbers keep links and tables readable

function centre(c, classes, radius) {
  const angle = Math.PI / 2 + (2 * Math.PI * c) / classes;
  return [radius * Math.cos(angle), radius * Math.sin(angle)];
}

function blobs(rng, count, classes, noise) {
  return Array.from({ length: count }, (_, i) => {
    const label = i % classes;
    const [cx, cy] = centre(label, classes, 1.6);
    return [cx + noise * gaussian(rng), cy + noise * gaussian(rng), label];
  });
}

// Labels from a fixed linear rule, points closer than 0.5 (in score) to a boundary redrawn, and
// a jitter of at most 0.1 per coordinate, which moves a score difference by at most 0.29.
function separable(rng, count, classes, noise) {
  const rule = Array.from({ length: classes }, (_, c) => centre(c, classes, 1));
  const points = [];
  while (points.length < count) {
    const x = [5 * rng() - 2.5, 5 * rng() - 2.5];
    const s = rule.map((w) => w[0] * x[0] + w[1] * x[1]).map((v, c) => [v, c]);
    s.sort((a, b) => b[0] - a[0]);
    if (s[0][0] - s[1][0] < 0.5) continue;
    const jitter = () => Math.max(-0.1, Math.min(0.1, noise * 0.1 * gaussian(rng)));
    points.push([x[0] + jitter(), x[1] + jitter(), s[0][1]]);
  }
  return points;
}

function xor(rng, count, classes, noise) {
  const points = [];
  while (points.length < count) {
    const x = [5 * rng() - 2.5, 5 * rng() - 2.5];
    if (Math.abs(x[0]) < 0.3 || Math.abs(x[1]) < 0.3) continue;
    const label = x[0] * x[1] > 0 ? 0 : 1;
    points.push([x[0] + 0.3 * noise * gaussian(rng), x[1] + 0.3 * noise * gaussian(rng), label]);
  }
  return points;
}

// Blobs, with every fifth point thrown to the far side of the plot under its own label.
function outliers(rng, count, classes, noise) {
  return blobs(rng, count, classes, noise).map((p, i) => {
    if (i % 5 !== 4) return p;
    const [cx, cy] = centre(p[2], classes, 2.6);
    return [-cx + 0.2 * gaussian(rng), -cy + 0.2 * gaussian(rng), p[2]];
  });
}

const GENERATORS = { blobs, separable, xor, outliers };

/**
 * A preset's points split into training and test points, the same for the same arguments.
 * Returns {points, testPoints}, each a list of [x0, x1, label].
 */
export function generate({ preset, count, classes, noise, seed, testFraction }) {
  const rng = makeRng(seed);
  const all = GENERATORS[preset](rng, count, classes, noise).map(([x0, x1, y]) => [
    round4(clampToView(x0)),
    round4(clampToView(x1)),
    y,
  ]);
  const order = all.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nTest = Math.round(all.length * testFraction);
  const isTest = new Set(order.slice(0, nTest));
  return {
    points: all.filter((_, i) => !isTest.has(i)),
    testPoints: all.filter((_, i) => isTest.has(i)),
  };
}

/** Check one [x0, x1, label] row; where says which row for the message. */
export function checkPoint(row, where) {
  if (!Array.isArray(row) || row.length !== 3) {
    throw new Error(`${where}: expected [x0, x1, label], got ${JSON.stringify(row)}`);
  }
  const [x0, x1, label] = row.map(Number);
  if (!Number.isFinite(x0) || !Number.isFinite(x1)) {
    throw new Error(`${where}: x0 and x1 must be finite numbers, got ${JSON.stringify(row)}`);
  }
  if (!Number.isInteger(label) || label < 0 || label >= MAX_CLASSES) {
    throw new Error(`${where}: label must be an integer 0..${MAX_CLASSES - 1}, got ${JSON.stringify(row[2])}`);
  }
  return [x0, x1, label];
}

/** "x0,x1,label" lines (an optional header line first) -> points. */
export function parseCsv(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const points = [];
  lines.forEach((line, i) => {
    if (line === "" || (i === 0 && /^[a-z_ ]/i.test(line))) return;
    points.push(checkPoint(line.split(","), `line ${i + 1}`));
  });
  if (points.length === 0) throw new Error("the CSV has no rows of x0,x1,label");
  return points;
}

export function formatCsv(points) {
  return ["x0,x1,label", ...points.map((p) => p.join(","))].join("\n") + "\n";
}

/** {"points": [...], "testPoints": [...]} (or a bare list of points) -> {points, testPoints}. */
export function parseJson(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON: ${err.message}`);
  }
  const body = Array.isArray(doc) ? { points: doc } : doc;
  if (!body || !Array.isArray(body.points)) throw new Error('expected a list of points or {"points": [...]}');
  const rows = (list, name) => (list || []).map((r, i) => checkPoint(r, `${name}[${i}]`));
  return { points: rows(body.points, "points"), testPoints: rows(body.testPoints, "testPoints") };
}

export function formatJson(points, testPoints) {
  return JSON.stringify({ points, testPoints }, null, 1) + "\n";
}
