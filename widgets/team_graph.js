// Team graph: the anywidget front end of llmteams_lab.ui.TeamGraph (no build step).
//
// Python owns the state (positions, colours, messages); this file only draws it and
// reports clicks back through the `selected` trait. Nodes are coloured by answer and
// sized by confidence; each round's messages fly along the edges; crashed agents are
// greyed with a cross and faulty ones ringed. Elements carry data-* attributes so the
// browser test can read what a user sees.

const SVG = "http://www.w3.org/2000/svg";
const W = 460, H = 360, PAD = 34;

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function xy(model, i) {
  const p = model.get("positions")[i] || [0.5, 0.5];
  return [PAD + p[0] * (W - 2 * PAD), PAD + p[1] * (H - 2 * PAD)];
}

function radius(model, i) {
  const c = model.get("confidence")[i];
  return 7 + 11 * (typeof c === "number" ? Math.max(0, Math.min(1, c)) : 0);
}

function drawEdges(model, layer) {
  layer.replaceChildren();
  model.get("edges").forEach(([i, j, both]) => {
    const [x1, y1] = xy(model, i), [x2, y2] = xy(model, j);
    const a = model.get("agents")[i], b = model.get("agents")[j];
    const g = el("g", { class: "ltl-edge", "data-edge": `${a}-${b}` }, layer);
    el("line", { x1, y1, x2, y2, class: both ? "ltl-edge-line" : "ltl-edge-line ltl-directed" }, g);
    el("line", { x1, y1, x2, y2, class: "ltl-edge-hit" }, g);
    g.addEventListener("click", (ev) => { ev.stopPropagation(); select(model, { kind: "edge", agents: [a, b] }); });
  });
}

function drawNodes(model, layer) {
  layer.replaceChildren();
  const labels = model.get("agents").length <= 30;
  model.get("agents").forEach((id, i) => {
    const [x, y] = xy(model, i);
    const g = el("g", { class: "ltl-node", "data-agent": id, transform: `translate(${x},${y})` }, layer);
    el("circle", { class: "ltl-fault-ring", r: 0 }, g);
    el("circle", { class: "ltl-node-circle", r: 10 }, g);
    el("path", { class: "ltl-cross", d: "M-6,-6L6,6M6,-6L-6,6" }, g);
    if (labels) el("text", { class: "ltl-label", y: 4 }, g).textContent = id;
    el("title", {}, g);
    g.addEventListener("click", (ev) => { ev.stopPropagation(); select(model, { kind: "node", agent: id }); });
  });
}

function paintNodes(model, layer) {
  const colors = model.get("colors"), states = model.get("states"), faults = model.get("faults");
  const answers = model.get("answers"), sel = model.get("selected") || {};
  layer.querySelectorAll(".ltl-node").forEach((g, i) => {
    const r = radius(model, i), state = states[i] || "alive", marks = faults[i] || [];
    const circle = g.querySelector(".ltl-node-circle");
    circle.setAttribute("r", r);
    circle.setAttribute("fill", colors[i] || "#d0d4da");
    g.querySelector(".ltl-fault-ring").setAttribute("r", marks.length ? r + 4 : 0);
    g.dataset.answer = answers[i] == null ? "" : answers[i];
    g.dataset.state = state;
    g.dataset.faults = marks.join(",");
    g.classList.toggle("ltl-crashed", state === "crashed");
    g.classList.toggle("ltl-failed", state === "failed");
    g.classList.toggle("ltl-faulty", marks.length > 0);
    g.classList.toggle("ltl-selected", sel.kind === "node" && sel.agent === g.dataset.agent);
    const conf = model.get("confidence")[i];
    g.querySelector("title").textContent =
      `${g.dataset.agent}: ${answers[i] ?? "no answer"}` +
      (typeof conf === "number" ? ` (confidence ${conf.toFixed(2)})` : "") +
      (state !== "alive" ? ` — ${state}` : "") + (marks.length ? ` — faults: ${marks.join(", ")}` : "");
  });
}

function paintEdges(model, layer) {
  const sel = model.get("selected") || {}, agents = model.get("agents");
  const faulty = new Map();
  model.get("link_faults").forEach(([i, j, kind]) => {
    for (const key of [`${agents[i]}-${agents[j]}`, `${agents[j]}-${agents[i]}`]) {
      faulty.set(key, [...(faulty.get(key) || []), kind]);
    }
  });
  layer.querySelectorAll(".ltl-edge").forEach((g) => {
    const on = sel.kind === "edge" && sel.agents && g.dataset.edge === `${sel.agents[0]}-${sel.agents[1]}`;
    const kinds = faulty.get(g.dataset.edge) || [];
    g.classList.toggle("ltl-selected", on);
    g.classList.toggle("ltl-link-fault", kinds.length > 0);
    g.dataset.faults = kinds.join(",");
  });
}

function select(model, what) {
  model.set("selected", what);
  model.save_changes();
}

function animate(model, layer, running) {
  running.forEach((a) => a.cancel());
  running.length = 0;
  layer.replaceChildren();
  const ms = model.get("anim_ms");
  if (ms <= 0) return;
  model.get("messages").forEach(([i, j, status]) => {
    const [x1, y1] = xy(model, i), [x2, y2] = xy(model, j);
    const dot = el("circle", { r: 3.2, class: `ltl-msg ltl-msg-${status}` }, layer);
    const end = status === "dropped" ? [(x1 + x2) / 2, (y1 + y2) / 2] : [x2, y2];
    const frames = [
      { transform: `translate(${x1}px, ${y1}px)`, opacity: 0.95 },
      { transform: `translate(${end[0]}px, ${end[1]}px)`, opacity: status === "dropped" ? 0 : 0.85 },
    ];
    const anim = dot.animate(frames, { duration: ms, easing: "ease-in-out", fill: "forwards" });
    anim.onfinish = () => dot.remove();
    anim.oncancel = () => dot.remove();
    running.push(anim);
  });
}

function legend(model, box) {
  box.replaceChildren();
  const palette = model.get("palette"), truth = model.get("truth");
  model.get("options").forEach((opt, i) => {
    const item = document.createElement("span");
    item.className = "ltl-legend-item";
    const sw = document.createElement("span");
    sw.className = "ltl-swatch";
    sw.style.background = palette[i];
    item.append(sw, document.createTextNode(opt === truth ? `${opt} ✓` : opt));
    box.append(item);
  });
}

function render({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "ltl-graph";
  const head = document.createElement("div");
  head.className = "ltl-graph-head";
  const title = document.createElement("span");
  title.className = "ltl-round";
  const keys = document.createElement("span");
  keys.className = "ltl-legend";
  head.append(title, keys);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "ltl-svg", role: "img" });
  svg.style.height = `${model.get("height")}px`;
  const edges = el("g", { class: "ltl-edges" }, svg);
  const msgs = el("g", { class: "ltl-messages" }, svg);
  const nodes = el("g", { class: "ltl-nodes" }, svg);
  const hint = document.createElement("div");
  hint.className = "ltl-hint";
  hint.textContent = "click an agent or a link for fault actions";
  root.append(head, svg, hint);
  host.append(root);
  svg.addEventListener("click", () => select(model, {}));
  const running = [];
  const redraw = () => { drawEdges(model, edges); drawNodes(model, nodes); paint(); legend(model, keys); };
  const paint = () => {
    paintNodes(model, nodes);
    paintEdges(model, edges);
    title.textContent = `round ${model.get("round")}`;
    root.dataset.round = model.get("round");
  };
  redraw();
  model.on("change:agents", redraw);
  model.on("change:positions", redraw);
  model.on("change:edges", redraw);
  model.on("change:options", () => legend(model, keys));
  model.on("change:palette", () => legend(model, keys));
  for (const name of ["colors", "confidence", "states", "faults", "answers", "round", "selected", "link_faults"]) {
    model.on(`change:${name}`, paint);
  }
  model.on("change:frame", () => {
    animate(model, msgs, running);
    const frame = model.get("frame");  // acknowledge once painted: the lab's flow control
    requestAnimationFrame(() => model.send({ type: "painted", frame }));
  });
  model.send({ type: "view" });
  return () => running.forEach((a) => a.cancel());
}

export default { render };
