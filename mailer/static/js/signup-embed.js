// Mailer signup snippet helper, loaded by websites that paste a form's code: fills the form's
// signed timestamp, so its post goes through at once instead of showing Mailer's page again.
(function () {
  "use strict";
  document.querySelectorAll("form.mailer-signup").forEach(function (form) {
    var stamp = form.querySelector('input[name="stamp"]');
    if (!stamp || !window.fetch) return;
    fetch(form.action.replace(/\/+$/, "") + "/stamp", { credentials: "omit" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) { if (data && data.stamp) stamp.value = data.stamp; })
      .catch(function () { /* the post still works: Mailer's page asks once more */ });
  });
})();
