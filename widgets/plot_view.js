// Plot view: the anywidget front end of llmteams_lab.ui.PlotView (no build step).
//
// Why not plotly's FigureWidget: it syncs a figure once, then sends every later change as
// a transient delta message; a delta that arrives before the view's (5 MB) bundle has
// registered its listeners — after a kernel restart in the same page, or under load —
// is lost, and the plot stays blank with no error anywhere. Here the whole figure *is*
// the widget's state (`figure`), so a view always draws the latest state, whenever it
// renders, however many updates it missed.
//
// plotly.js is not part of the widget's state (that would store 5 MB in every saved
// notebook): the first view of a page asks the kernel for it once by a custom message
// and every view of the page shares it. A view that cannot draw says so in its box and
// tells the kernel (which shows it in the lab's error panel) — never a silent blank plot.

const G = globalThis;
const ASK_AGAIN_MS = 8000;
const GIVE_UP_MS = 45000;

function adopt(source) {
  if (!G.__ltlPlotly) {
    const module = { exports: {} };
    // plotly.min.js is UMD: given a CommonJS `module`, it exports itself there
    new Function("module", "exports", "define", source)(module, module.exports, undefined);
    G.__ltlPlotly = module.exports && module.exports.react ? module.exports : G.Plotly;
  }
  return G.__ltlPlotly;
}

function ask(model) {
  G.__ltlPlotlyAsked = Date.now();
  model.send({ type: "need_plotly" });
}

function plotly(model) {
  if (G.__ltlPlotly) return Promise.resolve(G.__ltlPlotly);
  if (!G.__ltlPlotlyAsked || Date.now() - G.__ltlPlotlyAsked > ASK_AGAIN_MS) ask(model);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (G.__ltlPlotly) return resolve(G.__ltlPlotly);
      if (Date.now() - started > GIVE_UP_MS) {
        return reject(new Error("plotly.js did not arrive from the kernel: is the kernel running? " +
          "Run the cell again to draw this plot."));
      }
      if (Date.now() - G.__ltlPlotlyAsked > ASK_AGAIN_MS) ask(model);  // the first asker may be gone
      setTimeout(tick, 40);
    };
    tick();
  });
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

function isDark() {
  const light = document.body.dataset.jpThemeLight;
  if (light !== undefined) return light === "false";
  return false;
}

// The figure with colours taken from the page's theme (JupyterLab light or dark), and
// tick labels allowed past the plot's edge unless the figure says otherwise. Why: plotly's
// default for a numeric axis ("hide past div") measures every tick label once per label
// drawn — getBoundingClientRect, O(labels²) forced layouts — which made up about half the
// page's time while the lab played (a redraw took 250–800 ms on a shared 2-core machine).
// With automargin on (the project's template) the labels fit inside the plot anyway.
const CARTESIAN = /^(scatter|scattergl|bar|histogram|histogram2d|histogram2dcontour|box|violin|heatmap|contour|candlestick|ohlc|funnel|waterfall|image)$/;

function themed(figure) {
  const layout = JSON.parse(JSON.stringify(figure.layout || {}));
  const axes = new Set(Object.keys(layout).filter((k) => /^[xy]axis\d*$/.test(k)));
  for (const trace of figure.data || []) {  // axes only the traces name: "x2" -> "xaxis2", none -> "xaxis"
    if (!CARTESIAN.test(trace.type || "scatter")) continue;
    for (const ref of [trace.xaxis || "x", trace.yaxis || "y"]) axes.add(ref[0] + "axis" + ref.slice(1));
  }
  for (const key of axes) {
    const axis = layout[key] && typeof layout[key] === "object" ? layout[key] : (layout[key] = {});
    if (axis.ticklabeloverflow === undefined) axis.ticklabeloverflow = "allow";
  }
  if (isDark()) {
    const bg = cssVar("--jp-layout-color1", "#111111"), fg = cssVar("--jp-ui-font-color1", "#e0e0e0");
    const grid = cssVar("--jp-border-color2", "#444444");
    layout.paper_bgcolor = bg;
    layout.plot_bgcolor = bg;
    layout.font = { ...(layout.font || {}), color: fg };
    for (const key of Object.keys(layout)) {
      if (/^[xy]axis\d*$/.test(key)) {
        layout[key] = { ...layout[key], gridcolor: grid, linecolor: grid, zerolinecolor: grid };
      }
    }
    if (layout.legend) layout.legend = { ...layout.legend, bgcolor: "rgba(0,0,0,0)" };
  }
  return { data: figure.data || [], layout };
}

function render({ model, el: host }) {
  const box = document.createElement("div");
  box.className = "ltl-plot";
  const plot = document.createElement("div");
  plot.className = "ltl-plot-area";
  const note = document.createElement("div");
  note.className = "ltl-plot-error";
  note.hidden = true;
  box.append(plot, note);
  host.append(box);
  let alive = true, drawing = null, again = false, listening = false;

  // A click on a point goes to the kernel (PlotView.on_click): e.g. the space-time view
  // shows the message whose arrow head was clicked (its seq is the point's customdata).
  const onClick = (ev) => {
    const points = ((ev && ev.points) || []).map((p) => ({
      curve: p.curveNumber, index: p.pointNumber, x: p.x, y: p.y,
      customdata: p.customdata === undefined ? null : p.customdata,
      text: p.hovertext === undefined ? (p.text === undefined ? null : p.text) : p.hovertext,
    }));
    if (points.length) model.send({ type: "click", points });
  };

  const fail = (err) => {
    const message = (err && err.message) || String(err);
    note.hidden = false;
    note.textContent = `This plot could not be drawn: ${message}`;
    box.dataset.state = "error";
    model.send({ type: "error", message });
  };

  const draw = async () => {
    if (drawing) { again = true; return; }
    drawing = (async () => {
      do {
        again = false;
        const P = await plotly(model);
        if (!alive) return;
        const figure = model.get("figure") || {};
        const revision = model.get("revision");
        const shown = themed(figure);
        await P.react(plot, shown.data, shown.layout, { responsive: true, displaylogo: false });
        if (!listening && plot.on) { plot.on("plotly_click", onClick); listening = true; }
        const want = (figure.data || []).length, got = (plot.data || []).length;
        if (want !== got) throw new Error(`${got} of ${want} traces were drawn`);
        note.hidden = true;
        box.dataset.state = "drawn";
        box.dataset.revision = String(revision);
        model.send({ type: "rendered", revision, traces: got });
      } while (again && alive);
    })();
    try { await drawing; } catch (err) { fail(err); } finally { drawing = null; }
  };

  const onMessage = async (msg) => {
    if (msg && msg.type === "plotly" && msg.source) adopt(msg.source);
    if (msg && msg.type === "to_image" && G.__ltlPlotly && plot.data) {  // an export: draw it as a PNG
      const data = await G.__ltlPlotly.toImage(plot, { format: "png", scale: 2 });
      model.send({ type: "image", id: msg.id, data });
    }
  };
  // A new figure is drawn after the page has painted and handled what came with it, never
  // inside the message that brought it: a plotly redraw is one long task (0.1–2 s on a
  // loaded machine), and the lab's status, its buttons and the team graph arrive in the
  // messages right behind a figure — a Pause would otherwise show only after the redraw.
  // Figures arriving meanwhile are folded into one draw of the latest.
  let later = 0;
  const drawSoon = () => {
    if (later) return;
    later = requestAnimationFrame(() => setTimeout(() => { later = 0; if (alive) draw(); }, 0));
  };
  model.on("msg:custom", onMessage);
  model.on("change:figure", drawSoon);
  const theme = new MutationObserver(() => draw());
  theme.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  draw();
  return () => {
    alive = false;
    theme.disconnect();
    model.off("msg:custom", onMessage);
    model.off("change:figure", drawSoon);
    cancelAnimationFrame(later);
    if (G.__ltlPlotly && plot.data) G.__ltlPlotly.purge(plot);
  };
}

export default { render };
