/*
 * The Cloudflare room: RealtimeKit's UI kit (<rtk-meeting>) with the user's token.
 * The token is in the page body (a JSON script element), never in a URL; the UI kit's
 * pinned version comes from the page (settings.REALTIMEKIT_UI_VERSION), and its core
 * script (RealtimeKitClient) is loaded by the page before this one runs.
 */
(function () {
  "use strict";

  var holder = document.querySelector("[data-rtk-ui-script]");
  var tokenElement = document.getElementById("rtk-auth-token");
  var meetingElement = document.getElementById("rtk-meeting");
  if (!holder || !tokenElement || !meetingElement) {
    return;
  }
  var authToken = JSON.parse(tokenElement.textContent);

  import(holder.getAttribute("data-rtk-ui-script"))
    .then(function (ui) {
      ui.defineCustomElements();
      return window.RealtimeKitClient.init({ authToken: authToken });
    })
    .then(function (meeting) {
      meetingElement.meeting = meeting;
    })
    .catch(function () {
      var notice = document.createElement("p");
      notice.className = "card notice";
      notice.setAttribute("role", "alert");
      notice.textContent = "The video call could not be loaded. Reload the page to try again.";
      meetingElement.parentNode.insertBefore(notice, meetingElement);
    });
})();
