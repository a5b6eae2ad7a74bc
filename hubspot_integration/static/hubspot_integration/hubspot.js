/* SkyPanel: HubSpot tracking script and chat widget, held back until consent when asked.
 *
 * Reads its settings from <script id="hubspot-config" type="application/json"> (rendered by
 * {% hubspot_tracking %}). A site's own consent manager can call
 * window.skypanelConsent.grant() / .withdraw() instead of using the built-in banner.
 */
(function () {
  "use strict";
  var node = document.getElementById("hubspot-config");
  if (!node) return;
  var config = JSON.parse(node.textContent);
  var COOKIE = config.consentCookie || "skypanel_consent";
  // Cookies HubSpot's tracking code and chat set; removed when consent is withdrawn.
  var HUBSPOT_COOKIES = ["hubspotutk", "__hstc", "__hssc", "__hssrc", "messagesUtk"];

  // Identification must be in place before the tracking script starts the widget.
  if (config.conversations) {
    window.hsConversationsSettings = config.conversations;
  }

  function readConsent() {
    var match = document.cookie.match(new RegExp("(?:^|; )" + COOKIE + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function writeConsent(value) {
    // A cookie, not localStorage: the server reads it before sending the visitor's hutk to HubSpot.
    document.cookie = COOKIE + "=" + value + "; path=/; max-age=" + 180 * 24 * 3600 + "; SameSite=Lax";
  }

  function deleteCookie(name) {
    var expired = "=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT";
    document.cookie = name + expired;
    var parts = location.hostname.split(".");
    for (var i = 0; i < parts.length - 1; i++) {
      document.cookie = name + expired + "; domain=." + parts.slice(i).join(".");
    }
  }

  function whenWidgetReady(fn) {
    if (window.HubSpotConversations) {
      fn(window.HubSpotConversations);
    } else {
      window.hsConversationsOnReady = window.hsConversationsOnReady || [];
      window.hsConversationsOnReady.push(function () { fn(window.HubSpotConversations); });
    }
  }

  function loadScript() {
    if (!config.scriptUrl || document.getElementById("hs-script-loader")) return;
    var script = document.createElement("script");
    script.type = "text/javascript";
    script.id = "hs-script-loader";
    script.async = true;
    script.defer = true;
    script.src = config.scriptUrl;
    document.body.appendChild(script);
  }

  function removeWidget() {
    if (window.HubSpotConversations) {
      try {
        window.HubSpotConversations.clear({ resetWidget: true });
        window.HubSpotConversations.widget.remove();
      } catch (err) { /* the widget may not have finished loading */ }
    }
    var script = document.getElementById("hs-script-loader");
    if (script) script.parentNode.removeChild(script);
    HUBSPOT_COOKIES.forEach(deleteCookie);
  }

  function banner() { return document.getElementById("consent-banner"); }
  function showBanner() { var b = banner(); if (b) b.hidden = false; }
  function hideBanner() { var b = banner(); if (b) b.hidden = true; }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // A signed-in customer's answer is kept on their account too: the record of what they chose.
  function recordChoice(choice) {
    if (!config.consentRecordUrl || !window.fetch) return;
    fetch(config.consentRecordUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRFToken": csrfToken(),
      },
      body: "choice=" + encodeURIComponent(choice),
    }).catch(function () { /* the cookie still holds the answer */ });
  }

  window.skypanelConsent = {
    grant: function () { writeConsent("granted"); hideBanner(); loadScript(); },
    withdraw: function () { writeConsent("denied"); hideBanner(); removeWidget(); },
    status: function () { return readConsent() || "unknown"; },
    show: showBanner,
  };

  function clearIdentity() {
    if (window.HubSpotConversations) {
      try { window.HubSpotConversations.clear({ resetWidget: true }); } catch (err) { /* not loaded */ }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var accept = document.getElementById("consent-accept");
    var decline = document.getElementById("consent-decline");
    var manage = document.getElementById("consent-manage");
    if (accept) accept.addEventListener("click", function () {
      window.skypanelConsent.grant();
      recordChoice("accept");
    });
    if (decline) decline.addEventListener("click", function () {
      window.skypanelConsent.withdraw();
      recordChoice("decline");
    });
    if (manage) manage.addEventListener("click", showBanner);
    // Signing out: the next person at this browser must not inherit the chat history.
    document.querySelectorAll("form[data-logout]").forEach(function (form) {
      form.addEventListener("submit", clearIdentity);
    });
    if (config.waitForConsent) {
      var state = readConsent();
      if (state === "granted") loadScript();
      else if (state !== "denied") showBanner();
    }
  });

  if (config.clearIdentity) {
    whenWidgetReady(function (api) { api.clear({ resetWidget: true }); });
  }
})();
