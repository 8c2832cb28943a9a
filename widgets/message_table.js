// Message table: the anywidget front end of llmteams_lab.ui.tables.MessageTable.
// Python sends the round's rows as data; a click on a row selects that message (the
// lab then shows its full text). Cells are set as text, never as HTML: message text
// comes from models and must not inject markup.

const HEAD = ["sender", "receiver", "content", "tokens", "sent at (s)", "in flight (s)", "fault / fate"];

function render({ model, el: host }) {
  const box = document.createElement("div");
  box.className = "ltl-messages-box";
  host.append(box);
  const paint = () => {
    box.replaceChildren();
    const title = document.createElement("div");
    title.className = "ltl-table-title";
    title.textContent = model.get("title");
    box.append(title);
    const rows = model.get("rows");
    if (!rows.length) {
      const note = document.createElement("div");
      note.className = "ltl-muted";
      note.textContent = model.get("note");
      box.append(note);
      return;
    }
    const table = document.createElement("table");
    table.className = "ltl-table";
    const head = table.createTHead().insertRow();
    for (const h of HEAD) { const th = document.createElement("th"); th.textContent = h; head.append(th); }
    const body = table.createTBody();
    const sel = model.get("selected");
    rows.forEach(([index, status, ...cells]) => {
      const tr = body.insertRow();
      tr.dataset.index = String(index);
      if (status !== "delivered") tr.className = `ltl-row-${status.replace(/ /g, "-")}`;
      if (index === sel) tr.classList.add("ltl-row-selected");
      for (const c of cells) tr.insertCell().textContent = c;
      tr.addEventListener("click", () => { model.set("selected", index); model.save_changes(); });
    });
    box.append(table);
    if (model.get("more") > 0) {
      const more = document.createElement("div");
      more.className = "ltl-muted";
      more.textContent = `… and ${model.get("more")} more messages`;
      box.append(more);
    }
  };
  for (const name of ["rows", "title", "note", "more", "selected"]) model.on(`change:${name}`, paint);
  paint();
}

export default { render };
