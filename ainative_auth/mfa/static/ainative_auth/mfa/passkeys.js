/* ainative_auth MFA pages: passkey ceremonies and the step-up retry. No framework, no
   build. A button [data-passkey="get"|"create"] inside a form[data-passkey-form] fetches
   WebAuthn options from its data-options-url (a same-origin POST with the CSRF token),
   runs navigator.credentials.get/create, puts credential.toJSON() in the form's hidden
   "credential" field and submits the form: the server verifies it. Buttons stay hidden
   where the browser has no WebAuthn. A form[data-autosubmit] (the action a step-up
   repeats) is submitted at once. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function toBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBuffer(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential.parseCreationOptionsFromJSON) {
      return window.PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential.parseRequestOptionsFromJSON) {
      return window.PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = toBuffer(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try { return credential.toJSON(); } catch (e) { /* fall through */ }
    }
    var response = credential.response;
    var out = {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      out.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return out;
  }

  function start(button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-passkey-status]");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var mode = button.getAttribute("data-passkey");
    function say(text) { if (status) { status.textContent = text; } }
    button.disabled = true;
    say("");
    fetch(button.getAttribute("data-options-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (answer) {
      return answer.json().then(function (body) {
        if (!answer.ok) {
          if (body.error_code === "step_up_required") { form.submit(); }
          throw new Error(body.detail || "The passkey could not be used.");
        }
        return body;
      });
    }).then(function (options) {
      return mode === "create"
        ? navigator.credentials.create({ publicKey: creationOptions(options) })
        : navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      form.querySelector("input[name=credential]").value = JSON.stringify(credentialJSON(credential));
      form.submit();
    }).catch(function (error) {
      button.disabled = false;
      say(error && error.name === "NotAllowedError"
        ? "The passkey prompt was closed or timed out. Try again."
        : (error && error.message) || "The passkey could not be used.");
    });
  }

  ready(function () {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    Array.prototype.forEach.call(forms, function (form) { form.submit(); });
    if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) { return; }
    var buttons = document.querySelectorAll("[data-passkey]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { start(button); });
    });
  });
})();
