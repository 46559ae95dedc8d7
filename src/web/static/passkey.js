// casevault: passkeys (WebAuthn). Signs in with a passkey, adds and removes passkeys on
// the account page, and proves a passkey instead of typing a code on any form that
// asks for one. Every page works without this script (with the authenticator code).
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials ||
      !PublicKeyCredential.parseRequestOptionsFromJSON) {
    return;
  }
  function show(el) { if (el) { el.hidden = false; } }
  function say(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; el.hidden = false; }
  }
  function post(path, body, method) {
    return fetch("/api/v1" + path, {
      method: method || "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().then(function (v) {
        if (!r.ok) {
          var e = new Error((v.error && v.error.message) || ("status " + r.status));
          e.code = v.error && v.error.code;
          throw e;
        }
        return v;
      });
    });
  }
  function words(e) {
    if (e && e.name === "NotAllowedError") {
      return "The passkey was not used (cancelled, or it took too long). Try again.";
    }
    return (e && e.message) || "That did not work. Try again.";
  }
  function b64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var b = atob(s), out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { out[i] = b.charCodeAt(i); }
    return out.buffer;
  }
  // A step-up whose passkey also evaluates its PRF with the server's salt: the PRF
  // result is a key, sent once over this connection, never kept by the page.
  function getPrf(start, startBody) {
    return post(start, startBody).then(function (c) {
      var options = PublicKeyCredential.parseRequestOptionsFromJSON(c.publicKey);
      options.extensions = Object.assign({}, options.extensions,
        { prf: { eval: { first: unb64url(c.prf_salt) } } });
      return navigator.credentials.get({ publicKey: options }).then(function (cred) {
        var r = cred.getClientExtensionResults();
        if (!r.prf || !r.prf.results || !r.prf.results.first) {
          throw new Error("This passkey cannot hold the office key (it has no PRF support). Use another passkey, or your passphrase.");
        }
        var json = cred.toJSON();
        if (json.clientExtensionResults) { delete json.clientExtensionResults.prf; }
        return { challenge_id: c.challenge_id, credential: json, prf: b64url(r.prf.results.first) };
      });
    });
  }
  function get(start, finish, extra) {
    return post(start, {}).then(function (c) {
      var options = PublicKeyCredential.parseRequestOptionsFromJSON(c.publicKey);
      return navigator.credentials.get({ publicKey: options }).then(function (cred) {
        var body = { challenge_id: c.challenge_id, credential: cred.toJSON() };
        return post(finish, Object.assign(body, extra || {}));
      });
    });
  }

  // The sign-in page.
  var signin = document.getElementById("passkey-signin");
  if (signin) {
    show(signin.closest(".passkey"));
    signin.addEventListener("click", function () {
      signin.disabled = true;
      get("/login/passkey/start", "/login/passkey/finish").then(function (v) {
        window.location.assign(v.must_enrol_totp ? "/enrol" : "/");
      }).catch(function (e) {
        signin.disabled = false;
        say("passkey-status", words(e));
      });
    });
  }

  // The account page: add one.
  var add = document.getElementById("passkey-add");
  if (add) {
    show(add);
    add.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = document.getElementById("passkey-name").value;
      var code = document.getElementById("passkey-code");
      var button = add.querySelector("button[type=submit]");
      button.disabled = true;
      post("/me/passkeys/register/start", { totp: code ? code.value : "" }).then(function (c) {
        var options = PublicKeyCredential.parseCreationOptionsFromJSON(c.publicKey);
        // Ask for PRF support too: it lets a key holder unseal with this passkey.
        options.extensions = Object.assign({}, options.extensions, { prf: {} });
        return navigator.credentials.create({ publicKey: options }).then(function (cred) {
          return post("/me/passkeys/register/finish",
            { challenge_id: c.challenge_id, name: name, credential: cred.toJSON() });
        });
      }).then(function () {
        window.location.assign("/account?done=passkey_added");
      }).catch(function (e) {
        button.disabled = false;
        say("passkey-add-status", words(e));
      });
    });
  }

  // The account page: remove one.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-passkey-remove]"), function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var code = document.getElementById("passkey-code");
      b.disabled = true;
      post("/me/passkeys/" + b.getAttribute("data-passkey-remove"),
        { totp: code ? code.value : "" }, "DELETE").then(function () {
        window.location.assign("/account?done=passkey_removed");
      }).catch(function (e) {
        b.disabled = false;
        say("passkey-add-status", words(e));
      });
    });
  });

  // The Office page: a key holder sets their passkey up for the office key.
  var setup = document.getElementById("holder-passkey-setup");
  if (setup) {
    show(setup);
    setup.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var office = setup.getAttribute("data-office");
      var pass = setup.querySelector("input[name=passphrase]");
      var button = setup.querySelector("button[type=submit]");
      button.disabled = true;
      getPrf("/me/holder-key/passkey/start", { office: office }).then(function (a) {
        return post("/me/holder-key/passkey/finish", Object.assign(a,
          { office: office, passphrase: pass.value }));
      }).then(function () {
        pass.value = "";
        window.location.assign("/admin?done=holder_passkey");
      }).catch(function (e) {
        button.disabled = false;
        say("holder-passkey-status", words(e));
      });
    });
  }

  // The Office page: unseal with a passkey.
  var unseal = document.getElementById("unseal-passkey");
  if (unseal) {
    show(unseal.closest(".passkey"));
    unseal.addEventListener("click", function () {
      var office = unseal.getAttribute("data-office");
      unseal.disabled = true;
      getPrf("/offices/" + office + "/unseal/passkey/start", {}).then(function (a) {
        return post("/offices/" + office + "/unseal/passkey/finish", a);
      }).then(function () {
        window.location.assign("/admin?done=unsealed");
      }).catch(function (e) {
        unseal.disabled = false;
        say("unseal-passkey-status", words(e));
      });
    });
  }

  // Any form that asks for a fresh code (not signing in or setting up the app): offer
  // to prove a passkey instead, then send the form.
  Array.prototype.forEach.call(document.querySelectorAll("form input[name=totp]"), function (input) {
    var form = input.closest("form");
    var action = form.getAttribute("action") || "";
    if (action === "/login" || action === "/enrol" || form.id === "passkey-add") { return; }
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.setAttribute("data-passkey-reauth", "");
    b.textContent = "Use a passkey instead";
    var status = document.createElement("p");
    status.className = "passkey-status";
    status.setAttribute("role", "alert");
    status.hidden = true;
    // After the field, or straight after the input in an inline form (an input
    // cannot hold a button: one put inside it is never drawn).
    var field = input.closest(".field");
    if (field) {
      field.appendChild(b);
      field.appendChild(status);
    } else {
      input.insertAdjacentElement("afterend", status);
      input.insertAdjacentElement("afterend", b);
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-passkey-reauth]"), function (b) {
    b.addEventListener("click", function () {
      var form = b.closest("form");
      b.disabled = true;
      get("/reauth/passkey/start", "/reauth/passkey/finish").then(function () {
        Array.prototype.forEach.call(form.querySelectorAll("input[name=totp]"), function (i) {
          i.required = false;
          i.value = "";
        });
        form.requestSubmit();
      }).catch(function (e) {
        b.disabled = false;
        var status = form.querySelector(".passkey-status");
        if (status) { status.textContent = words(e); status.hidden = false; }
      });
    });
  });
})();
