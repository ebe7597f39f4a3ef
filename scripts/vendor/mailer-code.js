// Entry of the CodeMirror 6 bundle (built by scripts/vendor-js.sh with esbuild into one IIFE).
// window.MailerCode.create(textarea, {language: "html" | "xml", readOnly}) puts an editor in
// place of the textarea, keeps the textarea's value in step (it stays the form field), and
// returns {view, insert(text), setValue(text), getValue(), focus(), destroy()}.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { html } from "@codemirror/lang-html";
import { xml } from "@codemirror/lang-xml";

function create(textarea, options = {}) {
  const language = options.language === "xml" ? xml() : html();
  const readOnly = Boolean(options.readOnly);
  const sync = EditorView.updateListener.of((update) => {
    if (update.docChanged) {
      textarea.value = update.state.doc.toString();
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        language,
        EditorView.lineWrapping,
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        EditorView.contentAttributes.of({ "aria-label": textarea.getAttribute("aria-label") || "" }),
        sync,
      ],
    }),
  });
  textarea.insertAdjacentElement("afterend", view.dom);
  textarea.hidden = true;
  return {
    view,
    insert(text) {
      const { from, to } = view.state.selection.main;
      view.dispatch({
        changes: { from, to, insert: text },
        selection: { anchor: from + text.length },
        scrollIntoView: true,
      });
      view.focus();
    },
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    getValue() {
      return view.state.doc.toString();
    },
    focus() {
      view.focus();
    },
    destroy() {
      view.destroy();
      textarea.hidden = false;
    },
  };
}

window.MailerCode = { create };
