// Small progressive enhancements; every page also works without JavaScript.
// Pages carry no inline script (the Content-Security-Policy forbids it): behaviour lives here and
// reads its data from data-* attributes, which are text, never code.
(function () {
  "use strict";

  // <form data-confirm="Delete x@example.com?">: ask first, submit only on OK. The question is
  // read as text, so an address or a name in it can never run as script. (htmx requests use
  // hx-confirm, which htmx reads the same way.)
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
      if (question !== undefined && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation(); // nor does htmx send it
      }
    },
    true,
  );

  // <button data-remove-row=".condition-row">: remove the enclosing row, then let its form
  // react as to any change (the segment editor recounts).
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-remove-row]") : null;
    if (!button) return;
    const form = button.closest("form");
    const row = button.closest(button.dataset.removeRow);
    if (row) row.remove();
    if (form && window.htmx) window.htmx.trigger(form, "change");
  });

  // hx-get with data-count-rows=".condition-row": the request's `i` is how many such rows the
  // page has (the index of the row it asks for).
  document.addEventListener("htmx:configRequest", (event) => {
    const selector = event.detail.elt.dataset && event.detail.elt.dataset.countRows;
    if (selector) event.detail.parameters.i = document.querySelectorAll(selector).length;
  });

  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    if (status === 422) return; // validation errors are swapped in like any fragment
    alert(status === 403 ? "You are not allowed to do that." : "Something went wrong (" + status + ").");
  });

  // Let htmx swap 422 responses (forms re-rendered with their errors).
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

// people (issue 21): <button data-confirm="…">: ask before this button submits its form (a
// form whose other buttons need no confirmation, such as the bulk actions' Export).
(function () {
  "use strict";
  document.addEventListener(
    "click",
    (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-confirm]") : null;
      if (button && !window.confirm(button.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  // Images (issue 18): <button data-copy="input" data-copied="Copied">: copy the text of the
  // field its parent holds (a public image address), and say so on the button for a moment.
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    const field = button ? button.parentElement.querySelector(button.dataset.copy) : null;
    if (!field) return;
    field.select();
    const done = () => {
      const label = button.textContent;
      button.textContent = button.dataset.copied || label;
      setTimeout(() => { button.textContent = label; }, 1500);
    };
    const fallback = () => {
      if (document.execCommand("copy")) done();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  });
})();
