/* Schoolplein: suggestions while typing a recipient's name on the message form.

   Progressive enhancement: without this script the form's "Find" button sends the form and
   brings it back with the people found offered, everything typed kept. With it, after two
   letters the first ten people, groups and lists the writer may reach are listed under the
   field; choosing one adds it to the recipients, in "To". The server checks every recipient
   again when the message is sent. No inline script, handler or style is needed. */
(() => {
  "use strict";

  const field = document.querySelector("input[data-suggest]");
  const list = document.getElementById("candidates");
  if (!field || !list) {
    return;
  }
  const box = document.createElement("ul");
  box.className = "suggestions";
  box.id = "suggestions";
  box.hidden = true;
  field.parentNode.insertAdjacentElement("afterend", box);
  const firstSelect = list.querySelector("select");
  const labels = firstSelect
    ? Array.from(firstSelect.options).map((o) => [o.value, o.textContent])
    : [["", "—"], ["to", "To"], ["cc", "Cc"]];
  let asked = 0;

  const choose = (found) => {
    const id = "r-" + found.address.replace(":", "-");
    let select = document.getElementById(id);
    if (!select) {
      const item = document.createElement("li");
      item.className = "candidate";
      const label = document.createElement("label");
      label.htmlFor = id;
      const name = document.createElement("strong");
      name.textContent = found.name;
      const detail = document.createElement("span");
      detail.className = "muted candidate-detail";
      detail.textContent = " " + found.detail;
      label.append(name, detail);
      select = document.createElement("select");
      select.name = found.address;
      select.id = id;
      select.className = "choice-select";
      for (const [value, text] of labels) {
        select.append(new Option(text, value));
      }
      item.append(label, select);
      list.append(item);
    }
    if (select.value === "") {
      select.value = "to";
    }
    field.value = "";
    box.hidden = true;
    box.replaceChildren();
    select.focus();
  };

  const show = (found) => {
    box.replaceChildren();
    for (const one of found) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.textContent = one.name + " · " + one.detail;
      button.addEventListener("click", () => choose(one));
      item.append(button);
      box.append(item);
    }
    box.hidden = found.length === 0;
  };

  field.addEventListener("input", () => {
    const letters = field.value.trim();
    const mine = ++asked;
    if (letters.length < 2) {
      show([]);
      return;
    }
    fetch(field.dataset.suggest + "?q=" + encodeURIComponent(letters), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((answer) => (answer.ok ? answer.json() : []))
      .then((found) => {
        if (mine === asked) {
          show(found);
        }
      })
      .catch(() => show([]));
  });
  // Enter in the field picks the first suggestion instead of sending the form.
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !box.hidden && box.firstChild) {
      event.preventDefault();
      box.firstChild.firstChild.click();
    }
  });
})();
