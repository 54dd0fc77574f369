// Review actions on an alert's page: POST to the API with the bearer token the analyst typed.
// The token is kept in sessionStorage (this tab only, gone when it closes) and sent only in the
// Authorization header, never in a URL or a cookie, so other sites cannot make the browser use it.
(function () {
  "use strict";
  var TOKEN_KEY = "pipeline.review.token";
  var FLASH_KEY = "pipeline.review.flash";
  var DONE = { ack: "Acknowledged", confirm: "Confirmed", dismiss: "Dismissed" };

  function get(key) {
    try { return window.sessionStorage.getItem(key) || ""; } catch (e) { return ""; }
  }
  function set(key, value) {
    try {
      if (value) { window.sessionStorage.setItem(key, value); } else { window.sessionStorage.removeItem(key); }
    } catch (e) { /* storage disabled: the token is asked for each time */ }
  }

  function init() {
    var form = document.getElementById("review-form");
    if (!form) { return; }
    var enabled = form.getAttribute("data-enabled") === "true";
    var tokenRow = form.querySelector("[data-token-row]");
    var tokenInput = form.querySelector("#review-token");
    var signedIn = form.querySelector("[data-signed-in]");
    var forget = form.querySelector("[data-forget]");
    var note = form.querySelector("#review-note");
    var message = form.querySelector("[data-message]");
    var buttons = form.querySelectorAll("button[data-action]");

    function say(text, kind) {
      message.textContent = text;
      message.className = "message " + (kind || "");
      message.hidden = !text;
    }
    function showTokenState() {
      if (!tokenRow) { return; }
      var has = get(TOKEN_KEY) !== "";
      tokenRow.hidden = has;
      signedIn.hidden = !has;
    }
    function busy(on) {
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = on || !enabled; }
    }

    busy(false);
    showTokenState();
    var flash = get(FLASH_KEY);
    if (flash) { set(FLASH_KEY, ""); say(flash, "ok"); }
    if (forget) {
      forget.addEventListener("click", function () {
        set(TOKEN_KEY, "");
        showTokenState();
        if (tokenInput) { tokenInput.value = ""; tokenInput.focus(); }
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter || document.activeElement;
      var action = button && button.getAttribute ? button.getAttribute("data-action") : null;
      if (!action || !enabled) { return; }
      var token = get(TOKEN_KEY) || (tokenInput ? tokenInput.value.trim() : "");
      if (!token) {
        say("Enter the review token first.", "error");
        if (tokenInput) { tokenInput.focus(); }
        return;
      }
      busy(true);
      say("Sending…", "");
      var body = JSON.stringify({ note: note.value });
      fetch(form.getAttribute("data-api") + "/" + action, {
        method: "POST",
        headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
        body: body,
        credentials: "omit",
        cache: "no-store"
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok) {
            set(TOKEN_KEY, token);
            set(FLASH_KEY, DONE[action] + ": the alert is now " + data.status + ".");
            window.location.reload();
            return;
          }
          var text = (data && data.error) || ("The server answered " + response.status);
          text = text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
          if (response.status === 401) {
            set(TOKEN_KEY, "");
            showTokenState();
            if (tokenInput) { tokenInput.value = ""; tokenInput.focus(); }
            text += " Enter the token again.";
          }
          say(text, "error");
          busy(false);
        });
      }).catch(function (err) {
        say("Could not reach the server: " + err, "error");
        busy(false);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
