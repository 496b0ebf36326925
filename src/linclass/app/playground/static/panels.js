// The page's tables: parameters with gradients, per-example losses, the side-by-side view of
// one point, and the gradient check. Each takes plain numbers and writes DOM; none computes.
import { COLORS } from "./plot.js";

export const fmt = (v) => (Number.isFinite(v) ? v.toFixed(3) : String(v));
const sci = (v) => v.toExponential(2);

function element(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

const swatch = (c) => element("span", { class: "swatch", style: `background:${COLORS[c]}` });
const row = (cells, attrs = {}) => element("tr", attrs, cells.map((c) => (c instanceof Node ? c : element("td", { text: c }))));
const head = (names) => element("tr", {}, names.map((n) => element("th", { text: n, scope: "col" })));

/** W and b with the gradient of the total loss under each value, and -/+ nudge buttons. */
export function renderParams(table, W, b, dW, db, onNudge) {
  const cell = (name, value, grad, key) =>
    element("td", { class: "nudge" }, [
      element("button", { type: "button", "aria-label": `decrease ${name}`, "data-nudge": `${key}:-1`, text: "\u2212" }),
      element("span", { "data-entry": name, text: ` ${fmt(value)} ` }),
      element("button", { type: "button", "aria-label": `increase ${name}`, "data-nudge": `${key}:1`, text: "+" }),
      element("div", { class: "grad", "data-grad": name, text: `\u2202 ${fmt(grad)}` }),
    ]);
  table.replaceChildren(head(["class", "W[c][0]", "W[c][1]", "b[c]"]));
  W.forEach((w, c) => {
    table.append(
      row([
        element("td", {}, [swatch(c), String(c)]),
        cell(`W[${c}][0]`, w[0], dW[c][0], `W:${c}:0`),
        cell(`W[${c}][1]`, w[1], dW[c][1], `W:${c}:1`),
        cell(`b[${c}]`, b[c], db[c], `b:${c}`),
      ]),
    );
  });
  table.onclick = (event) => {
    const target = event.target.closest("button[data-nudge]");
    if (target) onNudge(target.dataset.nudge);
  };
}

/** One row per training point: x, y, scores, L_i; the footer holds the three losses. */
export function renderExamples(table, evaluation, selected, onSelect) {
  const classes = evaluation.dW.length;
  table.replaceChildren(
    head(["i", "x0", "x1", "y", ...Array.from({ length: classes }, (_, c) => `s${c}`), "L_i"]),
  );
  evaluation.perExample.forEach((e, i) => {
    const tr = row(
      [String(i), fmt(e.x[0]), fmt(e.x[1]), element("td", {}, [swatch(e.y), String(e.y)]), ...e.scores.map(fmt), fmt(e.loss)],
      { "data-index": String(i), class: i === selected ? "selected" : "" },
    );
    table.append(tr);
  });
  const foot = [
    ["data loss", evaluation.dataLoss],
    ["regularization", evaluation.regLoss],
    ["total loss", evaluation.totalLoss],
  ];
  for (const [name, value] of foot) {
    table.append(row([element("th", { text: name, colspan: String(classes + 4), scope: "row" }), element("td", { "data-total": name, text: fmt(value) })]));
  }
  table.onclick = (event) => {
    const tr = event.target.closest("tr[data-index]");
    if (tr) onSelect(Number(tr.dataset.index));
  };
}

/** The selected point under both losses: margins s_j - s_y + margin next to p_j and -log p_y. */
export function renderExplain(container, view) {
  if (!view) {
    container.replaceChildren(element("p", { class: "hint", text: "Click a point (or a table row) to see its margins and probabilities." }));
    return;
  }
  const table = element("table", { id: "explainTable" }, [
    head(["class", "score s_j", "s_j \u2212 s_y + \u0394", "max(0, \u00b7)", "p_j", "\u2212log p_j"]),
  ]);
  view.scores.forEach((s, j) => {
    const isTrue = j === view.y;
    table.append(
      row(
        [
          element("td", {}, [swatch(j), isTrue ? `${j} (true)` : String(j)]),
          fmt(s),
          isTrue ? "\u2013" : fmt(view.margins[j]),
          isTrue ? "\u2013" : fmt(Math.max(0, view.margins[j])),
          fmt(view.probabilities[j]),
          fmt(-Math.log(view.probabilities[j])),
        ],
        { class: isTrue ? "selected" : "" },
      ),
    );
  });
  container.replaceChildren(
    element("p", { text: `point ${view.index}: x = (${fmt(view.x[0])}, ${fmt(view.x[1])}), true class ${view.y}` }),
    table,
    element("p", { "data-explain": "svm", text: `SVM (Weston\u2013Watkins) L_i = ${fmt(view.svmLoss)}` }),
    element("p", { "data-explain": "softmax", text: `softmax L_i = \u2212log p_y = ${fmt(view.softmaxLoss)}` }),
  );
}

/** Analytic against numerical gradient for every entry; failing entries red, kinks listed. */
export function renderGradcheck(table, summary, check) {
  table.replaceChildren(head(["entry", "analytic", "numerical", "abs. error", "rel. error"]));
  for (const e of check.entries) {
    const cells = [e.name, e.analytic.toPrecision(5), e.numeric.toPrecision(5), sci(e.absError), sci(e.relError)];
    table.append(row(cells, { class: e.failed ? "failed" : "", "data-entry": e.name }));
  }
  const worst = Math.max(...check.entries.map((e) => e.relError));
  const failed = check.entries.filter((e) => e.failed).length;
  const kinkText = check.kinks.length
    ? ` Points on a hinge kink (a margin term within reach of h): ${check.kinks.map((k) => k.index).join(", ")} \u2014 there the centred difference straddles the corner and is not a gradient.`
    : "";
  summary.textContent =
    `centred differences, h = ${check.h}: max relative error ${sci(worst)}; ${failed} of ${check.entries.length} ` +
    `over tolerance (relative ${check.tolerance} and absolute ${check.absTolerance}).${kinkText}`;
}
