// Project boundary map: draws the GeoJSON in #boundary-data on #map with Leaflet (vendored), no tile server
// (the registry works offline; the outline, a graticule and a scale bar give the extent).
(function () {
  var el = document.getElementById("map");
  var data = document.getElementById("boundary-data");
  if (!el || !data || typeof L === "undefined") { return; }
  var geom = JSON.parse(data.textContent);
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  var layer = L.geoJSON(geom, { style: { color: "#1f5130", weight: 2, fillColor: "#3f8f55", fillOpacity: 0.35 } });
  layer.addTo(map);
  var b = layer.getBounds();
  map.fitBounds(b, { padding: [20, 20] });
  var step = Math.max(0.01, Math.pow(10, Math.floor(Math.log10(Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth())))) / 2);
  var lines = [];
  for (var x = Math.floor((b.getWest() - 5 * step) / step) * step; x <= b.getEast() + 5 * step; x += step) {
    lines.push([[b.getSouth() - 5 * step, x], [b.getNorth() + 5 * step, x]]);
  }
  for (var y = Math.floor((b.getSouth() - 5 * step) / step) * step; y <= b.getNorth() + 5 * step; y += step) {
    lines.push([[y, b.getWest() - 5 * step], [y, b.getEast() + 5 * step]]);
  }
  L.polyline(lines, { color: "#9aa89e", weight: 0.5, interactive: false }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  el.setAttribute("data-ready", "1");
})();
