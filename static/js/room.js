/*
 * The room page reports presence (templates/sessions_app/room.html), on both providers.
 *
 * - A heartbeat every 30 seconds (POST /sessions/<id>/presence/ with the CSRF header)
 *   keeps the user's attendance segment open; its answer says whether they are still
 *   counted, the session's status and who is in the room, which the page shows.
 * - On leaving the page (closing the tab, navigating away) a last beacon
 *   (navigator.sendBeacon: it survives the page's end) closes the segment. A beacon
 *   cannot set headers, so the CSRF token travels in its form body.
 * - Several tabs of one room: each tab notes in localStorage that it is alive; a tab
 *   that closes while another is still open sends no goodbye, as the user is still there.
 *   The server keeps one open segment per user, so two tabs count once anyway.
 * - A reload sends the old page's goodbye just before the new page loads. The reloaded
 *   page (or one come back to with the Back button) goes back in through the join form
 *   once, so that a reload does not throw anyone out of the room.
 * If the heartbeats stop without a goodbye (a crash, a lost network) the server stops
 * counting five minutes after the last one (sessions_app.models.PRESENCE_GRACE).
 */
(function () {
  "use strict";

  var room = document.querySelector("[data-room]");
  if (!room || room.dataset.finished === "true") {
    return;
  }

  var HEARTBEAT_MS = 30000;
  var TAB_ALIVE_MS = 75000; // a tab not heard from for this long is gone
  var presenceUrl = room.dataset.presenceUrl;
  var leaveUrl = room.dataset.leaveUrl;
  var tokenInput = room.querySelector("input[name=csrfmiddlewaretoken]");
  var token = tokenInput ? tokenInput.value : "";
  var tabsKey = "wwmaa-room-tabs-" + room.dataset.sessionId;
  var tabId = String(Date.now()) + "-" + Math.random().toString(36).slice(2);
  var wasPresent = room.dataset.present === "true";
  var leavingByForm = false;
  var timer = null;
  var navigation = (performance.getEntriesByType && performance.getEntriesByType("navigation")[0]) || {};
  var cameBack = navigation.type === "reload" || navigation.type === "back_forward";
  var mayReenter =
    room.dataset.canJoin === "true" && room.dataset.hasSeat === "true" && (cameBack || wasPresent);
  var renderedPresent = wasPresent;

  var statusEl = document.querySelector("[data-room-status] strong");
  var peopleList = room.querySelector("[data-people]");
  var peopleEmpty = room.querySelector("[data-people-empty]");
  var awayNotice = room.querySelector("[data-away-notice]");
  var rejoinForm = room.querySelector("[data-rejoin-form]");
  var leaveForm = room.querySelector("[data-leave-form]");
  var announcer = room.querySelector("[data-room-announce]");

  function readTabs() {
    try {
      return JSON.parse(window.localStorage.getItem(tabsKey) || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  function writeTabs(tabs) {
    try {
      window.localStorage.setItem(tabsKey, JSON.stringify(tabs));
    } catch (e) {
      // Storage off (a private window): every tab then says goodbye for itself.
    }
  }

  function markAlive() {
    var tabs = readTabs();
    var now = Date.now();
    Object.keys(tabs).forEach(function (id) {
      if (now - tabs[id] > TAB_ALIVE_MS) {
        delete tabs[id];
      }
    });
    tabs[tabId] = now;
    writeTabs(tabs);
  }

  function forgetThisTab() {
    var tabs = readTabs();
    delete tabs[tabId];
    writeTabs(tabs);
    var now = Date.now();
    return Object.keys(tabs).some(function (id) {
      return now - tabs[id] <= TAB_ALIVE_MS;
    });
  }

  function announce(text) {
    if (announcer) {
      announcer.textContent = text;
    }
  }

  function showPeople(people) {
    if (!peopleList) {
      return;
    }
    peopleList.textContent = "";
    people.forEach(function (person) {
      var item = document.createElement("li");
      item.textContent =
        person.name + (person.is_instructor ? " (instructor)" : "") + (person.is_you ? " (you)" : "");
      peopleList.appendChild(item);
    });
    peopleList.hidden = people.length === 0;
    if (peopleEmpty) {
      peopleEmpty.hidden = people.length !== 0;
    }
  }

  // Back into the room after this page's own predecessor said goodbye (a reload).
  function reenter() {
    mayReenter = false;
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    fetch(room.dataset.joinUrl, {
      method: "POST",
      credentials: "same-origin",
      body: body,
      redirect: "manual", // the join answers with a redirect to this very page
    })
      .then(function () {
        if (renderedPresent) {
          heartbeat();
        } else {
          // The page was drawn with the user outside: draw it again, now inside (and
          // without a goodbye, since the user stays).
          leavingByForm = true;
          window.location.replace(window.location.href);
        }
      })
      .catch(function () {
        // The next heartbeat shows the user as away, with the "Join again" button.
      });
  }

  function update(data) {
    if (!data.present && mayReenter && data.status !== "ended" && data.status !== "canceled") {
      reenter();
      return;
    }
    if (!cameBack || beats > 1) {
      mayReenter = false;
    }
    if (statusEl && data.status_label && statusEl.textContent !== data.status_label) {
      statusEl.textContent = data.status_label;
      announce("The session is " + data.status_label.toLowerCase() + ".");
    }
    if (data.people && (data.present || data.people.length)) {
      showPeople(data.people);
    }
    var over = data.status === "ended" || data.status === "canceled";
    if (data.present) {
      wasPresent = true;
      if (awayNotice) {
        awayNotice.hidden = true;
      }
    } else if (wasPresent && !over) {
      // Left in another tab, or away for too long: no longer counted until they rejoin.
      if (awayNotice && awayNotice.hidden) {
        awayNotice.hidden = false;
        announce(awayNotice.textContent);
      }
      if (rejoinForm) {
        rejoinForm.hidden = false;
      }
      if (leaveForm) {
        leaveForm.hidden = true;
      }
    }
    if (over) {
      clearInterval(timer);
      wasPresent = false;
    }
  }

  var beats = 0;

  function heartbeat() {
    beats += 1;
    markAlive();
    fetch(presenceUrl, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          update(data);
        }
      })
      .catch(function () {
        // Offline for a moment: the next heartbeat tries again.
      });
  }

  if (leaveForm) {
    leaveForm.addEventListener("submit", function () {
      leavingByForm = true; // the form itself leaves; no beacon on top of it
    });
  }

  window.addEventListener("pagehide", function () {
    var otherTabOpen = forgetThisTab();
    if (leavingByForm || otherTabOpen || !wasPresent || !navigator.sendBeacon) {
      return;
    }
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    navigator.sendBeacon(leaveUrl, body);
  });

  heartbeat();
  timer = setInterval(heartbeat, HEARTBEAT_MS);
  if (cameBack) {
    // The old page's goodbye may reach the server after this page's first heartbeat: a
    // second look, soon, catches it.
    setTimeout(heartbeat, 2000);
  }
})();
