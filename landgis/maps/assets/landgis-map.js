/* landgis map page. Every attribute value goes into the page through textContent only.
 *
 * The data (see landgis/maps/pagedata.py) is decoded into typed arrays of Web Mercator
 * coordinates (Leaflet's world pixels at zoom 0), and every layer is drawn by this
 * script on one canvas: a feature as its polygon where it spans more than two pixels,
 * as a dot elsewhere; vertices closer than a pixel to the last one drawn are passed
 * over. A click or a hover finds the parcel under the pointer by its grid cell and a
 * point-in-polygon test, at any zoom. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('landgis-data').textContent);
  var now = function () { return (window.performance && performance.now) ? performance.now() : Date.now(); };
  var t0 = now();

  // ------------------------------------------------------------ packed columns (landgis/maps/columns.py)
  var ALPHABET = '', REV = new Int16Array(128), c;
  for (c = 35; c < 127; c++) { if ('\\<>&'.indexOf(String.fromCharCode(c)) < 0) { ALPHABET += String.fromCharCode(c); } }
  for (c = 0; c < ALPHABET.length; c++) { REV[ALPHABET.charCodeAt(c)] = c; }
  var BASE = ALPHABET.length;
  function codeAt(s, w, i) {
    var v = 0, at = i * w;
    for (var j = 0; j < w; j++) { v = v * BASE + REV[s.charCodeAt(at + j)]; }
    return v;
  }
  // a column as a function of the row: texts, numbers (null when missing) or front-coded ids
  function column(spec) {
    if (Array.isArray(spec)) { return function (i) { return spec[i]; }; }
    if (spec.front !== undefined) { var ids = frontCoded(spec.front); return function (i) { return ids[i]; }; }
    var w = spec.w, s = spec.s;
    if (spec.v) {
      if (w === 0) { return function () { return spec.v[0]; }; }
      return function (i) { return spec.v[codeAt(s, w, i)]; };
    }
    var none = Math.pow(BASE, w) - 1;
    return function (i) { var k = codeAt(s, w, i); return k === none ? null : (k + spec.min) / spec.scale; };
  }
  function frontCoded(text) {
    var out = [], before = '';
    if (!text) { return out; }
    var rows = text.split('|');
    for (var k = 0; k < rows.length; k++) {
      before = before.slice(0, REV[rows[k].charCodeAt(0)]) + rows[k].slice(1);
      out.push(before);
    }
    return out;
  }
  function ids(spec) { return Array.isArray(spec) ? spec : frontCoded(spec.front); }

  // ------------------------------------------------------------ geometry (landgis/maps/encode.py, chained)
  var TAU = 2 * Math.PI, RAD = Math.PI / 360;
  function mercX(lon) { return 256 * (lon / 360 + 0.5); }
  function mercY(lat) {
    lat = Math.max(-85.0511287798, Math.min(85.0511287798, lat));
    return 256 * (0.5 - Math.log(Math.tan(Math.PI / 4 + lat * RAD)) / TAU);
  }
  // One layer's features: vertices X, Y; rings (first vertex of each, and one past the last);
  // each feature's rings; each feature's box [minX, minY, maxX, maxY] (world pixels at zoom 0).
  // same(k): the feature index in `from` a line "=" stands for (its vertices are copied).
  function Geoms(s, same, from, precision) {
    var unit = precision || 1e6;
    var len = s.length, cap = (len >> 1) + 16;
    var X = new Float64Array(cap), Y = new Float64Array(cap), rings = [0], feats = [0], boxes = [];
    var i = len ? 0 : 1, nv = 0, lon = 0, lat = 0, slon = 0, slat = 0, b, result, shift, dx, dy, k = 0;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, x, y;
    function close() {
      boxes.push(x0, y0, x1, y1); feats.push(rings.length - 1);
      x0 = y0 = Infinity; x1 = y1 = -Infinity; k++;
    }
    while (i <= len) {
      var ch = i < len ? s.charCodeAt(i) : 10;
      if (ch === 10) { close(); i++; continue; }                     // next feature
      if (ch === 32 || ch === 33) { i++; continue; }                 // next ring, next polygon
      if (ch === 61) {                                               // "=": another layer's feature
        var f = same(k), r0 = from.feats[f], r1 = from.feats[f + 1];
        for (var r = r0; r < r1; r++) {
          for (var v = from.rings[r]; v < from.rings[r + 1]; v++) {
            if (nv >= X.length) { X = grow(X); Y = grow(Y); }
            X[nv] = from.X[v]; Y[nv] = from.Y[v]; nv++;
          }
          rings.push(nv);
        }
        var fb = from.box;
        x0 = fb[4 * f]; y0 = fb[4 * f + 1]; x1 = fb[4 * f + 2]; y1 = fb[4 * f + 3];
        i++; continue;
      }
      // a ring: its first vertex from the previous ring's first, then each from the one before
      var first = true;
      while (i < len && s.charCodeAt(i) >= 63) {
        result = 0; shift = 1;
        do { b = s.charCodeAt(i++) - 63; result += (b & 31) * shift; shift *= 32; } while (b >= 32);
        dx = (result % 2) ? -(result + 1) / 2 : result / 2;
        result = 0; shift = 1;
        do { b = s.charCodeAt(i++) - 63; result += (b & 31) * shift; shift *= 32; } while (b >= 32);
        dy = (result % 2) ? -(result + 1) / 2 : result / 2;
        if (first) { slon += dx; slat += dy; lon = slon; lat = slat; first = false; } else { lon += dx; lat += dy; }
        x = mercX(lon / unit); y = mercY(lat / unit);
        if (nv >= X.length) { X = grow(X); Y = grow(Y); }
        X[nv] = x; Y[nv] = y; nv++;
        if (x < x0) { x0 = x; } if (x > x1) { x1 = x; } if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
      }
      rings.push(nv);
    }
    this.n = k; this.X = X.slice(0, nv); this.Y = Y.slice(0, nv);
    this.rings = Int32Array.from(rings); this.feats = Int32Array.from(feats); this.box = Float64Array.from(boxes);
    this.vertices = nv;
  }
  function grow(a) { var b = new Float64Array(a.length * 2); b.set(a); return b; }
  Geoms.prototype.latlngs = function (f) {  // a feature's rings as [lat, lng] (tests, the highlight)
    var out = [];
    for (var r = this.feats[f]; r < this.feats[f + 1]; r++) {
      var ring = [];
      for (var v = this.rings[r]; v < this.rings[r + 1]; v++) {
        var ll = map.unproject([this.X[v], this.Y[v]], 0); ring.push([ll.lat, ll.lng]);
      }
      out.push(ring);
    }
    return out;
  };
  Geoms.prototype.contains = function (f, px, py) {  // even-odd over all rings
    var inside = false, X = this.X, Y = this.Y;
    for (var r = this.feats[f]; r < this.feats[f + 1]; r++) {
      var a = this.rings[r], e = this.rings[r + 1], j = e - 1;
      for (var v = a; v < e; j = v++) {
        if ((Y[v] > py) !== (Y[j] > py) && px < (X[j] - X[v]) * (py - Y[v]) / (Y[j] - Y[v]) + X[v]) { inside = !inside; }
      }
    }
    return inside;
  };

  // A uniform grid over the features' boxes (typed arrays); a feature over a sixteenth of it is always looked at.
  function Grid(g) {
    var n = g.n, box = g.box, bx = [Infinity, Infinity, -Infinity, -Infinity], f;
    for (f = 0; f < n; f++) {
      if (box[4 * f] === Infinity) { continue; }
      bx[0] = Math.min(bx[0], box[4 * f]); bx[1] = Math.min(bx[1], box[4 * f + 1]);
      bx[2] = Math.max(bx[2], box[4 * f + 2]); bx[3] = Math.max(bx[3], box[4 * f + 3]);
    }
    var side = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(n / 4))));
    this.g = g; this.side = side; this.b = bx;
    this.dx = Math.max((bx[2] - bx[0]) / side, 1e-12); this.dy = Math.max((bx[3] - bx[1]) / side, 1e-12);
    var cells = side * side, counts = new Int32Array(cells + 1), big = [], f0 = bx[0], f1 = bx[1], dx = this.dx, dy = this.dy;
    var c0s = new Int32Array(n), c1s = new Int32Array(n), r0s = new Int32Array(n), r1s = new Int32Array(n), inGrid = new Uint8Array(n);
    var cl = function (v) { return v < 0 ? 0 : v >= side ? side - 1 : v; };
    var r, cc, k;
    for (f = 0; f < n; f++) {
      if (box[4 * f] === Infinity) { continue; }
      var c0 = cl(Math.floor((box[4 * f] - f0) / dx)), c1 = cl(Math.floor((box[4 * f + 2] - f0) / dx));
      var r0 = cl(Math.floor((box[4 * f + 1] - f1) / dy)), r1 = cl(Math.floor((box[4 * f + 3] - f1) / dy));
      if ((c1 - c0 + 1) * (r1 - r0 + 1) * 16 > cells && cells > 16) { big.push(f); continue; }
      c0s[f] = c0; c1s[f] = c1; r0s[f] = r0; r1s[f] = r1; inGrid[f] = 1;
      for (r = r0; r <= r1; r++) { for (cc = c0; cc <= c1; cc++) { counts[r * side + cc + 1]++; } }
    }
    for (k = 0; k < cells; k++) { counts[k + 1] += counts[k]; }
    var items = new Int32Array(counts[cells]), fill = counts.slice(0, cells);
    for (f = 0; f < n; f++) {
      if (!inGrid[f]) { continue; }
      for (r = r0s[f]; r <= r1s[f]; r++) { for (cc = c0s[f]; cc <= c1s[f]; cc++) { items[fill[r * side + cc]++] = f; } }
    }
    this.start = counts; this.items = items; this.big = big;
    this.stamp = new Int32Array(n); this.tick = 0;
  }
  Grid.prototype.cx = function (x) { return Math.max(0, Math.min(this.side - 1, Math.floor((x - this.b[0]) / this.dx))); };
  Grid.prototype.cy = function (y) { return Math.max(0, Math.min(this.side - 1, Math.floor((y - this.b[1]) / this.dy))); };
  // features whose box meets [x0, y0, x1, y1]
  Grid.prototype.query = function (x0, y0, x1, y1) {
    var out = [], box = this.g.box, f, k;
    if (x1 < this.b[0] || x0 > this.b[2] || y1 < this.b[1] || y0 > this.b[3]) { return out; }
    this.tick++;
    var c0 = this.cx(x0), c1 = this.cx(x1), r0 = this.cy(y0), r1 = this.cy(y1);
    for (var r = r0; r <= r1; r++) {
      for (var c = c0; c <= c1; c++) {
        var cell = r * this.side + c;
        for (k = this.start[cell]; k < this.start[cell + 1]; k++) {
          f = this.items[k];
          if (this.stamp[f] === this.tick) { continue; }
          this.stamp[f] = this.tick;
          if (box[4 * f + 2] >= x0 && box[4 * f] <= x1 && box[4 * f + 3] >= y0 && box[4 * f + 1] <= y1) { out.push(f); }
        }
      }
    }
    for (k = 0; k < this.big.length; k++) {
      f = this.big[k];
      if (box[4 * f + 2] >= x0 && box[4 * f] <= x1 && box[4 * f + 3] >= y0 && box[4 * f + 1] <= y1) { out.push(f); }
    }
    return out;
  };

  // ------------------------------------------------------------ the data
  var P = {}, PG = new Geoms(D.parcels.g);
  Object.keys(D.parcels).forEach(function (k) { if (k !== 'g' && k !== 'id') { P[k] = column(D.parcels[k]); } });
  var PID = ids(D.parcels.id), NP = PG.n;
  P.id = function (i) { return PID[i]; };
  PG.grid = new Grid(PG);
  // maps keyed by data (an id may be "constructor"): no prototype
  var byId = Object.create(null), idCount = Object.create(null);
  for (var i = 0; i < NP; i++) {
    if (byId[PID[i]] === undefined) { byId[PID[i]] = i; }
    idCount[PID[i]] = (idCount[PID[i]] || 0) + 1;
  }
  // the towns as the page's data counts them (every parcel, drawn or not), largest first
  var towns = D.towns.map(function (t) { return t.name; }), townIndex = Object.create(null);
  towns.forEach(function (t, k) { townIndex[t] = k; });
  var verdictOf = new Uint8Array(NP), townOf = new Int32Array(NP);
  for (i = 0; i < NP; i++) {
    verdictOf[i] = P.v(i);
    var tn = townIndex[P.town(i) || D.no_town];
    townOf[i] = tn === undefined ? -1 : tn;
  }
  var verdictColour = D.verdicts.map(function (v) { return v.colour; });
  var layers = {}, order = [];
  D.layers.forEach(function (spec) {
    var L2 = {spec: spec, on: !!spec.show};
    if (spec.kind === 'conflicts') {  // each piece's parcel, rule and area; a piece "=" is drawn with its parcel's rings
      L2.parcel = column(spec.parcel); L2.rule = column(spec.rule); L2.m2 = column(spec.m2);
    }
    var g = L2.g = new Geoms(spec.g, L2.parcel, PG, spec.precision);
    if (spec.kind === 'zoning') { L2.code = column(spec.code); }
    if (spec.kind === 'admin') { L2.label = column(spec.label); L2.level = column(spec.level); }
    g.grid = new Grid(g);
    layers[spec.key] = L2; order.push(spec.key);
  });
  var conflictsOf = Object.create(null);
  if (layers.conflicts) {
    var CL = layers.conflicts;
    for (var k = 0; k < CL.g.n; k++) {
      var pi = CL.parcel(k);
      if (pi === null) { continue; }  // its parcel is not drawn: no popup lists it
      (conflictsOf[pi] = conflictsOf[pi] || []).push([CL.rule(k), CL.m2(k)]);
    }
  }
  var legacyOn = true, parcelsOn = true, labelsOn = true, filterTown = -1, highlighted = null;
  var legacy = [];
  for (i = 0; i < NP; i++) { if (P.legacy(i)) { legacy.push(i); } }

  // ------------------------------------------------------------ helpers
  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (txt !== undefined && txt !== null) { e.textContent = String(txt); }
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function fmt(v, digits) {
    if (v === null || v === undefined || v === '') { return ''; }
    return Number(v).toLocaleString('zh-CN', {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function mu(m2) { return m2 === null ? null : m2 * 15 / 10000; }
  function areaText(m2) { return m2 === null ? '面积不明' : fmt(m2, 2) + ' 平方米（' + fmt(mu(m2), 4) + ' 亩）'; }

  // ------------------------------------------------------------ map
  var map = L.map('map', {zoomControl: true, attributionControl: true, maxZoom: 21, zoomSnap: 0.5});
  map.attributionControl.setPrefix('Leaflet');
  map.fitBounds(D.bounds, {padding: [20, 20], animate: false});
  var hint = null;

  var bases = {'无底图': L.layerGroup()};
  bases['OpenStreetMap'] = L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    {maxZoom: 19, attribution: '&copy; OpenStreetMap contributors'});
  if (D.tianditu) {
    var tk = encodeURIComponent(D.tianditu);
    var tdt = function (layer) {
      return L.tileLayer('https://t{s}.tianditu.gov.cn/' + layer + '_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=' +
        layer + '&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=' + tk,
        {subdomains: '01234567', maxZoom: 18, attribution: '天地图'});
    };
    bases['天地图 矢量'] = L.layerGroup([tdt('vec'), tdt('cva')]);
    bases['天地图 影像'] = L.layerGroup([tdt('img'), tdt('cia')]);
  }
  var startBase = {none: '无底图', osm: 'OpenStreetMap', tianditu: '天地图 矢量'}[D.basemap] || '无底图';
  // a basemap that cannot load (offline, a blocked network, a wrong key) is said, not left blank
  var baseTrouble = {};
  Object.keys(bases).forEach(function (name) {
    var tiles = [], loaded = 0, failed = 0;
    if (bases[name] instanceof L.TileLayer) { tiles.push(bases[name]); } else { bases[name].eachLayer(function (t) { tiles.push(t); }); }
    tiles.forEach(function (t) {
      t.on('tileload', function () {
        loaded += 1;
        if (baseTrouble[name]) { delete baseTrouble[name]; if (hint) { hint.update(); } }
      });
      t.on('tileerror', function () {
        failed += 1;
        if (!loaded && failed >= 2 && !baseTrouble[name]) { baseTrouble[name] = true; if (hint) { hint.update(); } }
      });
    });
  });
  map.on('baselayerchange', function () { if (hint) { hint.update(); } });
  bases[startBase].addTo(map);

  // ------------------------------------------------------------ drawing
  var stats = {parcels_drawn: 0, parcel_dots: 0, layers: {}, ms: 0, labels: []};
  var PAD = 0.15, DOT = 2, SMALL = 6, BATCH = 256;
  var zoningColour = function (L2, f) {
    var spec = L2.spec, cls = spec.classes[String(L2.code(f)).slice(0, 2)] || spec.other;
    return cls[1];
  };
  // each layer's look: fill (a colour, or a function of the feature), its opacity, the outline
  function styleOf(key) {
    var L2 = layers[key], spec = L2.spec;
    if (spec.kind === 'zoning') { return {fill: function (f) { return zoningColour(L2, f); }, alpha: 0.55, stroke: '#888', width: 0.5}; }
    if (spec.kind === 'conflicts') { return {fill: spec.colour, alpha: 0.5, stroke: spec.colour, width: 0.8}; }
    if (spec.kind === 'admin') { return null; }
    if (key === 'udb') { return {fill: spec.colour, alpha: 0.08, stroke: spec.colour, width: 2, dash: [8, 4]}; }
    return {fill: spec.colour, alpha: 0.3, stroke: spec.colour, width: 1};
  }
  function pathOf(ctx, g, f, k, ox, oy) {
    var X = g.X, Y = g.Y;
    for (var r = g.feats[f]; r < g.feats[f + 1]; r++) {
      var a = g.rings[r], e = g.rings[r + 1];
      if (e - a < 2) { continue; }
      var lx = X[a] * k - ox, ly = Y[a] * k - oy;
      ctx.moveTo(lx, ly);
      for (var v = a + 1; v < e; v++) {
        var x = X[v] * k - ox, y = Y[v] * k - oy;
        if (Math.abs(x - lx) + Math.abs(y - ly) < 0.75 && v < e - 1) { continue; }  // under a pixel from the last drawn
        ctx.lineTo(x, y); lx = x; ly = y;
      }
      ctx.closePath();
    }
  }
  // draws features `fs` of g: polygons where more than DOT pixels across, dots elsewhere; counts each
  function drawFeatures(ctx, g, fs, colourOf, style, view, count) {
    var k = view.k, ox = view.ox, oy = view.oy, groups = {}, small = {}, dots = {}, f, j, box = g.box;
    for (j = 0; j < fs.length; j++) {
      f = fs[j];
      var col = typeof colourOf === 'function' ? colourOf(f) : colourOf;
      if (col === null) { continue; }
      var w = (box[4 * f + 2] - box[4 * f]) * k, h = (box[4 * f + 3] - box[4 * f + 1]) * k;
      if (w < DOT && h < DOT) { (dots[col] = dots[col] || []).push(f); count.dots++; continue; }
      count.polys++;
      if (w < SMALL && h < SMALL && style.alpha > 0) { (small[col] = small[col] || []).push(f); } else { (groups[col] = groups[col] || []).push(f); }
    }
    // a few pixels across, a polygon's outline is not seen: filled only (stroking is the slow part)
    Object.keys(small).forEach(function (col) {
      var list = small[col];
      ctx.globalAlpha = style.alpha * (style.dim ? style.dim(col) : 1); ctx.fillStyle = style.fillOf ? style.fillOf(col) : col;
      for (var a = 0; a < list.length; a += BATCH) {
        ctx.beginPath();
        for (j = a; j < Math.min(a + BATCH, list.length); j++) { pathOf(ctx, g, list[j], k, ox, oy); }
        ctx.fill('evenodd');
      }
    });
    Object.keys(groups).forEach(function (col) {
      var list = groups[col];
      // a path of a few hundred features at a time: the rasteriser's work grows faster than the
      // path (every scanline crosses every edge of a path spanning the canvas)
      for (var a = 0; a < list.length; a += BATCH) {
        ctx.beginPath();
        for (j = a; j < Math.min(a + BATCH, list.length); j++) { pathOf(ctx, g, list[j], k, ox, oy); }
        if (style.alpha > 0) { ctx.globalAlpha = style.alpha * (style.dim ? style.dim(col) : 1); ctx.fillStyle = style.fillOf ? style.fillOf(col) : col; ctx.fill('evenodd'); }
        if (style.stroke) {
          ctx.globalAlpha = style.dim ? style.dim(col) : 1;
          ctx.strokeStyle = style.stroke === true ? col : style.stroke; ctx.lineWidth = style.width; ctx.setLineDash(style.dash || []);
          ctx.stroke();
        }
      }
    });
    ctx.setLineDash([]);
    var cols = Math.ceil(view.w / DOT) + 2, rows = Math.ceil(view.h / DOT) + 2;
    Object.keys(dots).forEach(function (col) {
      var list = dots[col], taken = new Uint8Array(cols * rows);  // one dot per DOT×DOT cell and colour
      ctx.globalAlpha = Math.max(style.alpha, 0.8) * (style.dim ? style.dim(col) : 1);
      ctx.fillStyle = style.fillOf ? style.fillOf(col) : col;
      for (j = 0; j < list.length; j++) {
        f = list[j];
        var x = Math.round((box[4 * f] + box[4 * f + 2]) / 2 * k - ox) - 1, y = Math.round((box[4 * f + 1] + box[4 * f + 3]) / 2 * k - oy) - 1;
        var cell = Math.floor(y / DOT + 1) * cols + Math.floor(x / DOT + 1);
        if (cell >= 0 && cell < taken.length) { if (taken[cell]) { continue; } taken[cell] = 1; }
        ctx.fillRect(x, y, DOT, DOT);
      }
    });
    ctx.globalAlpha = 1;
  }

  var Canvas = L.Layer.extend({
    onAdd: function (m) {
      this._c = L.DomUtil.create('canvas', 'landgis-canvas leaflet-zoom-animated');
      m.getPanes().overlayPane.appendChild(this._c);
      m.on('moveend zoomend viewreset resize', this.redraw, this);
      if (m.options.zoomAnimation && L.Browser.any3d) { m.on('zoomanim', this._anim, this); }
      this.redraw();
    },
    onRemove: function (m) {
      L.DomUtil.remove(this._c);
      m.off('moveend zoomend viewreset resize', this.redraw, this); m.off('zoomanim', this._anim, this);
    },
    _anim: function (e) {  // as L.ImageOverlay: the last drawing, scaled, while the zoom animates
      var scale = this._map.getZoomScale(e.zoom), offset = this._map._latLngToNewLayerPoint(this._topLeft, e.zoom, e.center);
      L.DomUtil.setTransform(this._c, offset, scale);
    },
    redraw: function () {
      var m = this._map; if (!m) { return; }
      if (building) { return; }  // drawn once the page is built, not for each layer switched on meanwhile
      var t = now(), size = m.getSize(), c = this._c, dpr = window.devicePixelRatio || 1;
      var padX = Math.round(size.x * PAD), padY = Math.round(size.y * PAD), w = size.x + 2 * padX, h = size.y + 2 * padY;
      var topLeft = m.containerPointToLayerPoint([-padX, -padY]);
      this._topLeft = m.layerPointToLatLng(topLeft);
      L.DomUtil.setPosition(c, topLeft);
      c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); c.style.width = w + 'px'; c.style.height = h + 'px';
      var ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      var k = m.getZoomScale(m.getZoom(), 0), origin = m.getPixelOrigin();
      var view = {k: k, ox: origin.x + topLeft.x, oy: origin.y + topLeft.y, w: w, h: h};
      view.x0 = view.ox / k; view.y0 = view.oy / k; view.x1 = (view.ox + w) / k; view.y1 = (view.oy + h) / k;
      this.view = view;
      drawAll(ctx, view);
      stats.ms = now() - t;
    }
  });

  function inView(g, view) { return g.grid.query(view.x0, view.y0, view.x1, view.y1); }
  function drawAll(ctx, view) {
    stats.layers = {};
    order.forEach(function (key) {
      var L2 = layers[key], kind = L2.spec.kind;
      if (kind === 'conflicts' || kind === 'admin' || kind === 'enterable') { return; }
      var count = {polys: 0, dots: 0};
      if (L2.on) {
        var style = styleOf(key);
        drawFeatures(ctx, L2.g, inView(L2.g, view), kind === 'zoning' ? function (f) { return zoningColour(L2, f); } : style.fill,
          kind === 'zoning' ? {alpha: style.alpha, stroke: style.stroke, width: style.width} : style, view, count);
      }
      stats.layers[key] = count.polys + count.dots;
    });
    var pc = {polys: 0, dots: 0};
    if (parcelsOn) {
      var dim = filterTown < 0 ? null : function (col) { return col.charAt(col.length - 1) === '-' ? 0.25 : 1; };
      drawFeatures(ctx, PG, inView(PG, view), function (f) {
        return verdictColour[verdictOf[f]] + (filterTown >= 0 && townOf[f] !== filterTown ? '-' : '');
      }, {alpha: 0.75, stroke: '#333', width: 0.6, dim: dim, fillOf: function (col) { return col.replace('-', ''); }}, view, pc);
    }
    stats.parcels_drawn = pc.polys; stats.parcel_dots = pc.dots; stats.layers.parcels = pc.polys + pc.dots;
    if (layers.conflicts) {
      var cc = {polys: 0, dots: 0};
      if (layers.conflicts.on) { drawFeatures(ctx, layers.conflicts.g, inView(layers.conflicts.g, view), '#111111', styleOf('conflicts'), view, cc); }
      stats.layers.conflicts = cc.polys + cc.dots;
    }
    if (layers.enterable) {  // the part that could enter after 调整宗地界线, outlined over its parcel
      var ec = {polys: 0, dots: 0}, E = layers.enterable;
      if (E.on) { drawFeatures(ctx, E.g, inView(E.g, view), E.spec.colour, {alpha: 0, stroke: true, width: 2.5, dash: [5, 3]}, view, ec); }
      stats.layers.enterable = ec.polys + ec.dots;
    }
    var lc = {polys: 0, dots: 0};
    if (legacyOn) {
      var leg = legacy.filter(function (f) {
        var b = PG.box;
        return b[4 * f + 2] >= view.x0 && b[4 * f] <= view.x1 && b[4 * f + 3] >= view.y0 && b[4 * f + 1] <= view.y1;
      });
      drawFeatures(ctx, PG, leg, '#6a3d9a', {alpha: 0, stroke: true, width: 3, dash: [6, 4]}, view, lc);
    }
    stats.layers.legacy = lc.polys + lc.dots;
    drawAdmin(ctx, view);
    if (highlighted !== null) {
      drawFeatures(ctx, PG, [highlighted], '#00e5ff', {alpha: 0, stroke: true, width: 4}, view, {polys: 0, dots: 0});
    }
  }

  // ------------------------------------------------------------ towns and villages
  var VILLAGE_ZOOM = 13;
  function drawAdmin(ctx, view) {
    var A = layers.admin, zoom = map.getZoom();
    if (A && A.on) {
      var fs = inView(A.g, view), town = [], village = [], county = [];
      fs.forEach(function (f) { var lv = A.level(f); (lv === 'village' ? village : lv === 'county' ? county : town).push(f); });
      var cnt = {polys: 0, dots: 0};
      drawFeatures(ctx, A.g, county, '#222222', {alpha: 0, stroke: true, width: 3}, view, cnt);
      drawFeatures(ctx, A.g, town, '#444444', {alpha: 0, stroke: true, width: 2, dash: [10, 4, 2, 4]}, view, cnt);
      if (zoom >= VILLAGE_ZOOM) { drawFeatures(ctx, A.g, village, '#777777', {alpha: 0, stroke: true, width: 1, dash: [4, 3]}, view, cnt); }
      stats.layers.admin = cnt.polys + cnt.dots;
    }
    stats.labels = [];
    if (!labelsOn) { return; }
    var placed = [];
    ctx.textAlign = 'center'; ctx.textBaseline = 'middle'; ctx.lineJoin = 'round';
    var big = document.body.classList.contains('lg-present') ? 1.4 : 1;
    (D.labels || []).forEach(function (lb) {
      var isTown = lb[1] !== 'village';
      if (!isTown && zoom < VILLAGE_ZOOM) { return; }
      var x = mercX(lb[2]) * view.k - view.ox, y = mercY(lb[3]) * view.k - view.oy;
      if (x < 0 || y < 0 || x > view.w || y > view.h) { return; }
      var size = Math.round((isTown ? 17 : 12) * big);
      ctx.font = (isTown ? 'bold ' : '') + size + 'px "Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif';
      var tw = ctx.measureText(lb[0]).width, box = [x - tw / 2 - 3, y - size / 2 - 2, x + tw / 2 + 3, y + size / 2 + 2];
      for (var j = 0; j < placed.length; j++) {
        var q = placed[j];
        if (box[0] < q[2] && box[2] > q[0] && box[1] < q[3] && box[3] > q[1]) { return; }  // no label over another
      }
      placed.push(box);
      ctx.lineWidth = 4; ctx.strokeStyle = 'rgba(255,255,255,0.9)'; ctx.strokeText(lb[0], x, y);
      ctx.fillStyle = isTown ? '#222' : '#444'; ctx.fillText(lb[0], x, y);
      stats.labels.push(lb[0]);
    });
  }

  var canvas = new Canvas(), building = true;
  canvas.addTo(map);
  function redraw() { if (!building) { canvas.redraw(); } }

  // layer switches for the layer control: each turns its drawing on or off
  function Switch(set) {
    return L.Layer.extend({onAdd: function () { set(true); redraw(); }, onRemove: function () { set(false); redraw(); }});
  }
  var overlays = {};
  order.forEach(function (key) {
    var L2 = layers[key];
    var sw = new (Switch(function (on) { L2.on = on; if (hint) { hint.update(); } if (key === 'zoning') { openZoningLegend(on); } }))();
    overlays[L2.spec.name] = sw;
    if (L2.on) { sw.addTo(map); }
  });
  var legacySwitch = new (Switch(function (on) { legacyOn = on; }))();
  overlays['历史遗留用地'] = legacySwitch; legacySwitch.addTo(map);
  var parcelSwitch = new (Switch(function (on) { parcelsOn = on; }))();
  overlays['入市地块（按筛查结论）'] = parcelSwitch; parcelSwitch.addTo(map);
  var labelSwitch = new (Switch(function (on) { labelsOn = on; }))();
  overlays['乡镇、村名称'] = labelSwitch; labelSwitch.addTo(map);
  L.control.layers(bases, overlays, {collapsed: false, position: 'topright'}).addTo(map);
  L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo(map);

  // ------------------------------------------------------------ parcels under the pointer
  function parcelAt(latlng) {
    if (!parcelsOn) { return null; }
    var p = map.project(latlng, 0), k = map.getZoomScale(map.getZoom(), 0), r = 4 / k;
    var fs = PG.grid.query(p.x - r, p.y - r, p.x + r, p.y + r), best = null, bestArea = Infinity, dot = null, dotDist = Infinity;
    for (var j = 0; j < fs.length; j++) {
      var f = fs[j], b = PG.box;
      var w = (b[4 * f + 2] - b[4 * f]) * k, h = (b[4 * f + 3] - b[4 * f + 1]) * k;
      if (w < DOT && h < DOT) {  // drawn as a dot: within a few pixels of it
        var d = Math.abs((b[4 * f] + b[4 * f + 2]) / 2 - p.x) + Math.abs((b[4 * f + 1] + b[4 * f + 3]) / 2 - p.y);
        if (d < dotDist) { dotDist = d; dot = f; }
        continue;
      }
      if (p.x < b[4 * f] || p.x > b[4 * f + 2] || p.y < b[4 * f + 1] || p.y > b[4 * f + 3]) { continue; }
      if (PG.contains(f, p.x, p.y) && w * h < bestArea) { best = f; bestArea = w * h; }
    }
    return best !== null ? best : dot;
  }
  var tip = L.tooltip({direction: 'top', offset: [0, -8], opacity: 0.95}), tipAt = null, pending = null;
  map.on('mousemove', function (e) {
    pending = e.latlng;
    if (pending && !tip._lgQueued) {
      tip._lgQueued = true;
      L.Util.requestAnimFrame(function () {
        tip._lgQueued = false;
        var f = parcelAt(pending);
        map.getContainer().style.cursor = f === null ? '' : 'pointer';
        if (f === null) { if (map.hasLayer(tip)) { map.closeTooltip(tip); } tipAt = null; return; }
        if (f !== tipAt) { tip.setContent(tooltipEl(f)); tipAt = f; }
        tip.setLatLng(pending);
        if (!map.hasLayer(tip)) { map.openTooltip(tip); }
      });
    }
  });
  map.on('mouseout', function () { if (map.hasLayer(tip)) { map.closeTooltip(tip); } tipAt = null; });
  map.on('click', function (e) {
    var f = parcelAt(e.latlng);
    if (f === null) { return; }
    L.popup({maxWidth: 440, maxHeight: 420, autoPanPadding: [20, 20]}).setLatLng(e.latlng).setContent(popupEl(f)).openOn(map);
  });

  function tooltipEl(i) {
    var d = el('div', 'lg-tip');
    add(d, el('b', null, P.id(i)));
    add(d, el('span', 'lg-v lg-v' + verdictOf[i], ' ' + D.verdicts[verdictOf[i]].name));
    add(d, el('div', null, P.owner(i)));
    add(d, el('div', null, P.m2(i) === null ? '面积不明' : fmt(mu(P.m2(i)), 4) + ' 亩'));
    return d;
  }
  function row(tbody, label, value) {
    var tr = add(tbody, el('tr'));
    add(tr, el('th', null, label));
    return add(tr, el('td', null, value));
  }
  function popupEl(i) {
    var d = el('div', 'lg-pop');
    add(d, el('div', 'lg-pop-title', P.id(i)));
    var verdict = add(d, el('div', 'lg-verdict lg-v' + verdictOf[i], D.verdicts[verdictOf[i]].name));
    verdict.style.borderColor = verdictColour[verdictOf[i]];
    var tb = add(add(d, el('table')), el('tbody'));
    row(tb, '宗地代码', P.id(i));
    row(tb, '权利人', P.owner(i));
    row(tb, '坐落', [P.town(i), P.village(i)].filter(Boolean).join(' '));
    row(tb, '面积', areaText(P.m2(i)));
    if (P.enterable) {
      var em = P.enterable(i);
      if (em !== null && P.m2(i) !== null && em < P.m2(i) - 0.005) { row(tb, '可入市部分', areaText(em) + '，调整宗地界线后'); }
    }
    row(tb, '规划用途', [P.use(i), D.use_names[P.use(i)] || ''].filter(Boolean).join(' '));
    if (P.survey(i)) { row(tb, '现状地类', P.survey(i)); }
    if (P.legacy(i)) { row(tb, '历史遗留', [P.legacy(i), P.legacy_basis(i)].filter(Boolean).join('：')); }
    var rids = P.reasons(i) ? P.reasons(i).split(';') : [];
    if (rids.length) {
      add(d, el('div', 'lg-sec', '筛查依据'));
      var ol = add(d, el('ol', 'lg-reasons'));
      rids.forEach(function (rid) {
        var li = add(ol, el('li'));
        var rule = D.rules[rid] || {};
        add(li, el('b', null, rid + ' ' + (rule.title_zh || (rid === 'GEOMETRY' ? '宗地图形无效，无法计算' : ''))));
        if (rule.text_zh) { add(li, el('div', 'lg-rule-text', '规则：' + rule.text_zh)); }
        if (rule.source) { add(li, el('div', 'lg-rule-src', '依据：' + rule.source)); }
      });
    } else {
      add(d, el('div', 'lg-sec', '未触发任何排除或附条件规则'));
    }
    var pieces = conflictsOf[i] || [];
    if (pieces.length) {
      add(d, el('div', 'lg-sec', '冲突范围'));
      pieces.forEach(function (c) {
        var rule = D.rules[c[0]] || {};
        add(d, el('div', null, c[0] + ' ' + (rule.title_zh || '') + '：' + fmt(c[1], 2) + ' 平方米'));
      });
    }
    if (P.notes(i)) { add(d, el('div', 'lg-notes', '提示：' + P.notes(i))); }
    return d;
  }

  // ------------------------------------------------------------ panels
  var Box = L.Control.extend({
    initialize: function (build, opts) { this.build = build; L.setOptions(this, opts); },
    onAdd: function () { var d = el('div', 'lg-box ' + (this.options.cls || '')); this.build(d); L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; }
  });
  new Box(function (d) {
    add(d, el('div', 'lg-title', D.title));
    var sub = [];
    if (D.profile) { sub.push('规则：' + D.profile); }
    if (sub.length) { add(d, el('div', 'lg-sub', sub.join('　'))); }
    var dates = [];
    if (D.data_date) { dates.push('数据日期：' + D.data_date); }
    if (D.map_date) { dates.push('制图日期：' + D.map_date); }
    add(d, el('div', 'lg-sub lg-dates', dates.join('　')));
    if (D.organisation) { add(d, el('div', 'lg-sub', '制图单位：' + D.organisation)); }
    var btn = add(d, el('button', 'lg-present-btn', '演示模式')); btn.type = 'button';
    btn.addEventListener('click', function () { present(!document.body.classList.contains('lg-present')); });
  }, {position: 'topleft', cls: 'lg-head'}).addTo(map);

  function present(on) {
    document.body.classList.toggle('lg-present', on);
    var btn = document.querySelector('.lg-present-btn');
    if (btn) { btn.textContent = on ? '退出演示' : '演示模式'; }
    var root = document.documentElement;
    try {
      if (on && root.requestFullscreen && !document.fullscreenElement) { root.requestFullscreen().catch(function () {}); }
      if (!on && document.fullscreenElement && document.exitFullscreen) { document.exitFullscreen().catch(function () {}); }
    } catch (err) { /* full screen refused (an iframe, a headless browser): large type all the same */ }
    map.invalidateSize(); redraw();
  }
  document.addEventListener('fullscreenchange', function () {
    if (!document.fullscreenElement && document.body.classList.contains('lg-present')) { present(false); }
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && document.body.classList.contains('lg-present')) { present(false); } });

  // statistics: parcels and 亩 by verdict, for the county or one town; 亩 by town as a bar chart
  var byTown = D.towns.map(function (t) { return {n: t.n, mu: t.mu, noArea: t.no_area, box: [Infinity, Infinity, -Infinity, -Infinity]}; });
  for (i = 0; i < NP; i++) {
    if (townOf[i] < 0) { continue; }
    var T = byTown[townOf[i]], bb = PG.box;
    if (bb[4 * i] !== Infinity) {
      T.box[0] = Math.min(T.box[0], bb[4 * i]); T.box[1] = Math.min(T.box[1], bb[4 * i + 1]);
      T.box[2] = Math.max(T.box[2], bb[4 * i + 2]); T.box[3] = Math.max(T.box[3], bb[4 * i + 3]);
    }
  }
  var statsBox = null;
  function fillStats(d) {
    d.textContent = '';
    var head = add(d, el('div', 'lg-h', filterTown < 0 ? '统计（全部地块）' : '统计：' + towns[filterTown]));
    if (filterTown >= 0) {
      var back = add(head, el('a', 'lg-back', '返回全部')); back.href = '#';
      back.addEventListener('click', function (e) { e.preventDefault(); chooseTown(-1); });
    }
    var tb = add(add(d, el('table', 'lg-stat')), el('tbody'));
    var hr = add(tb, el('tr')); add(hr, el('th', null, '结论')); add(hr, el('th', null, '宗数')); add(hr, el('th', null, '面积（亩）'));
    var totN = 0, totMu = 0, noArea = 0;
    D.verdicts.forEach(function (v, k) {
      var n = 0, m = 0;
      if (filterTown < 0) { n = v.n; m = v.mu; noArea += v.no_area || 0; } else { n = byTown[filterTown].n[k]; m = byTown[filterTown].mu[k]; }
      totN += n; totMu += m;
      var r = add(tb, el('tr'));
      var name = add(r, el('td')); var sw = add(name, el('span', 'lg-sw')); sw.style.background = v.colour; add(name, el('span', null, v.name));
      add(r, el('td', 'lg-num', fmt(n, 0))); add(r, el('td', 'lg-num', fmt(m, 2)));
    });
    var tr = add(tb, el('tr', 'lg-total')); add(tr, el('td', null, '合计')); add(tr, el('td', 'lg-num', fmt(totN, 0))); add(tr, el('td', 'lg-num', fmt(totMu, 2)));
    if (filterTown >= 0) { noArea = byTown[filterTown].noArea; }
    if (noArea) { add(d, el('div', 'lg-note', '其中 ' + fmt(noArea, 0) + ' 宗面积不明，未计入亩数')); }
    if (towns.length < 2 && filterTown < 0) { return; }
    add(d, el('div', 'lg-h', '各乡镇面积（亩，按结论）'));
    var chart = add(d, el('div', 'lg-chart'));
    var rank = towns.map(function (t, k) { return k; });  // largest first, as the data lists them
    var top = Math.max.apply(null, rank.map(function (k) { return byTown[k].mu[0] + byTown[k].mu[1] + byTown[k].mu[2]; }).concat([1e-9]));
    rank.forEach(function (k) {
      var T = byTown[k], total = T.mu[0] + T.mu[1] + T.mu[2];
      var bar = add(chart, el('div', 'lg-bar' + (k === filterTown ? ' lg-bar-on' : '')));
      bar.setAttribute('data-town', towns[k]); bar.title = '点击：缩放到' + towns[k] + '并统计';
      add(bar, el('span', 'lg-bar-name', towns[k]));
      var track = add(bar, el('span', 'lg-bar-track'));
      [0, 1, 2].forEach(function (v) {
        var seg = add(track, el('span', 'lg-bar-seg'));
        seg.style.width = (100 * T.mu[v] / top) + '%'; seg.style.background = verdictColour[v];
      });
      add(bar, el('span', 'lg-bar-val', fmt(total, 1)));
      bar.addEventListener('click', function () { chooseTown(k === filterTown ? -1 : k); });
    });
  }
  function chooseTown(k) {
    filterTown = k;
    if (k >= 0 && byTown[k].box[0] !== Infinity) {
      var b = byTown[k].box;
      map.fitBounds(L.latLngBounds(map.unproject([b[0], b[3]], 0), map.unproject([b[2], b[1]], 0)), {padding: [40, 40], animate: false});
    } else if (k < 0) { map.fitBounds(D.bounds, {padding: [20, 20], animate: false}); }
    fillStats(statsBox); redraw();
  }
  statsBox = null;
  new Box(function (d) { statsBox = d; fillStats(d); }, {position: 'topleft', cls: 'lg-stats'}).addTo(map);

  var zoningDetails = null;
  function openZoningLegend(on) { if (zoningDetails) { zoningDetails.style.display = on ? '' : 'none'; zoningDetails.open = on; } }
  new Box(function (d) {
    add(d, el('div', 'lg-h', '图例'));
    D.verdicts.forEach(function (v) {
      var r = add(d, el('div', 'lg-item'));
      var sw = add(r, el('span', 'lg-sw')); sw.style.background = v.colour;
      add(r, el('span', null, v.name + '　' + fmt(v.n, 0) + ' 宗，' + fmt(v.mu, 2) + ' 亩'
        + (v.data_only ? '（其中仅因数据缺失 ' + v.data_only + ' 宗）' : '')));
    });
    order.forEach(function (key) {
      var spec = layers[key].spec;
      if (spec.kind === 'zoning') { return; }
      var r = add(d, el('div', 'lg-item'));
      var sw = add(r, el('span', 'lg-sw'));
      if (spec.kind === 'enterable') {
        sw.style.background = 'transparent'; sw.style.border = '2px dashed ' + spec.colour;
        add(r, el('span', null, '可入市部分（调整宗地界线后，扣除永久基本农田、生态保护红线等不可入市部分）'));
        return;
      }
      if (spec.kind === 'admin') {
        sw.style.background = 'transparent'; sw.style.border = 'none'; sw.style.borderTop = '2px dashed #444'; sw.style.height = '0';
        add(r, el('span', null, '乡镇界线（放大后显示村界）'));
        return;
      }
      sw.style.background = spec.colour; sw.style.opacity = spec.kind === 'conflicts' ? 0.6 : 0.45;
      if (spec.key === 'udb') { sw.style.background = 'transparent'; sw.style.border = '2px dashed ' + spec.colour; }
      add(r, el('span', null, spec.name + (spec.kind === 'conflicts' ? '（地块与限制要素重叠部分）' : '')));
    });
    var lr = add(d, el('div', 'lg-item'));
    var lsw = add(lr, el('span', 'lg-sw')); lsw.style.border = '2px dashed #6a3d9a'; lsw.style.background = 'transparent';
    add(lr, el('span', null, '历史遗留用地'));
    order.forEach(function (key) {
      var spec = layers[key].spec;
      if (spec.kind !== 'zoning') { return; }
      zoningDetails = add(d, el('details', 'lg-zoning'));
      add(zoningDetails, el('summary', null, '规划用途（一级类）' + (spec.note ? '：' + spec.note : '')));
      Object.keys(spec.classes).forEach(function (k) {
        var r = add(zoningDetails, el('div', 'lg-item'));
        var sw = add(r, el('span', 'lg-sw')); sw.style.background = spec.classes[k][1];
        add(r, el('span', null, k + ' ' + spec.classes[k][0]));
      });
      openZoningLegend(layers[key].on);
    });
    if (D.not_drawn.length) {
      add(d, el('div', 'lg-note', D.not_drawn.length + ' 宗图形无效未绘制：' + D.not_drawn.slice(0, 5).join('、') + (D.not_drawn.length > 5 ? '…' : '')));
    }
    if ((D.labels || []).length && D.towns_from !== 'admin') {
      add(d, el('div', 'lg-note', '乡镇名称按地块坐落标注于其地块中部（' + (D.has_admin ? '行政区图层中无乡镇界线' : '无行政区图层，未绘界线') + '）'));
    }
    var about = add(d, el('details', 'lg-about'));
    add(about, el('summary', null, '坐标与精度'));
    var simplified = [];
    order.forEach(function (key) {
      var spec = layers[key].spec;
      if (spec.simplified_m && spec.simplified_m > 0.5) { simplified.push(spec.name + ' ' + spec.simplified_m + ' 米'); }
    });
    add(about, el('div', 'lg-note', '显示坐标系：WGS 84 经纬度 EPSG:4326（与 CGCS2000 相差厘米级，底图同此，无 GCJ-02 偏移）；' +
      '数据与面积：' + D.working_crs + '；地块与冲突范围显示时简化 0.5 米' +
      (simplified.length ? '，' + simplified.join('、') : '') + '；面积以筛查成果表为准。'));
  }, {position: 'bottomright', cls: 'lg-legend'}).addTo(map);

  // printing: the sheet is another size than the window; the view printed is the view shown
  var shownBounds = null;
  function toPrint() {
    if (shownBounds) { return; }
    shownBounds = map.getBounds(); map.invalidateSize({animate: false}); map.fitBounds(shownBounds, {animate: false});
  }
  function fromPrint() {
    if (!shownBounds) { return; }
    var b = shownBounds; shownBounds = null; map.invalidateSize({animate: false}); map.fitBounds(b, {animate: false});
  }
  window.addEventListener('beforeprint', toPrint);
  window.addEventListener('afterprint', fromPrint);
  if (window.matchMedia) {
    var printing = window.matchMedia('print');
    var onPrint = function (e) { if (e.matches) { toPrint(); } else { fromPrint(); } };
    if (printing.addEventListener) { printing.addEventListener('change', onPrint); } else if (printing.addListener) { printing.addListener(onPrint); }
  }

  // north arrow: the page is Web Mercator, north up
  new Box(function (d) {
    var NS = 'http://www.w3.org/2000/svg', svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 40 56'); svg.setAttribute('width', '30'); svg.setAttribute('height', '42');
    var left = document.createElementNS(NS, 'path'); left.setAttribute('d', 'M20 18 L8 52 L20 44 Z'); left.setAttribute('fill', '#222');
    var right = document.createElementNS(NS, 'path'); right.setAttribute('d', 'M20 18 L32 52 L20 44 Z'); right.setAttribute('fill', '#fff');
    right.setAttribute('stroke', '#222');
    var n = document.createElementNS(NS, 'text'); n.setAttribute('x', '20'); n.setAttribute('y', '14'); n.setAttribute('text-anchor', 'middle');
    n.setAttribute('font-size', '14'); n.setAttribute('font-weight', 'bold'); n.textContent = '北';
    svg.appendChild(n); svg.appendChild(left); svg.appendChild(right); d.appendChild(svg);
  }, {position: 'bottomleft', cls: 'lg-north'}).addTo(map);

  hint = new Box(function (d) { this.d = d; d.style.display = 'none'; }, {position: 'bottomleft', cls: 'lg-hint'});
  hint.update = function () {
    if (!this.d) { return; }
    var msg = [];
    Object.keys(baseTrouble).forEach(function (name) {
      if (map.hasLayer(bases[name])) {
        msg.push('底图“' + name + '”无法加载（离线或网络不通）；地块与各图层照常显示，可在右上角改选“无底图”');
      }
    });
    this.d.textContent = msg.join('；');
    this.d.style.display = msg.length ? '' : 'none';
  };
  hint.addTo(map);
  hint.update();

  function showParcel(id) { return byId[id] === undefined ? false : showIndex(byId[id]); }
  function showIndex(f) {
    var b = PG.box;
    var bounds = L.latLngBounds(map.unproject([b[4 * f], b[4 * f + 3]], 0), map.unproject([b[4 * f + 2], b[4 * f + 1]], 0));
    map.fitBounds(bounds, {maxZoom: 18, padding: [60, 60], animate: false});
    highlighted = f; redraw();
    L.popup({maxWidth: 440, maxHeight: 420}).setLatLng(bounds.getCenter()).setContent(popupEl(f)).openOn(map);
    return true;
  }
  new Box(function (d) {
    var input = add(d, el('input', 'lg-search'));
    input.type = 'search'; input.placeholder = '搜索宗地代码'; input.setAttribute('aria-label', '搜索宗地代码');
    var list = add(d, el('div', 'lg-results'));
    function run() {
      var q = input.value.trim();
      list.textContent = '';
      if (!q) { return; }
      if (idCount[q] === 1 && showParcel(q)) { return; }  // an id several parcels share: each listed
      if (D.not_drawn.indexOf(q) >= 0) { add(list, el('div', 'lg-none', q + '：图形无效，未绘制')); return; }
      var hits = [];
      for (var k = 0; k < NP && hits.length < 20; k++) { if (PID[k].indexOf(q) >= 0) { hits.push(k); } }
      if (!hits.length) { add(list, el('div', 'lg-none', '未找到：' + q)); return; }
      hits.forEach(function (k) {
        var a = add(list, el('div', 'lg-hit', PID[k] + ' ' + P.owner(k)));
        a.addEventListener('click', function () { input.value = PID[k]; list.textContent = ''; showIndex(k); });
      });
    }
    input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { run(); } });
    var btn = add(d, el('button', 'lg-btn', '查找')); btn.type = 'button';
    btn.addEventListener('click', run);
  }, {position: 'topright', cls: 'lg-searchbox'}).addTo(map);

  // ------------------------------------------------------------ report
  building = false;
  canvas.redraw();
  var firstDrawMs = now() - t0;
  window.landgis = {
    map: map, showParcel: showParcel, index: function (id) { return byId[id]; }, chooseTown: function (name) { chooseTown(name === null ? -1 : towns.indexOf(name)); },
    present: present, parcelAt: function (lat, lng) { var f = parcelAt(L.latLng(lat, lng)); return f === null ? null : PID[f]; },
    geometry: function (key, f) { return (key === 'parcels' ? PG : layers[key].g).latlngs(f); },
    conflictParcel: function (k) { return layers.conflicts.parcel(k); },
    stats: function () { return JSON.parse(JSON.stringify(stats)); },
    vertices: PG.vertices, firstDrawMs: firstDrawMs, parcels: NP, ready: true
  };
  document.documentElement.setAttribute('data-landgis-ready', '1');
}());
