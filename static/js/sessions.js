/*
 * Live session cards (sessions_app/jinja2/sessions_app/session_cards.html).
 *
 * The page is right without this script, as of the moment it was served. The script keeps
 * it right afterwards:
 *  - a countdown to each start that ticks every second;
 *  - the join button appears exactly when the join window opens (data-opens-at: 10
 *    minutes before the start for members, 30 for the instructor) and goes away when
 *    joining is no longer possible;
 *  - the sessions' status (live, ended, canceled, seats) is asked for every
 *    ~25 seconds, in one request for the whole page, and not while the tab is hidden;
 *  - every moment is judged on the SERVER's clock: the page carries the server's time
 *    (data-server-now) and every status answer does too, so a browser whose clock is
 *    minutes off still opens the join button at the right moment.
 * Changes are announced to screen readers through each card's aria-live region; the
 * ticking countdown itself is a role="timer" region, which screen readers do not read
 * out every second.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live-sessions]");
  if (!root) {
    return;
  }

  var statusUrl = root.getAttribute("data-status-url");
  var pollMs = (Number(root.getAttribute("data-poll-seconds")) || 25) * 1000;
  // A status answer that took longer than this says little about the clocks: ignored.
  var MAX_USEFUL_RTT_MS = 5000;
  var TOO_LATE = "This session never started and its time is over.";

  // The server's clock as seen from here: serverNow() = Date.now() + offset. First from
  // the page itself, then from each status answer. Both are taken as the server's time
  // when they arrive, which it has reached at least by then: the estimate may run late by
  // a round trip but never early, so a join button never shows before the server would
  // admit the click (the middle of the round trip could be early by half of it).
  var offset = Number(root.getAttribute("data-server-now")) - Date.now();
  if (!isFinite(offset)) {
    offset = 0;
  }

  function serverNow() {
    return Date.now() + offset;
  }

  function numberOrNull(value) {
    if (value === null || value === undefined || value === "") {
      return null;
    }
    var n = Number(value);
    return isFinite(n) ? n : null;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // "04:05", "3:04:05" or "2 d 03:04:05"; rounded up, so it reads 00:00 exactly when due.
  function span(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    if (days > 0) {
      return days + " d " + pad(hours) + ":" + pad(minutes) + ":" + pad(seconds);
    }
    if (hours > 0) {
      return hours + ":" + pad(minutes) + ":" + pad(seconds);
    }
    return pad(minutes) + ":" + pad(seconds);
  }

  function readCard(el) {
    var d = el.dataset;
    return {
      el: el,
      id: d.sessionId,
      title: d.title,
      status: d.status,
      statusLabel: null,
      reason: d.reason,
      canJoin: d.canJoin === "true",
      message: d.message,
      opensAt: numberOrNull(d.opensAt),
      startsAt: numberOrNull(d.startsAt),
      endsAt: numberOrNull(d.endsAt),
      form: el.querySelector("[data-join-form]"),
      joinMessage: el.querySelector("[data-join-message]"),
      countdown: el.querySelector("[data-countdown]"),
      badge: el.querySelector("[data-status-badge]"),
      seats: el.querySelector("[data-seats]"),
      announcer: el.querySelector("[data-announce]"),
      shownStatus: d.status,
      shownJoinable: d.canJoin === "true",
    };
  }

  var cards = Array.prototype.map.call(
    document.querySelectorAll("[data-session-card]"),
    readCard
  );
  var byId = {};
  cards.forEach(function (card) {
    // One session may have a card twice on a page; both follow the same answer.
    (byId[card.id] = byId[card.id] || []).push(card);
  });
  var ids = Object.keys(byId);

  function announce(card, text) {
    if (card.announcer) {
      card.announcer.textContent = card.title + ": " + text;
    }
  }

  // Whether to show the join button at instant t, and what to say instead.
  function joinState(card, t) {
    if (card.status === "canceled" || card.status === "ended") {
      return { joinable: false, text: card.message };
    }
    var overdue = card.status === "scheduled" && card.endsAt !== null && t >= card.endsAt;
    if (card.reason === "too_early" && card.opensAt !== null) {
      if (t < card.opensAt) {
        return { joinable: false, text: "Joining opens in " + span(card.opensAt - t) + "." };
      }
      return overdue ? { joinable: false, text: TOO_LATE } : { joinable: true };
    }
    if (card.reason === "ok") {
      return overdue ? { joinable: false, text: TOO_LATE } : { joinable: true };
    }
    return { joinable: false, text: card.message };
  }

  function countdownText(card, t) {
    switch (card.status) {
      case "live":
        return "Live now";
      case "ended":
        return "Ended";
      case "canceled":
        return "Canceled";
    }
    if (card.startsAt !== null && t < card.startsAt) {
      return "Starts in " + span(card.startsAt - t);
    }
    if (card.endsAt !== null && t < card.endsAt) {
      return "Waiting for the instructor to start";
    }
    return "Its time is over";
  }

  var STATUS_NEWS = {
    live: "the session is live now.",
    ended: "the session has ended.",
    canceled: "the session was canceled.",
    scheduled: "the session is scheduled.",
  };

  var confirmTimer = null;

  function render(card, t) {
    if (card.countdown) {
      var text = countdownText(card, t);
      if (card.countdown.textContent !== text) {
        card.countdown.textContent = text;
      }
    }
    var state = joinState(card, t);
    if (card.form) {
      card.form.hidden = !state.joinable;
    }
    // The anonymous visitor's "Log in to join" keeps its link: its text never changes.
    if (card.joinMessage && card.reason !== "login_required") {
      card.joinMessage.hidden = state.joinable;
      if (!state.joinable && card.joinMessage.textContent !== state.text) {
        card.joinMessage.textContent = state.text;
      }
    }
    var news = [];
    var over = card.status === "canceled" || card.status === "ended";
    if (card.shownStatus !== card.status) {
      card.el.classList.remove("status-" + card.shownStatus);
      card.el.classList.add("status-" + card.status);
      card.el.dataset.status = card.status;
      if (card.badge) {
        card.badge.className = "badge badge-" + card.status;
        card.badge.textContent = card.statusLabel || card.status;
      }
      news.push(STATUS_NEWS[card.status] || card.status);
      card.shownStatus = card.status;
    }
    if (card.form && state.joinable !== card.shownJoinable) {
      // "Canceled" says it all; "joining has closed" on top would only repeat it.
      if (!over) {
        news.push(state.joinable ? "joining is open." : "joining has closed.");
      }
      card.shownJoinable = state.joinable;
      if (state.joinable && confirmTimer === null) {
        // The window opened here, by the clock; ask the server soon whether a seat is
        // still free, rather than at the next regular poll.
        confirmTimer = setTimeout(function () {
          confirmTimer = null;
          poll();
        }, 1500);
      }
    }
    if (news.length) {
      announce(card, news.join(" "));
    }
  }

  function seatsText(seatsLeft, capacity) {
    if (seatsLeft === null || capacity === null) {
      return "Open seating";
    }
    if (seatsLeft === 0) {
      return "Full (" + capacity + " seats)";
    }
    return seatsLeft + " of " + capacity + " seats left";
  }

  function applyAnswer(sessions) {
    var t = serverNow();
    sessions.forEach(function (s) {
      (byId[s.id] || []).forEach(function (card) {
        card.status = s.status;
        card.statusLabel = s.status_label;
        card.reason = s.reason;
        card.canJoin = s.can_join;
        card.message = s.message;
        card.opensAt = s.opens_at;
        card.startsAt = s.starts_at;
        card.endsAt = s.ends_at;
        if (card.seats) {
          card.seats.textContent = seatsText(s.seats_left, s.capacity);
        }
        render(card, t);
      });
    });
  }

  // Buttons that only work between two instants (an instructor's "Start session").
  function renderTimedButtons(t) {
    document.querySelectorAll("[data-enable-at]").forEach(function (button) {
      var from = numberOrNull(button.dataset.enableAt);
      var until = numberOrNull(button.dataset.disableAt);
      var usable = from !== null && t >= from && (until === null || t < until);
      if (usable && button.disabled) {
        button.disabled = false;
        var hintId = button.getAttribute("aria-describedby");
        var hint = hintId && document.getElementById(hintId);
        if (hint) {
          hint.hidden = true;
        }
        button.removeAttribute("aria-describedby");
      }
    });
  }

  function tick() {
    var t = serverNow();
    cards.forEach(function (card) {
      render(card, t);
    });
    renderTimedButtons(t);
    setTimeout(tick, untilNextTick(t));
  }

  // Just after the next whole second of the server's clock, or just after the next
  // instant at which a card changes (a join window opening), whichever comes first: the
  // button appears on the dot, not up to a second late.
  function untilNextTick(t) {
    var due = t - (t % 1000) + 1020;
    cards.forEach(function (card) {
      [card.opensAt, card.startsAt, card.endsAt].forEach(function (at) {
        if (at !== null && at >= t && at + 5 < due) {
          due = at + 5;
        }
      });
    });
    return Math.max(5, due - t);
  }

  // Polling.
  var pollTimer = null;
  var inFlight = false;
  var lastPollAt = 0;

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, delay);
  }

  function nextDelay() {
    // A little jitter, so the pages of one class do not all ask in the same second.
    return pollMs - 2000 + Math.floor(Math.random() * 4000);
  }

  function poll() {
    if (!ids.length || inFlight) {
      return;
    }
    if (document.hidden) {
      return; // visibilitychange asks again when the tab is seen
    }
    inFlight = true;
    var sentAt = Date.now();
    fetch(statusUrl + "?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var receivedAt = Date.now();
        var rtt = receivedAt - sentAt;
        if (rtt >= 0 && rtt <= MAX_USEFUL_RTT_MS && isFinite(data.server_now)) {
          offset = data.server_now - receivedAt;
        }
        if (data.poll_seconds) {
          pollMs = data.poll_seconds * 1000;
        }
        applyAnswer(data.sessions || []);
      })
      .catch(function () {
        // Offline or the server is busy: keep what the page shows, ask again later.
      })
      .then(function () {
        inFlight = false;
        lastPollAt = Date.now();
        schedulePoll(nextDelay());
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - lastPollAt >= pollMs) {
      poll();
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      poll(); // back from the back/forward cache: the page's own clock is stale
    }
  });

  // The start time on this device, when its zone reads another time than the page shows.
  function showDeviceTimes() {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    var options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    cards.forEach(function (card) {
      var target = card.el.querySelector("[data-browser-time]");
      if (!target || card.startsAt === null || !zone) {
        return;
      }
      var start = new Date(card.startsAt);
      var format = function (z) {
        return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: z }, options)).format(start);
      };
      var here = format(zone);
      var shown = (card.el.dataset.shownZones || "").split(" ").filter(Boolean);
      var differs = shown.every(function (z) {
        try {
          return format(z) !== here;
        } catch (e) {
          return true;
        }
      });
      if (differs) {
        target.textContent = here + " on this device";
        target.hidden = false;
      }
    });
  }

  showDeviceTimes();
  tick();
  // A first answer at once: it measures the clock offset better than the page could.
  schedulePoll(0);
})();
