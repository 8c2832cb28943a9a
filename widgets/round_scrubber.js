// Round scrubber: the anywidget front end of llmteams_lab.ui.scrubber.RoundScrubber.
//
// A native range input, so the keyboard behaves as everywhere else (Home = round 0,
// End = the latest round, arrows = one round), plus the live/history badge: "live", or
// "viewing round k — back to live". It also carries the lab's keyboard shortcuts —
// space = Play/Pause, → = Step — listened for on the whole lab panel, never while the
// user types in a field (text, number, select): those keys belong to the field.

const FIELD = "textarea, select, [contenteditable=''], [contenteditable='true']";
const RANGE_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);
const TEXT_INPUTS = new Set(["text", "number", "search", "email", "url", "password", "tel"]);

function isField(target) {
  if (!target || !target.closest) return false;
  if (target.closest(FIELD)) return true;
  return target.tagName === "INPUT" && TEXT_INPUTS.has((target.type || "text").toLowerCase());
}

function shortcuts(model, host) {
  let root = null;
  const onKey = (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || isField(ev.target)) return;
    const onRange = ev.target && ev.target.type === "range";
    if (onRange && RANGE_KEYS.has(ev.key)) {  // the slider's own keys: not the notebook's
      ev.stopPropagation();
      return;
    }
    let action = null;
    if (ev.key === " " || ev.code === "Space") action = "play";
    else if (ev.key === "ArrowRight" && !onRange) action = "step";
    if (!action) return;
    ev.preventDefault();  // no scrolling, no native click of a focused button
    ev.stopPropagation();  // not a notebook shortcut either
    model.send({ type: "key", action });
  };
  const onDown = (ev) => {  // clicking the panel (not a field) gives it the keyboard
    if (!isField(ev.target) && ev.target.tagName !== "INPUT" && root) root.focus({ preventScroll: true });
  };
  const attach = (tries) => {
    root = host.closest(".ltl-lab");
    if (!root) { if (tries > 0) requestAnimationFrame(() => attach(tries - 1)); return; }
    if (root.dataset.ltlKeys) { root = null; return; }  // another view of this lab listens
    root.dataset.ltlKeys = "1";
    if (!root.hasAttribute("tabindex")) root.setAttribute("tabindex", "-1");
    root.addEventListener("keydown", onKey);
    root.addEventListener("mousedown", onDown);
  };
  attach(60);
  return () => {
    if (!root) return;
    root.removeEventListener("keydown", onKey);
    root.removeEventListener("mousedown", onDown);
    delete root.dataset.ltlKeys;
  };
}

function render({ model, el: host }) {
  const box = document.createElement("div");
  box.className = "ltl-scrubber-box";
  const label = document.createElement("span");
  label.className = "ltl-scrubber-label";
  label.textContent = "round";
  const range = document.createElement("input");
  range.type = "range";
  range.className = "ltl-scrubber-range";
  range.setAttribute("aria-label", "round to show");
  const value = document.createElement("span");
  value.className = "ltl-scrubber-value";
  const badge = document.createElement("span");
  badge.className = "ltl-live-badge";
  const back = document.createElement("button");
  back.className = "ltl-back-live";
  back.textContent = "back to live";
  back.title = "show the latest round again (Step and Play do this too)";
  box.append(label, range, value, badge, back);
  host.append(box);

  const paint = () => {
    const max = model.get("max"), v = model.get("value"), live = model.get("live");
    range.max = String(max);
    range.min = "0";
    if (+range.value !== v) range.value = String(v);
    range.disabled = max === 0;
    value.textContent = `${v} / ${max}`;
    box.dataset.live = live ? "1" : "0";
    box.dataset.value = String(v);
    badge.textContent = live ? "● live" : `viewing round ${v} —`;
    badge.classList.toggle("ltl-detached", !live);
    back.hidden = live;
  };
  range.addEventListener("input", () => {
    model.set("value", +range.value);
    model.save_changes();
    paint();
  });
  back.addEventListener("click", () => model.send({ type: "live" }));
  for (const name of ["max", "value", "live"]) model.on(`change:${name}`, paint);
  paint();
  const detach = shortcuts(model, host);
  return () => detach();
}

export default { render };
