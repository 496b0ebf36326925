// Canvas drawing: the class regions with their lines and arrows, and the small curve plots.
import { VIEW } from "./data.js";
import { scoresOf } from "./math.js";

export const COLORS = ["#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b"];
const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
/** Each class's region colour: its colour mixed with 70 % white. */
export const REGION_RGB = COLORS.map((hex) => rgb(hex).map((v) => Math.round(0.3 * v + 0.7 * 255)));

/** Data coordinates <-> canvas pixels for a square canvas showing VIEW on both axes (x1 up). */
export function toPixel(canvas, [x0, x1]) {
  const span = VIEW.max - VIEW.min;
  return [((x0 - VIEW.min) / span) * canvas.width, ((VIEW.max - x1) / span) * canvas.height];
}
export function toData(canvas, [px, py]) {
  const span = VIEW.max - VIEW.min;
  return [VIEW.min + (px / canvas.width) * span, VIEW.max - (py / canvas.height) * span];
}

/** The winning class (argmax of W x + b, first on ties) at a point. */
export function winner(W, b, x) {
  const s = scoresOf(W, b, x);
  return s.indexOf(Math.max(...s));
}

// Every pixel is coloured by the winner at its centre (no allocation in the loop: 230k pixels).
function drawRegions(ctx, canvas, W, b) {
  const image = ctx.createImageData(canvas.width, canvas.height);
  const span = VIEW.max - VIEW.min;
  for (let py = 0; py < canvas.height; py++) {
    const x1 = VIEW.max - ((py + 0.5) / canvas.height) * span;
    for (let px = 0; px < canvas.width; px++) {
      const x0 = VIEW.min + ((px + 0.5) / canvas.width) * span;
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < W.length; c++) {
        const s = W[c][0] * x0 + W[c][1] * x1 + b[c];
        if (s > bestScore) [best, bestScore] = [c, s];
      }
      const colour = REGION_RGB[best];
      const o = 4 * (py * canvas.width + px);
      image.data[o] = colour[0];
      image.data[o + 1] = colour[1];
      image.data[o + 2] = colour[2];
      image.data[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

function drawAxes(ctx, canvas) {
  ctx.lineWidth = 1;
  for (let v = Math.ceil(VIEW.min); v <= VIEW.max; v++) {
    ctx.strokeStyle = v === 0 ? "rgba(0,0,0,0.45)" : "rgba(0,0,0,0.08)";
    const [x] = toPixel(canvas, [v, 0]);
    const [, y] = toPixel(canvas, [0, v]);
    line(ctx, [x, 0], [x, canvas.height]);
    line(ctx, [0, y], [canvas.width, y]);
  }
}

function line(ctx, from, to) {
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}

export function arrow(ctx, from, to, colour, width = 2) {
  const angle = Math.atan2(to[1] - from[1], to[0] - from[0]);
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = width;
  line(ctx, from, to);
  ctx.beginPath();
  ctx.moveTo(to[0], to[1]);
  ctx.lineTo(to[0] - 9 * Math.cos(angle - 0.4), to[1] - 9 * Math.sin(angle - 0.4));
  ctx.lineTo(to[0] - 9 * Math.cos(angle + 0.4), to[1] - 9 * Math.sin(angle + 0.4));
  ctx.closePath();
  ctx.fill();
}

/** The line W_c . x + b_c = 0, clipped to the view, as two canvas points (or null). */
function zeroScoreLine(canvas, w, bc) {
  const [a, c] = w;
  if (a === 0 && c === 0) return null;
  const { min, max } = VIEW;
  const ends = Math.abs(c) > Math.abs(a)
    ? [[min, -(a * min + bc) / c], [max, -(a * max + bc) / c]]
    : [[-(c * min + bc) / a, min], [-(c * max + bc) / a, max]];
  return ends.map((p) => toPixel(canvas, p));
}

function drawPoint(ctx, canvas, [x0, x1, label], { hollow = false, selected = false } = {}) {
  const [px, py] = toPixel(canvas, [x0, x1]);
  ctx.beginPath();
  ctx.arc(px, py, canvas.width > 300 ? 6 : 3.5, 0, 2 * Math.PI);
  ctx.fillStyle = hollow ? "#ffffff" : COLORS[label];
  ctx.fill();
  ctx.lineWidth = hollow ? 2.5 : selected ? 3 : 1.2;
  ctx.strokeStyle = hollow ? COLORS[label] : "#000000";
  ctx.stroke();
  if (selected) {
    ctx.beginPath();
    ctx.arc(px, py, 11, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}

/**
 * The main view. view: {W, b, points, testPoints, showTest, showLines, showWeights,
 * selected, gradientArrows: [{class, from, to}] in data coordinates, or []}.
 */
export function drawPlot(canvas, view) {
  const ctx = canvas.getContext("2d");
  drawRegions(ctx, canvas, view.W, view.b);
  drawAxes(ctx, canvas);
  const origin = toPixel(canvas, [0, 0]);
  view.W.forEach((w, c) => {
    if (view.showLines) {
      const ends = zeroScoreLine(canvas, w, view.b[c]);
      if (ends) {
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = COLORS[c];
        ctx.lineWidth = 2;
        line(ctx, ends[0], ends[1]);
        ctx.setLineDash([]);
      }
    }
    if (view.showWeights) arrow(ctx, origin, toPixel(canvas, w), COLORS[c], 3);
  });
  for (const a of view.gradientArrows || []) {
    arrow(ctx, toPixel(canvas, a.from), toPixel(canvas, a.to), "#111111", 2);
  }
  if (view.showTest) view.testPoints.forEach((p) => drawPoint(ctx, canvas, p, { hollow: true }));
  view.points.forEach((p, i) => drawPoint(ctx, canvas, p, { selected: i === view.selected }));
}

/** Curves on shared axes. series: [{values, colour, label}]; marker: x index to mark, optional. */
export function drawCurves(canvas, series, { xs = null, marker = null, xLabel = "", yLabel = "" } = {}) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const pad = { left: 44, right: 10, top: 10, bottom: 28 };
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  if (all.length === 0) return;
  const lo = Math.min(...all);
  const hi = Math.max(...all) > lo ? Math.max(...all) : lo + 1;
  const n = Math.max(...series.map((s) => s.values.length));
  const xAt = (i) => pad.left + (n > 1 ? i / (n - 1) : 0.5) * (width - pad.left - pad.right);
  const yAt = (v) => pad.top + ((hi - v) / (hi - lo)) * (height - pad.top - pad.bottom);
  ctx.strokeStyle = "#888888";
  ctx.lineWidth = 1;
  line(ctx, [pad.left, pad.top], [pad.left, height - pad.bottom]);
  line(ctx, [pad.left, height - pad.bottom], [width - pad.right, height - pad.bottom]);
  ctx.fillStyle = "#333333";
  ctx.font = "11px sans-serif";
  ctx.fillText(hi.toPrecision(3), 2, pad.top + 8);
  ctx.fillText(lo.toPrecision(3), 2, height - pad.bottom);
  const first = xs ? xs[0] : 0;
  const last = xs ? xs[xs.length - 1] : n - 1;
  ctx.fillText(String(+first.toPrecision(3)), pad.left, height - 10);
  ctx.fillText(String(+last.toPrecision(3)), width - pad.right - 24, height - 10);
  ctx.fillText(xLabel, width / 2 - 20, height - 10);
  ctx.fillText(yLabel, pad.left + 4, pad.top + 8);
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.values.forEach((v, i) => (i === 0 ? ctx.moveTo(xAt(i), yAt(v)) : ctx.lineTo(xAt(i), yAt(v))));
    ctx.stroke();
  }
  if (marker !== null) {
    const v = series[0].values[marker];
    ctx.fillStyle = "#000000";
    ctx.beginPath();
    ctx.arc(xAt(marker), yAt(v), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}
