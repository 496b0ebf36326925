// What the extra views show, computed from the state: the side-by-side explanation of one point,
// the gradient arrows, the landscape direction, accuracy. Pure functions; no DOM.
import { exampleGradient, landscapeSlice, LOSSES, probabilities, scoresOf } from "./math.js";
import { winner } from "./plot.js";
import { gaussian, makeRng } from "./random.js";

export const LANDSCAPE_TS = Array.from({ length: 81 }, (_, k) => (k - 40) / 20);

/** Point i under the SVM and the softmax: margins s_j - s_y + margin, p_j, and both L_i. */
export function explainPoint(state, i) {
  const [x0, x1, y] = state.points[i];
  const scores = scoresOf(state.W, state.b, [x0, x1]);
  const p = probabilities(scores);
  return {
    index: i,
    x: [x0, x1],
    y,
    scores,
    margins: scores.map((s) => s - scores[y] + state.margin),
    probabilities: p,
    svmLoss: LOSSES.svm(scores, y, state.margin).loss,
    softmaxLoss: LOSSES.softmax(scores, y).loss,
  };
}

/**
 * One arrow per class from the tip of W_c along -g_c, where g is the gradient of the total loss
 * or, with gradientOfSelected, of the selected point's L_i; the longest arrow is one unit long.
 */
export function gradientArrows(state, evaluation) {
  const useExample = state.gradientOfSelected && state.selected >= 0;
  const g = useExample ? exampleGradient(evaluation.perExample[state.selected]).dW : evaluation.dW;
  const longest = Math.max(...g.map(([a, c]) => Math.hypot(a, c)));
  if (!(longest > 0)) return { scale: 0, arrows: [] };
  const scale = 1 / longest;
  return {
    scale,
    arrows: state.W.map((w, c) => ({ class: c, from: w.slice(), to: [w[0] - scale * g[c][0], w[1] - scale * g[c][1]] })),
  };
}

/** D with sum D^2 = 1: minus the gradient of the total loss, or a seeded random direction. */
export function landscapeDirection(state, evaluation) {
  let D;
  if (state.landscape === "gradient") {
    D = evaluation.dW.map((row) => row.map((v) => -v));
  } else {
    const rng = makeRng(state.seed + 202);
    D = state.W.map(() => [gaussian(rng), gaussian(rng)]);
  }
  const norm = Math.sqrt(D.flat().reduce((a, v) => a + v * v, 0));
  return norm > 0 ? D.map((row) => row.map((v) => v / norm)) : D;
}

export function landscape(state, evaluation, opts) {
  const direction = landscapeDirection(state, evaluation);
  return { ts: LANDSCAPE_TS, direction, losses: landscapeSlice(state.W, state.b, state.points, opts, direction, LANDSCAPE_TS) };
}

/** The fraction of points whose winning class is their label (null without points). */
export function accuracy(W, b, points) {
  if (points.length === 0) return null;
  return points.filter(([x0, x1, y]) => winner(W, b, [x0, x1]) === y).length / points.length;
}
