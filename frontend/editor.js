// Progressive enhancement of the lab page's editor: each <textarea class="code"> becomes
// a CodeMirror editor. The textarea stays in the form and is kept in sync, so the form
// posts exactly what it would without JavaScript.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { indentUnit } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { json } from "@codemirror/lang-json";
import { oneDark } from "@codemirror/theme-one-dark";

function languageFor(name) {
  if (name.endsWith(".py")) return [python()];
  if (name.endsWith(".json")) return [json()];
  return [];
}

function enhance(textarea) {
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        ...languageFor(textarea.dataset.filename || ""),
        ...(dark ? [oneDark] : []),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) textarea.value = update.state.doc.toString();
        }),
        EditorView.contentAttributes.of({ "aria-label": textarea.dataset.filename || "code" }),
      ],
    }),
  });
  view.dom.classList.add("cm-downstack");
  textarea.insertAdjacentElement("afterend", view.dom);
  textarea.hidden = true;
  textarea.form?.addEventListener("submit", () => {
    textarea.value = view.state.doc.toString();
  });
}

document.querySelectorAll("textarea.code").forEach(enhance);
