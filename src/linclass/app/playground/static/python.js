// "Export as Python": a script that rebuilds the page's exact state with linclass.

const LOSS_CODE = {
  svm: {
    imports: "from linclass.losses import multiclass_hinge",
    body: [
      '    """Weston-Watkins SVM: L_i = sum_{j != y_i} max(0, s_j - s_y + margin)."""',
      "    return multiclass_hinge(scores, y, margin=margin)",
    ],
  },
  structured: {
    imports: "from linclass.losses import crammer_singer_hinge",
    body: [
      '    """Structured (Crammer-Singer) SVM: L_i = max(0, max_{j != y_i} s_j - s_y + margin)."""',
      "    return crammer_singer_hinge(scores, y, margin=margin)",
    ],
  },
  softmax: {
    imports: "from linclass.losses import softmax_cross_entropy",
    body: ['    """Softmax cross-entropy: L_i = -log softmax(s)_y."""', "    return softmax_cross_entropy(scores, y)"],
  },
  ova: {
    imports: null,
    body: [
      '    """One-vs-all SVM from binary hinges: L_i = sum_j max(0, margin - t_ij s_ij), t_ij = +1 if j = y_i else -1."""',
      "    t = np.where(np.arange(scores.shape[1]) == y[:, None], 1.0, -1.0)",
      "    hinge = margin - t * scores",
      "    return np.maximum(hinge, 0).sum(axis=1).mean(), -t * (hinge > 0) / len(y)",
    ],
  },
};

const rows = (list, indent) => list.map((r) => `${indent}[${r.join(", ")}],`).join("\n");

/** The Python source; running it prints the page's losses and gradients as JSON. */
export function pythonSnippet(state) {
  const code = LOSS_CODE[state.loss];
  const header = [
    `# The linclass playground's state: ${state.loss} loss, lambda ${state.reg}, margin ${state.margin},`,
    `# step size ${state.stepSize}; data preset ${state.preset} (seed ${state.seed}, noise ${state.noise},`,
    `# ${state.count} points, test fraction ${state.testFraction}), after ${state.iteration} steps.`,
    "import json",
    "",
    "import numpy as np",
    "",
  ];
  if (code.imports) header.push(code.imports, "");
  const testRows = state.testPoints.length ? `\n${rows(state.testPoints, "    ")}\n` : "";
  return [
    ...header,
    "points = np.array([  # x0, x1, label",
    rows(state.points, "    "),
    "], dtype=float).reshape(-1, 3)",
    `test_points = np.array([${testRows}], dtype=float).reshape(-1, 3)`,
    "X, y = points[:, :2], points[:, 2].astype(int)",
    "# W is (C, 2), the lecture's Wx layout; linclass's own W (D, C) is its transpose",
    "W = np.array([",
    rows(state.W, "    "),
    "])",
    `b = np.array([${state.b.join(", ")}])`,
    `reg, margin, step_size = ${state.reg}, ${state.margin}, ${state.stepSize}`,
    "",
    "",
    "def data_loss(scores):",
    ...code.body,
    "",
    "",
    "def objective(W, b):",
    '    """Total loss = mean data loss + reg * sum(W**2) (b is not regularized), and dW, db."""',
    "    loss, dscores = data_loss(X @ W.T + b)",
    "    return loss + reg * np.sum(W * W), dscores.T @ X + 2 * reg * W, dscores.sum(axis=0)",
    "",
    "",
    "total_loss, dW, db = objective(W, b)",
    "test_accuracy = float(np.mean(np.argmax(test_points[:, :2] @ W.T + b, axis=1) == test_points[:, 2])) if len(test_points) else None",
    'print(json.dumps({"totalLoss": float(total_loss), "dW": dW.tolist(), "db": db.tolist(), "testAccuracy": test_accuracy}))',
    "for _ in range(10):  # ten more gradient descent steps, as the page's Step button takes them",
    "    _, dW, db = objective(W, b)",
    "    W, b = W - step_size * dW, b - step_size * db",
    'print(json.dumps({"after10Steps": {"W": W.tolist(), "b": b.tolist()}}))',
    "",
  ].join("\n");
}
