// umbra's console script: live task output over server-sent events, and the CSRF token
// on the console's own POSTs. Every page works without it, except the live view.
"use strict";
(function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function human(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + u[i];
  }
  function describe(ev) {
    // One line of `umbra --json`: restic's status and summary lines, umbra's phases.
    var t = ev.message_type || ev.event || ev.type || "";
    if (t === "status") {
      var pct = ev.percent_done !== undefined ? (ev.percent_done * 100).toFixed(0) + "% " : "";
      return pct + human(ev.bytes_done || 0) + " of " + human(ev.total_bytes || 0) +
        (ev.files_done !== undefined ? ", " + ev.files_done + " files" : "");
    }
    return null;
  }
  function watchTask(el) {
    var id = el.getAttribute("data-task");
    var log = document.getElementById("log");
    var progress = document.getElementById("progress");
    var state = document.getElementById("state");
    var phases = document.getElementById("phases");
    var src = new EventSource("/api/tasks/" + encodeURIComponent(id) + "/events");
    var started = Date.now(), lastBytes = 0;
    src.addEventListener("line", function (e) {
      var line = JSON.parse(e.data);
      log.textContent += line.text + "\n";
      log.scrollTop = log.scrollHeight;
      if (line.stream === "stdout") {
        try {
          var ev = JSON.parse(line.text);
          if (ev.message_type === "phase") {
            var li = document.createElement("li");
            li.textContent = ev.phase + ": " + ev.status + " (" + ev.seconds.toFixed(3) + " s)";
            phases.appendChild(li);
          }
          var d = describe(ev);
          if (ev.bytes_done !== undefined) { lastBytes = ev.bytes_done; }
          if (d) {
            var secs = (Date.now() - started) / 1000;
            progress.textContent = d + (lastBytes && secs > 0 ? " · " + human(lastBytes / secs) + "/s" : "");
          }
        } catch (err) { /* not JSON: shown in the log only */ }
      }
    });
    src.addEventListener("end", function (e) {
      var st = JSON.parse(e.data);
      state.textContent = st.state;
      state.className = "badge " + (st.state === "success" ? "good" : st.state === "incomplete" ? "fair" : "bad");
      src.close();
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var t = document.querySelector("[data-task]");
    if (t) { watchTask(t); }
    document.querySelectorAll("form[method=post]").forEach(function (f) {
      if (!f.querySelector("input[name=csrf]")) {
        var i = document.createElement("input");
        i.type = "hidden"; i.name = "csrf"; i.value = csrf();
        f.appendChild(i);
      }
    });
  });
})();
