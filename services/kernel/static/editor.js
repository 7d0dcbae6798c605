/* Schoolplein: a formatting toolbar above every rich-text field (textarea[data-rich-text]).

   Progressive enhancement: without this script such a field is a plain textarea in which
   staff type the allowed tags by hand, and it stays exactly that. The toolbar writes only
   tags the server's allow-list keeps (strong, em, h3, ul/ol/li, and links to http(s) and
   mail addresses); the server's sanitiser remains the only line of defence.

   The buttons' labels are the page's texts, in the page's language, handed over as data
   attributes on this script's own element. No inline script, handler or style is needed
   (the pages' Content-Security-Policy allows none of them). */
(() => {
  "use strict";

  const script = document.currentScript;
  const texts = script ? script.dataset : {};
  // Without its texts the toolbar would be unlabelled: then the plain field it is.
  if (!texts.toolbar) {
    return;
  }
  const mac = /Mac|iPhone|iPad|iPod/.test(navigator.platform);
  const SVG = "http://www.w3.org/2000/svg";

  // ---- Editing the field ------------------------------------------------------------------

  /* Replaces [from, to) of the field's text with `text` and selects [selectFrom, selectTo)
     of the result. execCommand("insertText") keeps the browser's undo history and fires the
     field's input event; where a browser lacks it, setRangeText and an input event of ours. */
  function replace(field, from, to, text, selectFrom, selectTo) {
    field.focus();
    field.setSelectionRange(from, to);
    let inserted = false;
    try {
      inserted = document.execCommand("insertText", false, text);
    } catch (_) {
      inserted = false;
    }
    if (!inserted) {
      field.setRangeText(text, from, to, "end");
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
    field.setSelectionRange(selectFrom, selectTo);
  }

  /* The selection, with the spaces at its edges left out (a double-clicked word brings its
     space along, and "<strong>word </strong>" is not what anyone meant). */
  function trimmedSelection(field) {
    const start = field.selectionStart;
    const selected = field.value.slice(start, field.selectionEnd);
    const lead = selected.length - selected.trimStart().length;
    const inner = selected.trim();
    return { from: start + lead, to: start + lead + inner.length, text: inner };
  }

  /* The whole lines the selection touches. A selection that ends at the very start of a
     line (a drag past the end of the line above) leaves that line out. */
  function selectedLines(field) {
    const value = field.value;
    const start = field.selectionStart;
    let end = field.selectionEnd;
    if (end > start && value[end - 1] === "\n") {
      end -= 1;
    }
    const from = start === 0 ? 0 : value.lastIndexOf("\n", start - 1) + 1;
    const next = value.indexOf("\n", end);
    return { from, to: next === -1 ? value.length : next };
  }

  /* Writes a block (a heading, a list) over [from, to) as a paragraph of its own: the server
     makes paragraphs at blank lines and line breaks inside them, and a block inside a
     paragraph would leave stray breaks around it. The selection is [selectFrom, selectTo) of
     `markup`. */
  function writeBlock(field, from, to, markup, selectFrom, selectTo) {
    const before = field.value.slice(0, from);
    const after = field.value.slice(to);
    let lead = "";
    if (before !== "" && !before.endsWith("\n\n")) {
      lead = before.endsWith("\n") ? "\n" : "\n\n";
    }
    let tail = "";
    if (after !== "" && !after.startsWith("\n\n")) {
      tail = after.startsWith("\n") ? "\n" : "\n\n";
    }
    const at = from + lead.length;
    replace(field, from, to, lead + markup + tail, at + selectFrom, at + selectTo);
  }

  /* Bold and italic: wraps the selection in the tag and keeps the words selected, so that
     the other button can be added. Pressed again on wrapped words, it takes the tag away. */
  function inline(field, tag) {
    const open = `<${tag}>`;
    const close = `</${tag}>`;
    const value = field.value;
    const start = field.selectionStart;
    const end = field.selectionEnd;
    if (
      start >= open.length &&
      value.slice(start - open.length, start) === open &&
      value.slice(end, end + close.length) === close
    ) {
      const from = start - open.length;
      const inner = value.slice(start, end);
      replace(field, from, end + close.length, inner, from, from + inner.length);
      return;
    }
    const { from, to, text } = trimmedSelection(field);
    if (
      text.length >= open.length + close.length &&
      text.startsWith(open) &&
      text.endsWith(close)
    ) {
      const inner = text.slice(open.length, -close.length);
      replace(field, from, to, inner, from, from + inner.length);
      return;
    }
    const inner = from + open.length;
    replace(field, from, to, open + text + close, inner, inner + text.length);
  }

  /* A heading (h3, the size a post's headings have): the lines the selection touches become
     one heading, or stop being one. */
  function heading(field) {
    const { from, to } = selectedLines(field);
    const lines = field.value.slice(from, to);
    const existing = /^\s*<h3>([\s\S]*)<\/h3>\s*$/.exec(lines);
    if (existing) {
      const inner = existing[1].trim();
      replace(field, from, to, inner, from, from + inner.length);
      return;
    }
    const text = lines
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "")
      .join(" ");
    writeBlock(field, from, to, `<h3>${text}</h3>`, 4, 4 + text.length);
  }

  /* A list: each selected line becomes an item (a typed "-", "*", "•" or "1." in front goes).
     On a list of the other kind it changes the kind; on one of this kind, the items become
     lines again. */
  function list(field, tag) {
    const { from, to } = selectedLines(field);
    const lines = field.value.slice(from, to);
    const existing = /^\s*<(ul|ol)>([\s\S]*)<\/\1>\s*$/.exec(lines);
    if (existing && !/<(ul|ol)>/.test(existing[2])) {
      if (existing[1] !== tag) {
        const markup = `<${tag}>${existing[2]}</${tag}>`;
        replace(field, from, to, markup, from, from + markup.length);
        return;
      }
      const items = existing[2]
        .split(/<\/li>/)
        .map((item) => item.replace(/^\s*<li>/, "").trim())
        .filter((item) => item !== "")
        .join("\n");
      replace(field, from, to, items, from, from + items.length);
      return;
    }
    const items = lines
      .split("\n")
      .map((line) => line.trim().replace(/^(?:[-*•]|\d+[.)])\s+/, ""))
      .filter((line) => line !== "");
    if (items.length === 0) {
      // An empty line: an empty item, with the cursor in it.
      const caret = `<${tag}><li>`.length;
      writeBlock(field, from, to, `<${tag}><li></li></${tag}>`, caret, caret);
      return;
    }
    // One line: a line break between items would become a <br> inside the list.
    const markup = `<${tag}>${items.map((item) => `<li>${item}</li>`).join("")}</${tag}>`;
    writeBlock(field, from, to, markup, 0, markup.length);
  }

  /* A link around the selection, to the address asked for. Only what the sanitiser keeps is
     accepted: http(s) with a host, or a mail address. Without a selection the address is the
     link's text. */
  function link(field) {
    const { from, to, text } = trimmedSelection(field);
    const start = field.selectionStart;
    const end = field.selectionEnd;
    const answer = window.prompt(texts.linkPrompt, "https://");
    // The question took the focus; the selection is as it was.
    field.focus();
    field.setSelectionRange(start, end);
    if (answer === null || answer.trim() === "" || answer.trim() === "https://") {
      return;
    }
    let address = null;
    try {
      address = new URL(answer.trim());
    } catch (_) {
      address = null;
    }
    const allowed =
      address !== null &&
      (((address.protocol === "http:" || address.protocol === "https:") &&
        address.hostname !== "") ||
        (address.protocol === "mailto:" && address.pathname.includes("@")));
    if (!allowed) {
      window.alert(texts.linkRefused);
      return;
    }
    // The URL parser has percent-encoded spaces, quotes and angle brackets.
    const escape = (s) => s.replace(/&/g, "&amp;");
    const href = escape(address.href);
    const words =
      text !== ""
        ? text
        : escape(address.protocol === "mailto:" ? address.href.slice(7) : address.href);
    const open = `<a href="${href}">`;
    const at = from + open.length;
    replace(field, from, to, `${open}${words}</a>`, at, at + words.length);
  }

  // ---- The toolbar --------------------------------------------------------------------------

  function svg(paths, dots) {
    const icon = document.createElementNS(SVG, "svg");
    icon.setAttribute("viewBox", "0 0 16 16");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    for (const d of paths) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      icon.append(path);
    }
    for (const [cx, cy] of dots || []) {
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", cx);
      dot.setAttribute("cy", cy);
      dot.setAttribute("r", "1.1");
      dot.setAttribute("class", "dot");
      icon.append(dot);
    }
    return icon;
  }

  function glyph(letter, kind) {
    const span = document.createElement("span");
    span.setAttribute("aria-hidden", "true");
    span.className = `glyph ${kind}`;
    span.textContent = letter;
    return span;
  }

  const TOOLS = [
    {
      name: "bold",
      label: texts.bold,
      key: "b",
      icon: () => glyph("B", "bold"),
      apply: (f) => inline(f, "strong"),
    },
    {
      name: "italic",
      label: texts.italic,
      key: "i",
      icon: () => glyph("I", "italic"),
      apply: (f) => inline(f, "em"),
    },
    { name: "heading", label: texts.heading, icon: () => glyph("H", "heading"), apply: heading },
    {
      name: "bulleted-list",
      label: texts.bulletedList,
      icon: () => svg(["M6 4h8M6 8h8M6 12h8"], [[2.5, 4], [2.5, 8], [2.5, 12]]),
      apply: (f) => list(f, "ul"),
    },
    {
      name: "numbered-list",
      label: texts.numberedList,
      icon: () =>
        svg([
          "M7 4h7M7 8h7M7 12h7",
          "M2 2.6l1.2-.8v4.4",
          "M1.8 9.4c.3-.8 2.2-.8 2.2.2 0 .9-2.2 1.7-2.2 2.8h2.3",
        ]),
      apply: (f) => list(f, "ol"),
    },
    {
      name: "link",
      label: texts.link,
      icon: () =>
        svg([
          "M6.5 9.5l3-3",
          "M7.2 4.8l1.3-1.3a2.5 2.5 0 0 1 3.5 3.5L10.7 8.3",
          "M8.8 11.2L7.5 12.5a2.5 2.5 0 0 1-3.5-3.5l1.3-1.3",
        ]),
      apply: link,
    },
  ];

  function shortcut(key) {
    return mac ? `⌘${key.toUpperCase()}` : `Ctrl+${key.toUpperCase()}`;
  }

  function enhance(field) {
    const bar = document.createElement("div");
    bar.className = "editor-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", texts.toolbar);
    if (field.id) {
      bar.setAttribute("aria-controls", field.id);
    }
    const buttons = TOOLS.map((tool) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tool";
      button.dataset.tool = tool.name;
      button.setAttribute("aria-label", tool.label);
      button.title = tool.key ? `${tool.label} (${shortcut(tool.key)})` : tool.label;
      if (tool.key) {
        const modifier = mac ? "Meta" : "Control";
        button.setAttribute("aria-keyshortcuts", `${modifier}+${tool.key.toUpperCase()}`);
      }
      button.append(tool.icon());
      // A mouse click leaves the focus (and the visible selection) in the field.
      button.addEventListener("mousedown", (event) => event.preventDefault());
      button.addEventListener("click", () => tool.apply(field));
      bar.append(button);
      return button;
    });

    // One tab stop for the whole toolbar; the arrow keys, Home and End move along it.
    const focusOn = (index) => {
      buttons.forEach((button, i) => {
        button.tabIndex = i === index ? 0 : -1;
      });
      buttons[index].focus();
    };
    buttons.forEach((button, i) => {
      button.tabIndex = i === 0 ? 0 : -1;
      button.addEventListener("focus", () => {
        buttons.forEach((other, j) => {
          other.tabIndex = i === j ? 0 : -1;
        });
      });
    });
    bar.addEventListener("keydown", (event) => {
      const current = buttons.indexOf(document.activeElement);
      if (current === -1) {
        return;
      }
      const last = buttons.length - 1;
      const next = {
        ArrowRight: current === last ? 0 : current + 1,
        ArrowLeft: current === 0 ? last : current - 1,
        Home: 0,
        End: last,
      }[event.key];
      if (next !== undefined) {
        event.preventDefault();
        focusOn(next);
      }
    });

    field.addEventListener("keydown", (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) {
        return;
      }
      const tool = TOOLS.find((t) => t.key && t.key === event.key.toLowerCase());
      if (tool) {
        event.preventDefault();
        tool.apply(field);
      }
    });

    field.before(bar);
  }

  document.querySelectorAll("textarea[data-rich-text]").forEach(enhance);
})();
