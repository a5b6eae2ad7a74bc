/* SkyPanel: create HubSpot's embedded forms rendered by {% hubspot_form %}. */
(function () {
  "use strict";
  if (!window.hbspt || !window.hbspt.forms) return; // the embed script did not load
  document.querySelectorAll(".hubspot-form:not([data-created])").forEach(function (el) {
    el.setAttribute("data-created", "1");
    window.hbspt.forms.create({
      region: el.dataset.region,
      portalId: el.dataset.portalId,
      formId: el.dataset.formId,
      target: "#" + el.id,
    });
  });
})();
