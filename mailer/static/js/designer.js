// The email designer (templates/_designer.html): GrapesJS with grapesjs-mjml for the visual mode,
// CodeMirror 6 (window.MailerCode, vendored) for the MJML and HTML code modes, the merge tags
// menu, and the preview's width check at 375 and 600 px. The form fields stay the source of
// truth: `editor`, `source` (MJML), `design` (GrapesJS project data) and `html` are filled from
// the editors before every submit and preview. Data comes from data-* attributes only.
(function () {
  "use strict";

  const STARTER =
    "<mjml><mj-body><mj-section><mj-column></mj-column></mj-section></mj-body></mjml>";
  // What the MJML editor starts from when it is empty.
  const MJML_START = [
    "<mjml>",
    "  <mj-body>",
    "    <mj-section>",
    "      <mj-column>",
    "        <mj-text></mj-text>",
    "      </mj-column>",
    "    </mj-section>",
    "  </mj-body>",
    "</mjml>",
    "",
  ].join("\n");
  // A grey picture for a new image block (no request leaves the page for it).
  const PLACEHOLDER =
    "data:image/svg+xml;charset=utf-8," +
    encodeURIComponent(
      '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="600" height="300" fill="#e5e7eb"/>' +
        '<path d="M220 210l60-70 45 50 30-30 65 50z" fill="#9ca3af"/><circle cx="380" cy="110" r="22" fill="#9ca3af"/></svg>',
    );
  // GrapesJS's own panel buttons expect Font Awesome, which is not vendored: SVG icons instead.
  const ICON_PATHS = {
    "open-sm":
      "M18 4V3c0-.55-.45-1-1-1H5c-.55 0-1 .45-1 1v4c0 .55.45 1 1 1h12c.55 0 1-.45 1-1V6h1v4H9v11c0 .55.45 1 1 1h2c.55 0 1-.45 1-1v-9h8V4h-3z",
    "open-tm":
      "M19.14 12.94c.04-.3.06-.61.06-.94s-.02-.64-.07-.94l2.03-1.58a.49.49 0 0 0 .12-.61l-1.92-3.32a.49.49 0 0 0-.59-.22l-2.39.96c-.5-.38-1.03-.7-1.62-.94l-.36-2.54a.48.48 0 0 0-.48-.41h-3.84c-.24 0-.43.17-.47.41l-.36 2.54c-.59.24-1.13.57-1.62.94l-2.39-.96a.49.49 0 0 0-.59.22L2.74 8.87c-.12.21-.08.47.12.61l2.03 1.58c-.05.3-.09.63-.09.94s.02.64.07.94l-2.03 1.58a.49.49 0 0 0-.12.61l1.92 3.32c.12.22.37.29.59.22l2.39-.96c.5.38 1.03.7 1.62.94l.36 2.54c.05.24.24.41.48.41h3.84c.24 0 .44-.17.47-.41l.36-2.54c.59-.24 1.13-.56 1.62-.94l2.39.96c.22.08.47 0 .59-.22l1.92-3.32c.12-.22.07-.47-.12-.61l-2.01-1.58zM12 15.6A3.6 3.6 0 1 1 12 8.4a3.6 3.6 0 0 1 0 7.2z",
    "open-layers":
      "M11.99 18.54l-7.37-5.73L3 14.07l9 7 9-7-1.63-1.27-7.38 5.74zM12 16l7.36-5.73L21 9l-9-7-9 7 1.63 1.27L12 16z",
    "open-blocks": "M3 3h8v8H3zm10 0h8v8h-8zM3 13h8v8H3zm10 0h8v8h-8z",
    preview:
      "M12 4.5C7 4.5 2.73 7.61 1 12c1.73 4.39 6 7.5 11 7.5s9.27-3.11 11-7.5c-1.73-4.39-6-7.5-11-7.5zM12 17a5 5 0 1 1 0-10 5 5 0 0 1 0 10zm0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
    "sw-visibility":
      "M3 3h4v2H5v2H3V3zm6 0h6v2H9V3zm8 0h4v4h-2V5h-2V3zM3 9h2v6H3V9zm16 0h2v6h-2V9zM3 17h2v2h2v2H3v-4zm16 0h2v4h-4v-2h2v-2zM9 19h6v2H9v-2z",
  };
  // What the designer leaves out: code views and import (the MJML mode is the code view),
  // full screen, and the tablet (desktop and mobile are the two widths that matter).
  const DROPPED_BUTTONS = ["export-template", "mjml-import", "fullscreen", "set-device-tablet"];

  function tidyPanels(editor) {
    for (const panel of editor.Panels.getPanels().models) {
      const buttons = panel.get("buttons");
      for (const id of DROPPED_BUTTONS) buttons.remove(buttons.get(id));
      for (const button of buttons.models) {
        const path = ICON_PATHS[button.id];
        if (path) {
          button.set({
            className: "",
            label: `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`,
          });
        }
      }
    }
    const blocks = editor.Panels.getButton("views", "open-blocks");
    if (blocks) blocks.set("active", true);
  }

  const BLOCKS = [
    "mj-1-column",
    "mj-2-columns",
    "mj-3-columns",
    "mj-text",
    "mj-image",
    "mj-button",
    "mj-divider",
    "mj-spacer",
    "mj-social-group",
    "mj-navbar",
    "mj-hero",
  ];
  const csrfToken = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function escapeHtml(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  // MJML may close an element in its start tag (<mj-image ... />), but GrapesJS reads MJML
  // with the browser's HTML parser, for which <mj-image> stays open and swallows what follows:
  // written out in full, each element keeps its place.
  function forCanvas(mjml) {
    return (mjml || "").replace(
      /<(mj-[a-z-]+)((?:\s+[^\s=>\/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*\/>/gi,
      "<$1$2></$1>",
    );
  }

  // GrapesJS shows the body only: an <mj-head> (title, preview text, styles) would land in
  // the canvas as content. It is kept aside when a design opens and put back on export.
  function splitHead(mjml) {
    const found = /<mj-head\b[\s\S]*?<\/mj-head>/i.exec(mjml || "");
    return found ? [found[0], mjml.replace(found[0], "")] : ["", mjml || ""];
  }

  function withHead(mjml, head) {
    return head ? mjml.replace(/<mjml\b[^>]*>/i, (open) => open + head) : mjml;
  }

  function setUp(root) {
    const form = root.closest("form");
    const data = root.dataset;
    const editable = data.editable === "true";
    const field = (name) => root.querySelector(`[name="${name}"]`);
    const sourceField = field("source");
    const htmlField = field("html");
    const designField = field("design");
    const modeRadios = [...root.querySelectorAll('input[name="editor"]')];
    let mode = data.mode;
    let head = splitHead(sourceField.value)[0]; // the MJML's <mj-head>, outside the canvas
    const canvasMjml = (mjml) => {
      const [ownHead, body] = splitHead(mjml);
      head = ownHead;
      return forCanvas(body);
    };
    let grapes = null; // the GrapesJS editor, once the visual mode has been shown
    let grapesDirty = false; // changed since the fields were last filled from it
    let lastTarget = null; // where a merge tag goes: "subject", "mjml", "html" or "visual"

    root.classList.add("designer-enhanced");
    const code = {};
    for (const textarea of root.querySelectorAll("textarea[data-code]")) {
      const name = textarea.name === "source" ? "mjml" : "html";
      textarea.setAttribute("aria-label", textarea.closest("label").firstChild.textContent.trim());
      code[name] = window.MailerCode.create(textarea, {
        language: textarea.dataset.code,
        readOnly: !editable,
      });
      code[name].view.dom.addEventListener("focusin", () => (lastTarget = name));
    }

    function show(newMode) {
      mode = newMode;
      // Readers see a visual design as its MJML, read-only (the canvas is for writing).
      root.dataset.mode = mode === "visual" && !editable ? "mjml" : mode;
      for (const radio of modeRadios) radio.checked = radio.value === mode;
      if (mode === "visual" && editable) startVisual();
      if (mode === "mjml" && editable && !code.mjml.getValue()) code.mjml.setValue(MJML_START);
    }

    // ------------------------------------------------------------------ visual (GrapesJS)
    function startVisual() {
      if (grapes) {
        grapes.refresh();
        return;
      }
      const container = root.querySelector("[data-canvas]");
      const mjmlModule = window["grapesjs-mjml"];
      const mjmlPlugin = mjmlModule.default || mjmlModule;
      const french = data.lang === "fr" && window.MailerGrapesLocales;
      const config = {
        container,
        height: "42rem",
        width: "auto",
        storageManager: false,
        telemetry: false, // GrapesJS would report usage to its vendor: nothing leaves the page
        cssIcons: "", // not Font Awesome from a CDN: the panels get SVG icons (tidyPanels)
        noticeOnUnload: false,
        avoidInlineStyle: true,
        // Options go with the plugin itself (pluginsOpts is keyed by the names of plugins
        // loaded by name, and this one is a function).
        plugins: [
          (editor) =>
            mjmlPlugin(editor, {
              // The blocks an email needs (grapesjs-mjml has more: carousels, raw HTML...).
              blocks: BLOCKS,
              imagePlaceholderSrc: PLACEHOLDER,
              fonts: {}, // no web fonts fetched from elsewhere
              useCustomTheme: false,
              i18n: french ? { fr: window.MailerGrapesLocales.fr } : {},
            }),
        ],
        i18n: {
          locale: french ? "fr" : "en",
          detectLocale: false,
          localeFallback: "en",
          messages: french ? { fr: window.MailerGrapesLocales.fr } : {},
        },
        assetManager: {
          assets: [],
          upload: data.uploadUrl || false,
          uploadName: "files",
          multiUpload: true,
          multiUploadSuffix: "", // the server reads the field `files`, not `files[]`
          embedAsBase64: false, // an image goes to the library, never into the email as data
          headers: { "X-CSRFToken": csrfToken() },
          credentials: "same-origin",
          autoAdd: true,
        },
      };
      if (designField.value) {
        try {
          config.projectData = JSON.parse(designField.value);
        } catch (error) {
          config.components = canvasMjml(sourceField.value) || STARTER;
        }
      } else {
        config.components = canvasMjml(sourceField.value) || STARTER;
      }
      grapes = window.grapesjs.init(config);
      addBlocks(grapes);
      tidyPanels(grapes);
      grapes.on("update", () => {
        grapesDirty = true;
        // Let the preview follow, as typing in a field does (hx-trigger="input delay:1s").
        designField.dispatchEvent(new Event("input", { bubbles: true }));
      });
      grapes.on("rte:enable", () => {
        lastTarget = "visual";
        grapesDirty = true; // typed text may end up in the design without an "update"
      });
      grapes.on("asset:upload:response", (response) => {
        if (response && response.error) window.alert(response.error); // refused: says why
      });
      if (data.browseUrl) {
        grapes.on("asset:open", () => loadAssets(grapes)); // the library, once, when first opened
      }
    }

    function addBlocks(editor) {
      const blocks = editor.Blocks;
      // The starting words of new texts and buttons, in the page's language.
      const text = blocks.get("mj-text");
      if (text) text.set("content", `<mj-text>${escapeHtml(data.msgText)}</mj-text>`);
      const button = blocks.get("mj-button");
      if (button) button.set("content", `<mj-button>${escapeHtml(data.msgButton)}</mj-button>`);
      blocks.add("mailer-footer", {
        label: data.msgFooter,
        media:
          '<svg viewBox="0 0 24 24"><path fill="currentColor" d="M3 3h18v18H3V3m2 2v10h14V5H5m0 12v2h14v-2H5z"/></svg>',
        content:
          '<mj-section padding="12px 0"><mj-column><mj-text align="center" font-size="12px" color="#6b7280">' +
          `<a href="{{ unsubscribe_url }}">${escapeHtml(data.msgUnsubscribe)}</a> · ` +
          `<a href="{{ preferences_url }}">${escapeHtml(data.msgPreferences)}</a><br>` +
          "{{ postal_address }}</mj-text></mj-column></mj-section>",
      });
    }

    let assetsLoaded = false;
    function loadAssets(editor) {
      if (assetsLoaded) return;
      assetsLoaded = true;
      fetch(data.browseUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : { data: [] }))
        .then((body) => editor.Assets.add(body.data || []))
        .catch(() => (assetsLoaded = false));
    }

    function fillFromVisual() {
      if (!grapes || !grapesDirty) return;
      sourceField.value = withHead(grapes.getHtml(), head);
      designField.value = JSON.stringify(grapes.getProjectData());
      code.mjml.setValue(sourceField.value);
      grapesDirty = false;
    }

    // ------------------------------------------------------------------ switching modes
    function switchTo(next) {
      if (next === mode) return;
      if (next === "html") {
        const nothingToLose = !code.mjml.getValue().trim() && !grapesDirty && !designField.value;
        if (!nothingToLose && !window.confirm(data.msgToHtml)) {
          show(mode);
          return;
        }
        if (mode === "visual") fillFromVisual();
        toHtml(code.mjml.getValue());
        return;
      }
      if (mode === "visual" && next === "mjml") {
        fillFromVisual();
      } else if (mode === "mjml" && next === "visual") {
        designField.value = ""; // the MJML is what the visual editor opens now
        if (grapes) {
          grapes.setComponents(canvasMjml(code.mjml.getValue()) || STARTER);
          grapesDirty = true;
        }
      } else if (mode === "html") {
        // Back from HTML to MJML or visual: only while the MJML is still there.
        if (!code.mjml.getValue()) {
          show("html");
          return;
        }
      }
      show(next);
    }

    // One way: the HTML the MJML compiles to (the server's compile when the page names it,
    // else grapesjs-mjml's own) replaces the MJML and the design in the form.
    function toHtml(mjml) {
      const done = (html) => {
        code.html.setValue(html);
        code.mjml.setValue("");
        designField.value = "";
        grapesDirty = false;
        show("html");
      };
      const failed = (error) => {
        window.alert(data.msgConvertFailed.replace("{error}", error));
        show(mode);
      };
      if (!mjml) return done(code.html.getValue());
      if (data.convertUrl) {
        const body = new FormData();
        body.append("source", mjml);
        fetch(data.convertUrl, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        })
          .then((response) => response.json())
          .then((result) => (typeof result.html === "string" ? done(result.html) : failed(result.error || "?")))
          .catch((error) => failed(String(error)));
        return;
      }
      startVisual(); // the compiler lives in the visual editor's plugin
      const result = grapes && grapes.runCommand("mjml-code-to-html", { mjml });
      if (result && result.html) return done(result.html);
      const errors = (result && result.errors) || [];
      failed(errors.map((e) => e.formattedMessage || e.message).join("; ") || "?");
    }

    for (const radio of modeRadios) {
      radio.addEventListener("change", () => radio.checked && switchTo(radio.value));
    }

    // ------------------------------------------------------------------ merge tags
    const subject = form && form.querySelector('input[name="subject"]');
    if (subject) subject.addEventListener("focus", () => (lastTarget = "subject"));
    const menu = root.querySelector(".merge-tags");
    if (menu) {
      // Keep the focus (and the selection) where the writer was while picking a tag.
      // (GrapesJS ends inline editing on a press anywhere outside the text: not on this menu.)
      for (const type of ["pointerdown", "mousedown"]) {
        menu.addEventListener(type, (event) => {
          event.preventDefault();
          event.stopPropagation();
        });
      }
      menu.addEventListener("click", (event) => {
        const button = event.target.closest("[data-merge-tag]");
        if (!button) return;
        insertTag(button.dataset.mergeTag);
        menu.open = false;
      });
    }

    function insertTag(tag) {
      const target = lastTarget === "subject" || lastTarget === mode ? lastTarget : mode;
      if (target === "subject") {
        const start = subject.selectionStart ?? subject.value.length;
        const end = subject.selectionEnd ?? start;
        subject.setRangeText(tag, start, end, "end");
        subject.focus();
        subject.dispatchEvent(new Event("input", { bubbles: true }));
      } else if (target === "visual") {
        insertInCanvas(tag);
      } else {
        code[target].insert(tag);
      }
    }

    function insertInCanvas(tag) {
      const rte = grapes && grapes.RichTextEditor;
      const editing = grapes && grapes.getEditing();
      if (editing && rte && rte.globalRte) {
        rte.globalRte.insertHTML(escapeHtml(tag));
        grapes.trigger("update");
        return;
      }
      // Not editing a text: a new text block with the tag, at the end of the selected column.
      const selected = grapes && grapes.getSelected();
      const column = selected && (selected.is("mj-column") ? selected : selected.closest("mj-column"));
      if (column) column.append(`<mj-text>${escapeHtml(tag)}</mj-text>`);
    }

    // ------------------------------------------------------------------ fill the fields
    const fill = () => {
      if (mode === "visual") fillFromVisual();
    };
    // Text still being typed in the canvas reaches the design only when its editing ends,
    // which GrapesJS does asynchronously: end it first, then fill and go on.
    const typing = () => mode === "visual" && grapes && grapes.getEditing();
    async function endTyping() {
      const view = grapes.getEditing().getView();
      if (view && view.disableEditing) await view.disableEditing();
      grapesDirty = true;
    }
    if (form) {
      form.addEventListener(
        "submit",
        (event) => {
          if (!typing()) return fill();
          event.preventDefault();
          event.stopImmediatePropagation();
          endTyping().then(() => form.requestSubmit(event.submitter));
        },
        true,
      );
    }
    // Previews and the test send include the form too.
    document.addEventListener("htmx:confirm", (event) => {
      if (!typing()) return fill();
      event.preventDefault();
      endTyping().then(() => {
        fill();
        event.detail.issueRequest(true);
      });
    });

    show(mode);
  }

  // ------------------------------------------------------------------ preview width check
  // The previewed email, laid out in 375 and 600 px wide frames (same origin, no scripts) to
  // see whether it scrolls sideways there, as a phone or a mail client's pane would show it.
  // The email for a probe frame, without scripts, and without addresses that are not absolute
  // (a mail client could not load them either; here they would point into Mailer). Images
  // with full addresses still load, so their real widths count. DOMParser loads nothing.
  function probeDocument(html) {
    // Event handler attributes go first, as text: even an inert parse reports them to the
    // page's policy. (Only this measuring copy is changed, never the email.)
    const inert = html.replace(/\son[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, "");
    const doc = new DOMParser().parseFromString(inert, "text/html");
    const absolute = /^(https?:|data:)/i;
    for (const name of ["src", "srcset", "background", "href"]) {
      for (const el of doc.querySelectorAll(`[${name}]`)) {
        if (name === "href" && el.tagName !== "LINK") continue; // links are not loaded
        if (!absolute.test(el.getAttribute(name).trim())) el.removeAttribute(name);
      }
    }
    for (const script of doc.querySelectorAll("script")) script.remove();
    return "<!doctype html>" + doc.documentElement.outerHTML;
  }

  function checkWidths(output) {
    const pane = output.closest("[data-width-check]");
    const frame = output.querySelector("iframe.email-frame");
    const report = pane && pane.querySelector("[data-width-report]");
    if (!pane || !report) return;
    report.hidden = true;
    report.textContent = "";
    const old = pane.querySelector(".width-check");
    if (old) old.remove();
    if (!frame) return;
    const box = document.createElement("div");
    box.className = "width-check";
    box.setAttribute("aria-hidden", "true");
    const widths = [375, 600];
    const wide = [];
    let pending = widths.length;
    for (const width of widths) {
      const probe = document.createElement("iframe");
      probe.setAttribute("sandbox", "allow-same-origin");
      probe.setAttribute("tabindex", "-1");
      probe.className = `width-check-${width}`;
      probe.addEventListener("load", () => {
        const doc = probe.contentDocument;
        if (doc && doc.documentElement.scrollWidth > width + 1) wide.push(width);
        pending -= 1;
        if (pending === 0) {
          wide.sort((a, b) => a - b);
          for (const w of wide) {
            const line = document.createElement("span");
            line.textContent = pane.dataset[`msgWide${w}`];
            report.append(line, document.createElement("br"));
          }
          report.hidden = wide.length === 0;
          box.remove(); // measured: the page keeps only the preview's own frame
          pane.dataset.widthChecked = wide.join(",") || "none";
        }
      });
      probe.srcdoc = probeDocument(frame.getAttribute("srcdoc"));
      box.append(probe);
    }
    pane.append(box);
  }

  function start() {
    for (const root of document.querySelectorAll("[data-designer]")) setUp(root);
    for (const output of document.querySelectorAll("#preview-output")) checkWidths(output);
  }
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "preview-output") checkWidths(event.target);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
