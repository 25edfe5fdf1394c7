// reddplus view: the run's rasters as tiles (titiler.core, /raster/...), its outlines as GeoJSON, a legend
// per layer and the visible rasters' pixel values on click. Leaflet is vendored; no request leaves 127.0.0.1.
(function () {
  "use strict";
  var map = L.map("map", { zoomSnap: 1, attributionControl: false });   // whole zooms: no seams between tiles
  L.control.scale({ imperial: false }).addTo(map);
  var layers = {};      // name -> {leaflet layer, spec, kind: "raster" | "vector"}
  var form = document.getElementById("layers");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function tileUrl(spec) {
    var q = new URLSearchParams(Object.assign({ layer: spec.name }, spec.tile_params || {}));
    return "/raster/tiles/WebMercatorQuad/{z}/{x}/{y}.png?" + q.toString();
  }

  function legendFor(spec, kind) {
    var ul = el("ul", { "class": "legend", id: "legend-" + spec.name });
    if (kind === "vector") {
      var li = el("li");
      li.appendChild(el("span", { "class": "sw line", style: "border-color:" + spec.color }));
      li.appendChild(el("span", {}, "outline"));
      ul.appendChild(li);
      return ul;
    }
    (spec.legend || []).forEach(function (item) {
      var li = el("li");
      li.appendChild(el("span", { "class": "sw", style: "background:" + item.color }));
      li.appendChild(el("span", {}, item.label));
      ul.appendChild(li);
    });
    if (spec.kind === "density" && spec.tile_params && spec.tile_params.nodata === "0") {
      ul.appendChild(el("li", {}, "0: not drawn"));
    }
    return ul;
  }

  function addControl(name, label, unit, legend, visible) {
    var lab = el("label", { "for": "layer-" + name });
    var box = el("input", { type: "checkbox", id: "layer-" + name, name: name });
    box.checked = visible;
    lab.appendChild(box);
    lab.appendChild(el("span", {}, label));
    if (unit) { lab.appendChild(el("span", { "class": "unit" }, "[" + unit + "]")); }
    form.appendChild(lab);
    legend.classList.toggle("hidden", !visible);
    form.appendChild(legend);
    box.addEventListener("change", function () { setVisible(name, box.checked); });
  }

  function setVisible(name, on) {
    var entry = layers[name];
    if (on) { entry.layer.addTo(map); } else { map.removeLayer(entry.layer); }
    document.getElementById("legend-" + name).classList.toggle("hidden", !on);
    document.getElementById("map").setAttribute("data-visible", visibleNames().join(","));
  }

  function visibleNames() {
    return Object.keys(layers).filter(function (n) { return map.hasLayer(layers[n].layer); });
  }

  function fmt(v, spec) {
    if (v === null || v === undefined) { return "no data"; }
    if (spec.kind === "codes" || spec.kind === "classes") {
      var hit = (spec.legend || []).filter(function (i) { return i.value === v; })[0];
      return String(v) + (hit && spec.kind === "codes" ? " (" + hit.label + ")" : "");
    }
    return Number(v).toPrecision(6).replace(/\.?0+$/, "") + (spec.unit ? " " + spec.unit : "");
  }

  function readPixels(latlng) {
    var names = visibleNames().filter(function (n) { return layers[n].kind === "raster"; });
    var out = document.getElementById("pixel-values");
    out.setAttribute("data-state", "loading");
    var lon = latlng.lng.toFixed(7), lat = latlng.lat.toFixed(7);
    return Promise.all(names.map(function (n) {
      return fetch("/raster/point/" + lon + "," + lat + "?layer=" + encodeURIComponent(n))
        .then(function (r) { return r.ok ? r.json() : { values: [null] }; })
        .then(function (j) { return { name: n, value: j.values ? j.values[0] : null }; });
    })).then(function (rows) {
      var table = el("table");
      var head = el("tr");
      head.appendChild(el("td", { colspan: "2" }, "lon " + lon + ", lat " + lat));
      table.appendChild(head);
      rows.forEach(function (row) {
        var spec = layers[row.name].spec;
        var tr = el("tr", { "data-layer": row.name, "data-value": row.value === null ? "" : String(row.value) });
        tr.appendChild(el("td", {}, spec.label));
        tr.appendChild(el("td", { "class": "v" }, fmt(row.value, spec)));
        table.appendChild(tr);
      });
      if (!rows.length) { table.appendChild(el("tr", {}, "no raster layer is visible")); }
      out.innerHTML = "";
      out.appendChild(table);
      out.setAttribute("data-state", "ready");
      L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(table.outerHTML).openOn(map);
    });
  }

  fetch("/api/layers").then(function (r) { return r.json(); }).then(function (cfg) {
    var visible = cfg.visible || [];
    cfg.rasters.forEach(function (spec) {
      var opts = { tileSize: 256, maxZoom: 19, opacity: 0.85, className: "raster-" + spec.name };
      if (spec.bounds) { opts.bounds = [[spec.bounds[1], spec.bounds[0]], [spec.bounds[3], spec.bounds[2]]]; }
      var layer = L.tileLayer(tileUrl(spec), opts);
      layers[spec.name] = { layer: layer, spec: spec, kind: "raster" };
      addControl(spec.name, spec.label, spec.unit, legendFor(spec, "raster"), visible.indexOf(spec.name) >= 0);
    });
    var pending = cfg.vectors.map(function (spec) {
      return fetch("/api/vectors/" + spec.name + ".geojson").then(function (r) { return r.json(); }).then(function (gj) {
        var layer = L.geoJSON(gj, { interactive: false,
          style: { color: spec.color, weight: 2, fill: false, dashArray: spec.name === "leakage_belt" ? "6 4" : null } });
        layers[spec.name] = { layer: layer, spec: spec, kind: "vector" };
        addControl(spec.name, spec.label, "", legendFor(spec, "vector"), visible.indexOf(spec.name) >= 0);
      });
    });
    return Promise.all(pending).then(function () {
      var order = ["jurisdiction", "leakage_belt", "project"];
      visible.forEach(function (n) { if (layers[n] && order.indexOf(n) < 0) { layers[n].layer.addTo(map); } });
      order.forEach(function (n) { if (layers[n] && visible.indexOf(n) >= 0) { layers[n].layer.addTo(map); } });
      var b = cfg.fit;
      if (b) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20] }); } else { map.setView([0, 0], 2); }
      (cfg.notes || []).forEach(function (n) { document.getElementById("notes").appendChild(el("li", {}, n)); });
      map.on("click", function (e) { readPixels(e.latlng); });
      document.getElementById("map").setAttribute("data-visible", visibleNames().join(","));
      document.getElementById("map").setAttribute("data-ready", "1");
    });
  });
  window.reddplusView = { map: map, layers: layers, readPixels: readPixels };
})();
