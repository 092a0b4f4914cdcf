/* ainative_auth pages: confirmations, copy buttons, and the social sign-in steps.
   No framework, no build. Every page works without this file except social sign-in:
   destructive buttons then answer with a confirmation page instead of confirm(). */
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

  function showError(card, message) {
    var box = card.querySelector("[data-social-error]");
    var status = card.querySelector("[data-social-status]");
    if (status) { status.textContent = ""; }
    if (box) { box.textContent = message; box.hidden = false; }
  }

  function errorMessage(response, body) {
    if (body && typeof body.detail === "string") { return body.detail; }
    return "Sign-in failed (HTTP " + response.status + "). Try again.";
  }

  function socialStart(card) {
    var url = card.getAttribute("data-authorize-url") + "?" +
      new URLSearchParams({ redirect_uri: card.getAttribute("data-redirect-uri") }).toString();
    try { window.sessionStorage.setItem("ainative_next", card.getAttribute("data-next") || ""); } catch (e) { /* private mode */ }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok || !body || typeof body.authorization_url !== "string") {
            throw new Error(errorMessage(response, body));
          }
          window.location.assign(body.authorization_url);
        });
      })
      .catch(function (error) { showError(card, error.message); });
  }

  function socialCallback(card) {
    var query = new URLSearchParams(window.location.search);
    if (query.get("error")) {
      showError(card, "Sign-in was cancelled or refused by the provider.");
      return;
    }
    var code = query.get("code");
    if (!code) { showError(card, "The provider sent no code back. Try again."); return; }
    var body = { code: code, redirect_uri: card.getAttribute("data-redirect-uri") };
    if (query.get("state")) { body.state = query.get("state"); }
    fetch(card.getAttribute("data-callback-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body)
    })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (tokens) {
          if (!response.ok || !tokens || typeof tokens.access_token !== "string") {
            throw new Error(errorMessage(response, tokens));
          }
          var form = card.querySelector("[data-token-form]");
          form.elements.access_token.value = tokens.access_token;
          var next = "";
          try { next = window.sessionStorage.getItem("ainative_next") || ""; window.sessionStorage.removeItem("ainative_next"); } catch (e) { next = ""; }
          form.elements.next.value = next;
          form.submit();
        });
      })
      .catch(function (error) { showError(card, error.message); });
  }

  ready(function () {
    replaceUrl();
    confirmations();
    copyButtons();
    var card = document.querySelector("[data-social-step]");
    if (card && card.getAttribute("data-social-step") === "start") { socialStart(card); }
    if (card && card.getAttribute("data-social-step") === "callback") { socialCallback(card); }
  });
})();
