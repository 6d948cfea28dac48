// The alias page's charts: requests, errors and p50/p99 latency of each version the alias served, drawn
// with the vendored uPlot (static/vendor/uplot) from the JSON the console put in the page, which is the
// registry's GET /aliases/{alias}/metrics answer as it came. One colour per version across the charts.
(function () {
  "use strict";
  var source = document.getElementById("metrics-data");
  if (!source || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var xs = data.timestamps.map(function (t) { return Date.parse(t) / 1000; });
  var colours = ["#1f6feb", "#d4731a", "#2da44e", "#a371f7", "#cf222e", "#6e7781"];
  var kinds = [["errors_5xx", "5xx", null], ["not_ready", "not ready", [2, 3]], ["errors_4xx", "4xx", [8, 4]],
               ["throttles", "throttled", [1, 4]]];

  function name(v) { return v.model + " v" + v.version + (v.current ? "" : " (earlier)"); }

  function errorLines(v, colour) {
    var lines = kinds.filter(function (k) { return v.totals[k[0]] > 0; }).map(function (k) {
      return {label: name(v) + " " + k[1], values: v[k[0]], colour: colour, dash: k[2]};
    });
    return lines.length ? lines : [{label: name(v) + " errors", values: v.errors_4xx.map(function () { return 0; }),
                                    colour: colour}];
  }

  function chart(id, lines, unit) {
    var place = document.getElementById(id);
    var series = [{}].concat(lines.map(function (line) {
      return {label: line.label, stroke: line.colour, width: 2, dash: line.dash || undefined, spanGaps: false,
              points: {show: false}};
    }));
    var options = {width: Math.max(place.clientWidth, 200), height: 220, series: series,
                   scales: {x: {time: true}}, axes: [{}, {label: unit, size: 60}]};
    var drawn = new uPlot(options, [xs].concat(lines.map(function (line) { return line.values; })), place);
    place.setAttribute("data-series", lines.map(function (line) { return line.label; }).join("\n"));
    return drawn;
  }

  var requests = [], errors = [], latency = [];
  data.versions.forEach(function (v, i) {
    var colour = colours[i % colours.length];
    requests.push({label: name(v), values: v.requests, colour: colour});
    errors = errors.concat(errorLines(v, colour));
    latency.push({label: name(v) + " p50", values: v.p50_ms, colour: colour});
    latency.push({label: name(v) + " p99", values: v.p99_ms, colour: colour, dash: [6, 4]});
  });
  var charts = {requests: chart("chart-requests", requests, "requests"),
                errors: chart("chart-errors", errors, "errors"),
                latency: chart("chart-latency", latency, "ms")};
  window.aliasCharts = charts;  // what the browser tests read back
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (key) {
      var place = document.getElementById("chart-" + key);
      charts[key].setSize({width: Math.max(place.clientWidth, 200), height: 220});
    });
  });
})();
