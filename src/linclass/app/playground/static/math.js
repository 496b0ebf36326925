// The linear classifier in the lecture's layout: scores s = W x + b, W (C x 2), b (C).
// Losses are means over the points; the penalty R(W) sees W only, never b.

export const LOSS_NAMES = ["svm", "ova", "structured", "softmax"];
export const PENALTY_NAMES = ["l2", "l1", "elasticnet", "none"];
export const ELASTICNET_L1_RATIO = 0.5;

/** s_c = W_c . x + b_c for one point x = [x0, x1]. */
export function scoresOf(W, b, x) {
  return W.map((row, c) => row[0] * x[0] + row[1] * x[1] + b[c]);
}

// Each per-example loss returns {loss, dscores, kink}: kink is the distance of the nearest hinge
// term from its corner (Infinity for softmax), which the gradient check uses to flag points.

/** Weston-Watkins: L_i = sum_{j != y} max(0, s_j - s_y + margin). */
function svm(s, y, margin) {
  const dscores = s.map(() => 0);
  let loss = 0;
  let kink = Infinity;
  for (let j = 0; j < s.length; j++) {
    if (j === y) continue;
    const m = s[j] - s[y] + margin;
    kink = Math.min(kink, Math.abs(m));
    if (m > 0) {
      loss += m;
      dscores[j] += 1;
      dscores[y] -= 1;
    }
  }
  return { loss, dscores, kink };
}

/** One-vs-all: L_i = sum_j max(0, margin - t_j s_j), t_j = +1 for j = y and -1 otherwise. */
function ova(s, y, margin) {
  const dscores = s.map(() => 0);
  let loss = 0;
  let kink = Infinity;
  for (let j = 0; j < s.length; j++) {
    const t = j === y ? 1 : -1;
    const m = margin - t * s[j];
    kink = Math.min(kink, Math.abs(m));
    if (m > 0) {
      loss += m;
      dscores[j] -= t;
    }
  }
  return { loss, dscores, kink };
}

/** Structured (Crammer-Singer): L_i = max(0, max_{j != y} s_j - s_y + margin); first max on ties. */
function structured(s, y, margin) {
  const dscores = s.map(() => 0);
  let top = -1;
  for (let j = 0; j < s.length; j++) {
    if (j !== y && (top < 0 || s[j] > s[top])) top = j;
  }
  const m = s[top] - s[y] + margin;
  if (m > 0) {
    dscores[top] += 1;
    dscores[y] -= 1;
  }
  return { loss: Math.max(0, m), dscores, kink: Math.abs(m) };
}

/** Softmax cross-entropy: L_i = -log p_y, p = exp(s) / sum exp(s), computed stably. */
function softmax(s, y) {
  const p = probabilities(s);
  const shift = Math.max(...s);
  const logSum = Math.log(s.reduce((acc, v) => acc + Math.exp(v - shift), 0));
  const dscores = p.map((pj, j) => pj - (j === y ? 1 : 0));
  return { loss: logSum - (s[y] - shift), dscores, kink: Infinity };
}

export const LOSSES = { svm, ova, structured, softmax };

/** softmax(s) without overflow. */
export function probabilities(s) {
  const shift = Math.max(...s);
  const e = s.map((v) => Math.exp(v - shift));
  const total = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / total);
}

/** The penalty value and gradient, lam * R(W), for one of PENALTY_NAMES. */
export function penalty(name, W, lam) {
  const sign = (w) => (w > 0 ? 1 : w < 0 ? -1 : 0);
  const r = ELASTICNET_L1_RATIO;
  let value = 0;
  const grad = W.map((row) =>
    row.map((w) => {
      if (name === "l2") {
        value += w * w;
        return 2 * lam * w;
      }
      if (name === "l1") {
        value += Math.abs(w);
        return lam * sign(w);
      }
      if (name === "elasticnet") {
        value += r * Math.abs(w) + (1 - r) * w * w;
        return lam * (r * sign(w) + 2 * (1 - r) * w);
      }
      return 0;
    }),
  );
  return { value: lam * value, grad };
}

/**
 * Everything the page shows about one (W, b): per-example scores and losses, the data,
 * regularization and total loss, and the gradient of the total loss.
 * opts: {loss, margin, reg, penalty = "l2"}; points: [[x0, x1, label], ...].
 */
export function evaluate(W, b, points, opts) {
  const lossFn = LOSSES[opts.loss];
  const n = points.length;
  const dW = W.map(() => [0, 0]);
  const db = b.map(() => 0);
  let total = 0;
  const perExample = points.map(([x0, x1, y]) => {
    const s = scoresOf(W, b, [x0, x1]);
    const r = lossFn(s, y, opts.margin);
    total += r.loss;
    r.dscores.forEach((d, c) => {
      dW[c][0] += (d / n) * x0;
      dW[c][1] += (d / n) * x1;
      db[c] += d / n;
    });
    return { x: [x0, x1], y, scores: s, loss: r.loss, dscores: r.dscores, kink: r.kink };
  });
  const dataLoss = n > 0 ? total / n : 0;
  const pen = penalty(opts.penalty || "l2", W, opts.reg);
  pen.grad.forEach((row, c) => {
    dW[c][0] += row[0];
    dW[c][1] += row[1];
  });
  return { dataLoss, regLoss: pen.value, totalLoss: dataLoss + pen.value, dW, db, perExample };
}

/** One step of gradient descent: W - stepSize dW, b - stepSize db. */
export function gradientStep(W, b, points, opts, stepSize) {
  const { dW, db } = evaluate(W, b, points, opts);
  return {
    W: W.map((row, c) => [row[0] - stepSize * dW[c][0], row[1] - stepSize * dW[c][1]]),
    b: b.map((v, c) => v - stepSize * db[c]),
  };
}

/** The gradient of example i's loss alone (no penalty): dL_i/dW, dL_i/db. */
export function exampleGradient(example) {
  return {
    dW: example.dscores.map((d) => [d * example.x[0], d * example.x[1]]),
    db: example.dscores.slice(),
  };
}

/**
 * Centred differences of the total loss for every entry of W and b:
 * numeric = (L(theta + h) - L(theta - h)) / 2h, relError = |a - n| / max(|a|, |n|) (0 when both 0);
 * an entry fails when relError > tolerance and |a - n| > absTolerance.
 * Points whose nearest hinge corner is closer than the largest change h can make there are
 * flagged: across a kink the difference quotient is not the gradient.
 */
export function gradientCheck(W, b, points, opts, h = 1e-5, tolerance = 1e-6, absTolerance = 1e-8) {
  const base = evaluate(W, b, points, opts);
  const lossAt = (W2, b2) => evaluate(W2, b2, points, opts).totalLoss;
  const entries = [];
  const record = (name, analytic, plus, minus) => {
    const numeric = (plus - minus) / (2 * h);
    const absError = Math.abs(analytic - numeric);
    const scale = Math.max(Math.abs(analytic), Math.abs(numeric));
    const relError = scale === 0 ? 0 : absError / scale;
    // an entry of about 0 has a relative error of order 1 from rounding alone; it fails only when
    // the absolute error is beyond rounding too
    entries.push({ name, analytic, numeric, absError, relError, failed: relError > tolerance && absError > absTolerance });
  };
  W.forEach((row, c) =>
    row.forEach((_, k) => {
      const shifted = (delta) => W.map((r, cc) => r.map((w, kk) => (cc === c && kk === k ? w + delta : w)));
      record(`W[${c}][${k}]`, base.dW[c][k], lossAt(shifted(h), b), lossAt(shifted(-h), b));
    }),
  );
  b.forEach((_, c) => {
    const shifted = (delta) => b.map((v, cc) => (cc === c ? v + delta : v));
    record(`b[${c}]`, base.db[c], lossAt(W, shifted(h)), lossAt(W, shifted(-h)));
  });
  const kinks = base.perExample
    .map((e, i) => ({ index: i, distance: e.kink, reach: 2 * h * (1 + Math.abs(e.x[0]) + Math.abs(e.x[1])) }))
    .filter((k) => k.distance < k.reach);
  return { h, tolerance, absTolerance, entries, kinks };
}

/** L(W + t D, b) for each t: a one-dimensional slice of the loss landscape through W along D. */
export function landscapeSlice(W, b, points, opts, direction, ts) {
  return ts.map((t) => {
    const Wt = W.map((row, c) => [row[0] + t * direction[c][0], row[1] + t * direction[c][1]]);
    return evaluate(Wt, b, points, opts).totalLoss;
  });
}
