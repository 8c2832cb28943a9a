// Team graph: the anywidget front end of llmteams_lab.ui.TeamGraph (no build step).
//
// Python owns the state (positions, colours, glyphs, messages); this file only draws it
// and reports clicks back through the `selected` trait. Two renderers, one look:
//   * SVG up to `svg_max` agents: one element per node and edge, each with data-*
//     attributes a browser test (or a curious user) can read;
//   * canvas above that (200, 1,000 agents): a ring of answer-coloured points drawn in one
//     pass, edges hidden or faint (Python decides and says so in `edges_note`), hover
//     labels, and a click on the nearest point — so a big team stays legible and clickable.
// Both show fault glyphs per kind (FAULT_STYLE in plots/style.py), the two sides of a
// partition as coloured halos, message dots coloured by the answer they carry (a click
// on one shows the message), and answer-share bars above the graph. Coordination teams
// also carry roles and badges (`roles`, `badges`): the badge ("♛ t3", "coordinator:
// prepare") is written under the node and the leader or coordinator is ringed.

const SVG = "http://www.w3.org/2000/svg";
const W = 460, H = 360, PAD = 34;
const SIDE = Math.min(W, H) - 2 * PAD, X0 = (W - SIDE) / 2, Y0 = PAD;  // one scale: circles stay round
const SIDES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"];

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function xy(model, i) {
  const p = model.get("positions")[i] || [0.5, 0.5];
  return [X0 + p[0] * SIDE, Y0 + p[1] * SIDE];
}

function radius(model, i, big) {
  const c = model.get("confidence")[i];
  const conf = typeof c === "number" ? Math.max(0, Math.min(1, c)) : 0;
  if (big) return 2.2 + 2.5 * conf * Math.min(1, 200 / model.get("agents").length);
  if ((model.get("roles") || [])[i]) return 12;  // a role, not a confidence: one size
  return 7 + 11 * conf;
}

function select(model, what) {
  model.set("selected", what);
  model.save_changes();
}

function faultStyle(model, kind) {
  return (model.get("fault_style") || {})[kind] || { glyph: "!", color: "#555", dash: "none", label: kind };
}

const LEADS = ["leader", "coordinator"];  // roles ringed on the graph

function tooltip(model, i) {
  const answers = model.get("answers"), states = model.get("states"), marks = model.get("faults")[i] || [];
  const conf = model.get("confidence")[i], id = model.get("agents")[i];
  const role = (model.get("roles") || [])[i], badge = (model.get("badges") || [])[i];
  if (role) {
    return `${id}: ${role}` + (badge ? ` (${badge})` : "") + (answers[i] != null ? `, holds ${answers[i]}` : "") +
      (states[i] && states[i] !== "alive" ? ` — ${states[i]}` : "") +
      (marks.length ? ` — faults: ${marks.map((k) => faultStyle(model, k).label).join(", ")}` : "");
  }
  return `${id}: ${answers[i] ?? "no answer"}` + (typeof conf === "number" ? ` (confidence ${conf.toFixed(2)})` : "") +
    (states[i] && states[i] !== "alive" ? ` — ${states[i]}` : "") +
    (marks.length ? ` — faults: ${marks.map((k) => faultStyle(model, k).label).join(", ")}` : "");
}

// --- SVG renderer (small teams) ---------------------------------------------------------
function svgView(model, host, ctx) {
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "ltl-svg", role: "img" });
  svg.style.height = `${model.get("height")}px`;
  const halos = el("g", { class: "ltl-halos" }, svg);
  const edges = el("g", { class: "ltl-edges" }, svg);
  const nodes = el("g", { class: "ltl-nodes" }, svg);
  const msgs = el("g", { class: "ltl-messages" }, svg);
  host.append(svg);
  svg.addEventListener("click", () => select(model, {}));
  const running = [];

  const drawEdges = () => {
    edges.replaceChildren();
    const agents = model.get("agents");
    model.get("edges").forEach(([i, j, both]) => {
      const [x1, y1] = xy(model, i), [x2, y2] = xy(model, j);
      const g = el("g", { class: "ltl-edge", "data-edge": `${agents[i]}-${agents[j]}` }, edges);
      el("line", { x1, y1, x2, y2, class: both ? "ltl-edge-line" : "ltl-edge-line ltl-directed" }, g);
      el("text", { class: "ltl-edge-glyph", x: (x1 + x2) / 2, y: (y1 + y2) / 2 + 4 }, g);
      el("line", { x1, y1, x2, y2, class: "ltl-edge-hit" }, g);
      g.addEventListener("click", (ev) => { ev.stopPropagation(); select(model, { kind: "edge", agents: [agents[i], agents[j]] }); });
    });
  };
  const drawNodes = () => {
    nodes.replaceChildren();
    halos.replaceChildren();
    const labels = model.get("agents").length <= 30;
    model.get("agents").forEach((id, i) => {
      const [x, y] = xy(model, i);
      el("circle", { class: "ltl-halo", cx: x, cy: y, r: 0, "data-agent": id }, halos);
      const g = el("g", { class: "ltl-node", "data-agent": id, transform: `translate(${x},${y})` }, nodes);
      el("circle", { class: "ltl-fault-ring", r: 0 }, g);
      el("circle", { class: "ltl-node-circle", r: 10 }, g);
      el("path", { class: "ltl-cross", d: "M-6,-6L6,6M6,-6L-6,6" }, g);
      if (labels) el("text", { class: "ltl-label", y: 4 }, g).textContent = id;
      el("g", { class: "ltl-glyphs" }, g);
      el("text", { class: "ltl-badge" }, g);
      el("title", {}, g);
      g.addEventListener("click", (ev) => { ev.stopPropagation(); select(model, { kind: "node", agent: id }); });
    });
  };
  const paintNodes = () => {
    const colors = model.get("colors"), states = model.get("states"), faults = model.get("faults");
    const answers = model.get("answers"), sel = model.get("selected") || {}, sides = model.get("partition") || [];
    const halo = [...halos.children];
    nodes.querySelectorAll(".ltl-node").forEach((g, i) => {
      const r = radius(model, i, false), state = states[i] || "alive", marks = faults[i] || [];
      const circle = g.querySelector(".ltl-node-circle");
      circle.setAttribute("r", r);
      circle.setAttribute("fill", colors[i] || "#d0d4da");
      const ring = g.querySelector(".ltl-fault-ring");
      const first = marks.find((k) => k !== "crash") || marks[0];
      ring.setAttribute("r", marks.length ? r + 4 : 0);
      if (first) {
        const st = faultStyle(model, first);
        ring.style.stroke = st.color;
        ring.style.strokeDasharray = st.dash === "none" ? "" : st.dash;
      }
      const glyphs = g.querySelector(".ltl-glyphs");
      glyphs.replaceChildren();
      marks.filter((k) => k !== "crash").forEach((k, n) => {
        const st = faultStyle(model, k), gx = r + 2 + n * 11, gy = -r - 2;
        const b = el("g", { class: "ltl-glyph", "data-kind": k, transform: `translate(${gx},${gy})` }, glyphs);
        el("circle", { r: 6, fill: st.color }, b);
        el("text", { y: 3.5 }, b).textContent = st.glyph;
      });
      const side = sides[i] ?? -1;
      if (halo[i]) {
        halo[i].setAttribute("r", side >= 0 ? r + 9 : 0);
        halo[i].setAttribute("fill", side >= 0 ? SIDES[side % SIDES.length] : "none");
        halo[i].dataset.side = String(side);
      }
      const role = (model.get("roles") || [])[i] || "", badge = g.querySelector(".ltl-badge");
      badge.textContent = (model.get("badges") || [])[i] || "";
      badge.setAttribute("y", r + 12);
      g.dataset.role = role;
      g.dataset.badge = badge.textContent;
      g.classList.toggle("ltl-lead", LEADS.includes(role));
      g.dataset.answer = answers[i] == null ? "" : answers[i];
      g.dataset.state = state;
      g.dataset.faults = marks.join(",");
      g.dataset.side = String(side);
      g.classList.toggle("ltl-crashed", state === "crashed");
      g.classList.toggle("ltl-failed", state === "failed");
      g.classList.toggle("ltl-faulty", marks.length > 0);
      g.classList.toggle("ltl-selected", sel.kind === "node" && sel.agent === g.dataset.agent);
      g.querySelector("title").textContent = tooltip(model, i);
    });
  };
  const paintEdges = () => {
    const sel = model.get("selected") || {}, agents = model.get("agents");
    const faulty = new Map();
    model.get("link_faults").forEach(([i, j, kind]) => {
      for (const key of [`${agents[i]}-${agents[j]}`, `${agents[j]}-${agents[i]}`]) {
        faulty.set(key, [...(faulty.get(key) || []), kind]);
      }
    });
    edges.querySelectorAll(".ltl-edge").forEach((g) => {
      const on = sel.kind === "edge" && sel.agents && g.dataset.edge === `${sel.agents[0]}-${sel.agents[1]}`;
      const kinds = faulty.get(g.dataset.edge) || [];
      g.classList.toggle("ltl-selected", on);
      g.classList.toggle("ltl-link-fault", kinds.length > 0);
      g.dataset.faults = kinds.join(",");
      const line = g.querySelector(".ltl-edge-line"), glyph = g.querySelector(".ltl-edge-glyph");
      if (kinds.length) {
        const st = faultStyle(model, kinds[0]);
        line.style.stroke = st.color;
        line.style.strokeDasharray = st.dash === "none" ? "" : st.dash;
        glyph.textContent = kinds.map((k) => faultStyle(model, k).glyph).join("");
        glyph.style.fill = st.color;
      } else {
        line.style.stroke = "";
        line.style.strokeDasharray = "";
        glyph.textContent = "";
      }
    });
  };
  const animate = () => {
    running.forEach((a) => a.cancel());
    running.length = 0;
    msgs.replaceChildren();
    const ms = model.get("anim_ms"), hold = model.get("hold");
    if (ms <= 0) return;
    model.get("messages").forEach(([i, j, status, color, index]) => {
      const [x1, y1] = xy(model, i), [x2, y2] = xy(model, j);
      const dot = el("circle", { r: 4, class: `ltl-msg ltl-msg-${status}`, "data-index": index }, msgs);
      dot.style.fill = status === "dropped" ? "none" : color;
      if (status === "dropped") dot.style.stroke = "#D55E00";
      el("title", {}, dot).textContent = `${model.get("agents")[i]} → ${model.get("agents")[j]} (${status}): click to read`;
      dot.addEventListener("click", (ev) => { ev.stopPropagation(); select(model, { kind: "message", index }); });
      const stop = status === "dropped" ? 0.5 : (hold ? 0.78 : 1);
      const end = [x1 + (x2 - x1) * stop, y1 + (y2 - y1) * stop];
      const frames = [{ transform: `translate(${x1}px, ${y1}px)`, opacity: 0.95 },
        { transform: `translate(${end[0]}px, ${end[1]}px)`, opacity: status === "dropped" ? 0.3 : 0.9 }];
      const anim = dot.animate(frames, { duration: ms, easing: "ease-in-out", fill: "forwards" });
      if (!hold) anim.onfinish = () => dot.remove();
      anim.oncancel = () => dot.remove();
      running.push(anim);
    });
  };
  return {
    redraw: () => { drawEdges(); drawNodes(); },
    paint: () => { paintNodes(); paintEdges(); },
    animate,
    destroy: () => running.forEach((a) => a.cancel()),
  };
}

// --- canvas renderer (large teams) ------------------------------------------------------
function canvasView(model, host) {
  const wrap = document.createElement("div");
  wrap.className = "ltl-canvas-wrap";
  const canvas = document.createElement("canvas");
  canvas.className = "ltl-canvas";
  canvas.dataset.layout = JSON.stringify({ W, H, X0, Y0, SIDE });  // where a position lands (tests)
  const tip = document.createElement("div");
  tip.className = "ltl-canvas-tip";
  tip.hidden = true;
  wrap.append(canvas, tip);
  host.append(wrap);
  const scale = window.devicePixelRatio || 1;
  canvas.width = W * scale;
  canvas.height = H * scale;
  canvas.style.maxHeight = `${model.get("height") + 80}px`;  // the width sets the height (aspect-ratio)
  const g = canvas.getContext("2d");
  let flights = [], started = 0, raf = 0;

  const toModel = (ev) => {
    const box = canvas.getBoundingClientRect();
    const s = Math.min(box.width / W, box.height / H);
    const ox = (box.width - W * s) / 2, oy = (box.height - H * s) / 2;
    return [(ev.clientX - box.left - ox) / s, (ev.clientY - box.top - oy) / s];
  };
  const nearest = (x, y) => {
    let best = -1, dist = 81;  // within 9 px
    model.get("agents").forEach((_, i) => {
      const [px, py] = xy(model, i), d = (px - x) ** 2 + (py - y) ** 2;
      if (d < dist) { dist = d; best = i; }
    });
    return best;
  };
  const frame = (now) => {
    const colors = model.get("colors"), states = model.get("states"), faults = model.get("faults");
    const sel = model.get("selected") || {}, agents = model.get("agents"), sides = model.get("partition") || [];
    g.setTransform(scale, 0, 0, scale, 0, 0);
    g.clearRect(0, 0, W, H);
    const edges = model.get("edges");
    if (edges.length) {
      g.strokeStyle = "rgba(120,130,140,0.12)";
      g.lineWidth = 0.6;
      g.beginPath();
      for (const [i, j] of edges) { const [a, b] = xy(model, i), [c, d] = xy(model, j); g.moveTo(a, b); g.lineTo(c, d); }
      g.stroke();
    }
    agents.forEach((id, i) => {
      const [x, y] = xy(model, i), r = radius(model, i, true), marks = faults[i] || [];
      if ((sides[i] ?? -1) >= 0) {
        g.fillStyle = SIDES[sides[i] % SIDES.length] + "55";
        g.beginPath(); g.arc(x, y, r + 4, 0, 2 * Math.PI); g.fill();
      }
      g.fillStyle = colors[i] || "#d0d4da";
      g.beginPath(); g.arc(x, y, r, 0, 2 * Math.PI); g.fill();
      const first = marks.find((k) => k !== "crash");
      if (first) {
        g.strokeStyle = faultStyle(model, first).color; g.lineWidth = 1.6;
        g.beginPath(); g.arc(x, y, r + 2, 0, 2 * Math.PI); g.stroke();
      }
      if (states[i] === "crashed") {
        g.strokeStyle = "#555"; g.lineWidth = 1.2;
        g.beginPath(); g.moveTo(x - 3, y - 3); g.lineTo(x + 3, y + 3); g.moveTo(x + 3, y - 3); g.lineTo(x - 3, y + 3); g.stroke();
      }
      const role = (model.get("roles") || [])[i];
      if (LEADS.includes(role)) {  // a big team: only its leader or coordinator is labelled
        g.strokeStyle = "#222"; g.lineWidth = 2;
        g.beginPath(); g.arc(x, y, r + 3, 0, 2 * Math.PI); g.stroke();
        g.fillStyle = "#222"; g.font = "bold 11px system-ui, sans-serif"; g.textAlign = "center";
        g.fillText((model.get("badges") || [])[i] || role, x, y - r - 6);
      }
      if (sel.kind === "node" && sel.agent === id) {
        g.strokeStyle = "#D55E00"; g.lineWidth = 2.5;
        g.beginPath(); g.arc(x, y, r + 5, 0, 2 * Math.PI); g.stroke();
      }
    });
    const ms = model.get("anim_ms"), t = ms > 0 ? Math.min(1, (now - started) / ms) : 1;
    const hold = model.get("hold");
    if (t < 1 || hold) {
      for (const [i, j, status, color] of flights) {
        const [x1, y1] = xy(model, i), [x2, y2] = xy(model, j);
        const stop = status === "dropped" ? 0.5 : (hold ? 0.78 : 1), f = Math.min(t, 1) * stop;
        g.fillStyle = status === "dropped" ? "#D55E00" : color;
        g.beginPath(); g.arc(x1 + (x2 - x1) * f, y1 + (y2 - y1) * f, 2.4, 0, 2 * Math.PI); g.fill();
      }
    }
    if (t < 1) raf = requestAnimationFrame(frame);
  };
  canvas.addEventListener("mousemove", (ev) => {
    const [x, y] = toModel(ev), i = nearest(x, y);
    if (i < 0) { tip.hidden = true; canvas.style.cursor = "default"; return; }
    canvas.style.cursor = "pointer";
    tip.hidden = false;
    tip.textContent = tooltip(model, i);
    const box = canvas.getBoundingClientRect();
    tip.style.left = `${ev.clientX - box.left + 12}px`;
    tip.style.top = `${ev.clientY - box.top + 8}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (ev) => {
    const [x, y] = toModel(ev), i = nearest(x, y);
    select(model, i < 0 ? {} : { kind: "node", agent: model.get("agents")[i] });
  });
  return {
    redraw: () => {},
    paint: () => { cancelAnimationFrame(raf); raf = requestAnimationFrame(frame); },
    animate: () => { flights = model.get("messages"); started = performance.now(); cancelAnimationFrame(raf); raf = requestAnimationFrame(frame); },
    destroy: () => cancelAnimationFrame(raf),
  };
}

// --- head: round, answer-share bars, legend ----------------------------------------------
function legend(model, box) {
  box.replaceChildren();
  for (const [label, color] of model.get("legend")) {
    const item = document.createElement("span");
    item.className = "ltl-legend-item";
    const sw = document.createElement("span");
    sw.className = "ltl-swatch";
    sw.style.background = color;
    item.append(sw, document.createTextNode(label));
    box.append(item);
  }
}

function shares(model, bar) {
  bar.replaceChildren();
  const parts = model.get("shares"), total = parts.reduce((s, p) => s + p[2], 0);
  if (!total) return;
  for (const [label, color, count] of parts) {
    if (!count) continue;
    const seg = document.createElement("span");
    seg.className = "ltl-share";
    seg.style.flexGrow = String(count);
    seg.style.background = color;
    seg.dataset.label = label;
    seg.dataset.count = String(count);
    seg.title = `${label}: ${count} of ${total} (${Math.round((100 * count) / total)} %)`;
    if (count / total >= 0.08) seg.textContent = `${label} ${Math.round((100 * count) / total)}%`;
    bar.append(seg);
  }
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
  const bar = document.createElement("div");
  bar.className = "ltl-shares";
  const body = document.createElement("div");
  body.className = "ltl-graph-body";
  const note = document.createElement("div");
  note.className = "ltl-hint";
  root.append(head, bar, body, note);
  host.append(root);
  let view = null, mode = null;

  const build = () => {
    const next = model.get("agents").length > model.get("svg_max") ? "canvas" : "svg";
    if (view && next === mode) { view.redraw(); return; }
    if (view) view.destroy();
    body.replaceChildren();
    mode = next;
    root.dataset.mode = mode;
    view = mode === "svg" ? svgView(model, body) : canvasView(model, body);
    view.redraw();
  };
  const paint = () => {
    view.paint();
    title.textContent = `${model.get("unit") || "round"} ${model.get("round")}`;
    root.dataset.round = model.get("round");
    shares(model, bar);
    note.textContent = model.get("note") || "click an agent or a link for fault actions";
  };
  build();
  paint();
  legend(model, keys);
  // one frame changes many traits at once: paint once per animation frame, not once per trait
  let pending = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  };
  for (const name of ["agents", "positions", "edges"]) model.on(`change:${name}`, () => { build(); paint(); });
  model.on("change:legend", () => legend(model, keys));
  for (const name of ["colors", "confidence", "states", "faults", "answers", "round", "selected", "link_faults",
    "partition", "shares", "note", "roles", "badges"]) {
    model.on(`change:${name}`, schedule);
  }
  model.on("change:frame", () => {
    view.animate();
    const frame = model.get("frame");  // acknowledge once painted: the lab's flow control
    requestAnimationFrame(() => model.send({ type: "painted", frame }));
  });
  model.send({ type: "view" });
  return () => view && view.destroy();
}

export default { render };
