// The front end of hera_magics' live status view (an anywidget module).
//
// The kernel sends the view's HTML whole in the `html` trait when its layout changes, and
// afterwards only the parts that changed, as custom messages {type: "patch", parts: {key: html}}:
// each element carrying data-hm-part="key" is replaced by its new HTML (view/patches.py).
// A new view (a second display, a reload) says {event: "hello"}; the kernel then sends the
// whole current HTML once ({type: "full", html}) if patches were sent since the trait was set.
// A click on anything with data-node (a graph node, a table row, a timeline bar) selects it and
// tells the kernel {event: "select", node}; the kernel shows that task's log in its panel.

function findPart(root, key) {
  return root.querySelector(`[data-hm-part="${CSS.escape(key)}"]`);
}

function parse(old, html) {
  const template = document.createElement("template");
  if (old instanceof SVGElement) {
    template.innerHTML = `<svg xmlns="http://www.w3.org/2000/svg">${html}</svg>`;
    return template.content.firstElementChild && template.content.firstElementChild.firstElementChild;
  }
  template.innerHTML = html;
  return template.content.firstElementChild;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "hera-magics-live";
  el.appendChild(root);
  let selected = null;

  const mark = () => {
    root.querySelectorAll(".hm-selected").forEach((node) => node.classList.remove("hm-selected"));
    if (selected === null) return;
    root.querySelectorAll("[data-node]").forEach((node) => {
      if (node.getAttribute("data-node") === selected) node.classList.add("hm-selected");
    });
  };
  const show = (html) => {
    root.innerHTML = html;
    mark();
  };
  const patch = (parts) => {
    let missing = false;
    for (const [key, html] of Object.entries(parts)) {
      const old = findPart(root, key);
      const fresh = old && parse(old, html);
      if (fresh) old.replaceWith(fresh);
      else missing = true;
    }
    mark();
    if (missing) model.send({ event: "hello" }); // out of step: ask for the whole view
  };

  const onMessage = (message) => {
    if (message && message.type === "patch") patch(message.parts);
    else if (message && message.type === "full") show(message.html);
  };
  const onHtml = () => show(model.get("html"));
  const onClick = (event) => {
    const target = event.target.closest("[data-node]");
    if (!target || !root.contains(target)) return;
    selected = target.getAttribute("data-node");
    mark();
    model.send({ event: "select", node: selected });
  };

  model.on("msg:custom", onMessage);
  model.on("change:html", onHtml);
  root.addEventListener("click", onClick);
  show(model.get("html"));
  model.send({ event: "hello" });
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:html", onHtml);
    root.removeEventListener("click", onClick);
  };
}

export default { render };
