/* ainative_auth pages: confirmations and copy buttons. No framework, no build. Every page
   works without this file: destructive buttons then answer with a confirmation page
   instead of confirm(), and social sign-in happens on the server. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  // After a POST that showed a new key, make the address /dashboard again, so reloading is
  // a plain GET (the key is not shown twice, nothing is created twice).
  function replaceUrl() {
    var url = document.body.getAttribute("data-replace-url");
    if (url && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
  }

  function confirmations() {
    var forms = document.querySelectorAll("form[data-confirm]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
          return;
        }
        var confirmed = document.createElement("input");
        confirmed.type = "hidden";
        confirmed.name = "confirmed";
        confirmed.value = "yes";
        form.appendChild(confirmed);
      });
    });
  }

  function copyButtons() {
    var status = document.querySelector("[data-copy-status]");
    var buttons = document.querySelectorAll("[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      var field = document.getElementById(button.getAttribute("data-copy-target"));
      if (!field) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var label = field.labels && field.labels.length ? field.labels[0].textContent : "Value";
        function done() { if (status) { status.textContent = label + " copied to the clipboard."; } }
        function fallback() {
          field.focus();
          field.select();
          var ok = false;
          try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
          if (status) { status.textContent = ok ? label + " copied to the clipboard." : "Select the text and copy it."; }
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  ready(function () {
    replaceUrl();
    confirmations();
    copyButtons();
  });
})();
