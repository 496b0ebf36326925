// The lecture's search strategies raced from one start, and the four penalties compared.
import { evaluate, gradientStep, PENALTY_NAMES } from "./math.js";
import { gaussian, makeRng } from "./random.js";

const perturb = (rng, sigma, W, b) => ({
  W: W.map((row) => row.map((w) => w + sigma * gaussian(rng))),
  b: b.map((v) => v + sigma * gaussian(rng)),
});

/**
 * Random search (candidates W, b ~ N(0, sigma^2), keep the best), random local search (the best
 * plus N(0, sigma^2) noise, kept if better) and gradient descent, each given the same number of
 * loss evaluations from the same start (evaluation 0 is the start; a gradient step counts as one).
 * Returns {name: {losses (evaluations + 1 best-so-far totals), W, b}} for the three.
 */
export function race(W, b, points, opts, { evaluations, sigma, stepSize, seed }) {
  const total = (p) => evaluate(p.W, p.b, points, opts).totalLoss;
  const start = { W, b };
  const results = {};
  for (const [name, propose] of [
    ["randomSearch", (rng, best) => perturb(rng, sigma, best.W.map((r) => r.map(() => 0)), best.b.map(() => 0))],
    ["randomLocalSearch", (rng, best) => perturb(rng, sigma, best.W, best.b)],
  ]) {
    const rng = makeRng(seed + 101);
    let best = start;
    let bestLoss = total(start);
    const losses = [bestLoss];
    for (let i = 0; i < evaluations; i++) {
      const candidate = propose(rng, best);
      const loss = total(candidate);
      if (loss < bestLoss) [best, bestLoss] = [candidate, loss];
      losses.push(bestLoss);
    }
    results[name] = { losses, W: best.W, b: best.b };
  }
  let current = start;
  const losses = [total(start)];
  for (let i = 0; i < evaluations; i++) {
    current = gradientStep(current.W, current.b, points, opts, stepSize);
    losses.push(total(current));
  }
  results.gradientDescent = { losses, W: current.W, b: current.b };
  return results;
}

/**
 * Gradient descent for `steps` steps from the same start under each penalty (L2, L1, elastic
 * net with l1_ratio 0.5, none) at the same lambda. Returns one entry per penalty with the final
 * W, b, its losses, sum |W| and sum W^2.
 */
export function comparePenalties(W, b, points, opts, { steps, stepSize }) {
  return PENALTY_NAMES.map((name) => {
    const o = { ...opts, penalty: name };
    let current = { W, b };
    for (let i = 0; i < steps; i++) current = gradientStep(current.W, current.b, points, o, stepSize);
    const r = evaluate(current.W, current.b, points, o);
    const flat = current.W.flat();
    return {
      penalty: name,
      W: current.W,
      b: current.b,
      dataLoss: r.dataLoss,
      regLoss: r.regLoss,
      totalLoss: r.totalLoss,
      sumAbs: flat.reduce((a, w) => a + Math.abs(w), 0),
      sumSquares: flat.reduce((a, w) => a + w * w, 0),
    };
  });
}
