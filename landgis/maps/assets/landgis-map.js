/* landgis map page. Every attribute value goes into the page through textContent only. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('landgis-data').textContent);
  var t0 = (window.performance && performance.now) ? performance.now() : 0;
  // a repetitive column comes as its distinct texts and a number per row: {v: [...], c: [...]}
  function cols(obj) {
    Object.keys(obj).forEach(function (k) {
      var x = obj[k];
      if (x && !Array.isArray(x) && Array.isArray(x.c) && Array.isArray(x.v)) {
        var out = new Array(x.c.length);
        for (var i = 0; i < x.c.length; i++) { out[i] = x.v[x.c[i]]; }
        obj[k] = out;
      }
    });
  }
  cols(D.parcels);
  D.layers.forEach(cols);

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

  function decodeRing(s, box) {
    var pts = [], i = 0, n = s.length, x = 0, y = 0;
    function next() {
      var shift = 0, result = 0, b;
      do { b = s.charCodeAt(i++) - 63; result += (b & 31) * Math.pow(2, shift); shift += 5; } while (b >= 32 && i <= n);
      return (result % 2) ? -(result + 1) / 2 : result / 2;
    }
    while (i < n) {
      x += next(); y += next();
      var lng = x / 1e6, lat = y / 1e6;
      pts.push([lat, lng]);
      if (lat < box[0]) { box[0] = lat; } if (lng < box[1]) { box[1] = lng; }
      if (lat > box[2]) { box[2] = lat; } if (lng > box[3]) { box[3] = lng; }
    }
    return pts;
  }
  // "ring ring!ring" → [[ring, hole], [ring]] and its bbox [minLat, minLng, maxLat, maxLng]
  // shared(k): the [geometry, bbox] a line "=" stands for (a conflict piece that is its parcel)
  function decodeAll(strings, shared) {
    if (typeof strings === 'string') { strings = strings ? strings.split('\n') : []; }  // one per line
    var geoms = new Array(strings.length), boxes = new Array(strings.length);
    for (var k = 0; k < strings.length; k++) {
      if (shared && strings[k] === '=') { var same = shared(k); geoms[k] = same[0]; boxes[k] = same[1]; continue; }
      var box = [Infinity, Infinity, -Infinity, -Infinity];
      var polys = strings[k] ? strings[k].split('!') : [];
      var out = [];
      for (var p = 0; p < polys.length; p++) {
        var rings = polys[p].split(' '), rr = [];
        for (var r = 0; r < rings.length; r++) { rr.push(decodeRing(rings[r], box)); }
        out.push(rr);
      }
      geoms[k] = out; boxes[k] = box;
    }
    return {geoms: geoms, boxes: boxes};
  }

  // A uniform grid over feature boxes: which features may be in a view.
  function GridIndex(boxes) {
    var b = [Infinity, Infinity, -Infinity, -Infinity], i;
    for (i = 0; i < boxes.length; i++) {
      if (boxes[i][0] === Infinity) { continue; }
      b[0] = Math.min(b[0], boxes[i][0]); b[1] = Math.min(b[1], boxes[i][1]);
      b[2] = Math.max(b[2], boxes[i][2]); b[3] = Math.max(b[3], boxes[i][3]);
    }
    var n = Math.max(1, Math.min(256, Math.ceil(Math.sqrt(boxes.length / 8))));
    this.n = n; this.b = b; this.boxes = boxes;
    this.dy = Math.max((b[2] - b[0]) / n, 1e-9); this.dx = Math.max((b[3] - b[1]) / n, 1e-9);
    this.cells = new Array(n * n);
    this.stamp = new Int32Array(boxes.length); this.tick = 0;
    for (i = 0; i < boxes.length; i++) {
      if (boxes[i][0] === Infinity) { continue; }
      var r0 = this.row(boxes[i][0]), r1 = this.row(boxes[i][2]), c0 = this.col(boxes[i][1]), c1 = this.col(boxes[i][3]);
      for (var r = r0; r <= r1; r++) {
        for (var c = c0; c <= c1; c++) { (this.cells[r * n + c] = this.cells[r * n + c] || []).push(i); }
      }
    }
  }
  GridIndex.prototype.row = function (lat) { return Math.max(0, Math.min(this.n - 1, Math.floor((lat - this.b[0]) / this.dy))); };
  GridIndex.prototype.col = function (lng) { return Math.max(0, Math.min(this.n - 1, Math.floor((lng - this.b[1]) / this.dx))); };
  GridIndex.prototype.query = function (bounds) {
    var s = bounds.getSouth(), w = bounds.getWest(), nn = bounds.getNorth(), e = bounds.getEast();
    var out = [];
    if (nn < this.b[0] || s > this.b[2] || e < this.b[1] || w > this.b[3]) { return out; }
    this.tick++;
    var r0 = this.row(s), r1 = this.row(nn), c0 = this.col(w), c1 = this.col(e);
    for (var r = r0; r <= r1; r++) {
      for (var c = c0; c <= c1; c++) {
        var cell = this.cells[r * this.n + c];
        if (!cell) { continue; }
        for (var k = 0; k < cell.length; k++) {
          var i = cell[k], bx = this.boxes[i];
          if (this.stamp[i] === this.tick) { continue; }
          this.stamp[i] = this.tick;
          if (bx[2] < s || bx[0] > nn || bx[3] < w || bx[1] > e) { continue; }
          out.push(i);
        }
      }
    }
    return out;
  };

  // ------------------------------------------------------------ map
  var map = L.map('map', {preferCanvas: true, zoomControl: true, attributionControl: true, maxZoom: 20});
  map.attributionControl.setPrefix('Leaflet');
  // three canvases: constraints below the parcels, conflict pieces and outlines above; only parcels take the mouse
  map.createPane('lg-below').style.zIndex = 350;
  map.createPane('lg-above').style.zIndex = 450;
  map.getPane('lg-below').style.pointerEvents = 'none';
  map.getPane('lg-above').style.pointerEvents = 'none';
  var renderer = L.canvas({padding: 0.3, tolerance: 2});
  var below = L.canvas({padding: 0.3, pane: 'lg-below'});
  var above = L.canvas({padding: 0.3, pane: 'lg-above'});
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

  // ------------------------------------------------------------ lazy feature layers
  var stats = {parcels_drawn: 0, parcel_dots: 0, layers: {}};

  // Dots: one canvas, one 3-px square per feature (the county overview).
  var Dots = L.Layer.extend({
    initialize: function (feat, colourOf) { this.f = feat; this.colourOf = colourOf; },
    onAdd: function (m) {
      this._c = L.DomUtil.create('canvas', 'landgis-dots');
      m.getPanes().overlayPane.appendChild(this._c);
      m.on('moveend', this.draw, this); m.on('zoomstart', this.hide, this);
      this.draw();
    },
    onRemove: function (m) {
      L.DomUtil.remove(this._c); m.off('moveend', this.draw, this); m.off('zoomstart', this.hide, this);
      stats.parcel_dots = 0;
    },
    hide: function () { this._c.style.visibility = 'hidden'; },
    draw: function () {
      var m = this._map, size = m.getSize(), c = this._c;
      c.width = size.x; c.height = size.y; c.style.visibility = 'visible';
      L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
      var ctx = c.getContext('2d'), ids = this.f.index.query(m.getBounds()), byColour = {}, i;
      for (i = 0; i < ids.length; i++) { var col = this.colourOf(ids[i]); (byColour[col] = byColour[col] || []).push(ids[i]); }
      var n = 0;
      for (var colour in byColour) {
        ctx.fillStyle = colour;
        var list = byColour[colour];
        for (i = 0; i < list.length; i++) {
          var b = this.f.boxes[list[i]];
          var p = m.latLngToContainerPoint([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]);
          ctx.fillRect(Math.round(p.x) - 1, Math.round(p.y) - 1, 3, 3); n++;
        }
      }
      stats.parcel_dots = n;
    }
  });

  // Draws the features in view as polygons while there are at most `limit` of them.
  var Lazy = L.Layer.extend({
    initialize: function (feat, opts) {
      this.f = feat; this.o = opts; this.shown = {}; this.group = L.layerGroup();
      this.dots = opts.dots ? new Dots(feat, opts.dotColour) : null;
      stats.layers[opts.key] = 0;
    },
    onAdd: function (m) {
      this.group.addTo(m); m.on('moveend', this.update, this); this.update();
    },
    onRemove: function (m) {
      m.off('moveend', this.update, this); m.removeLayer(this.group); this.shown = {};
      this.group.clearLayers();
      if (this.dots && m.hasLayer(this.dots)) { m.removeLayer(this.dots); }
      stats.layers[this.o.key] = 0; if (this.o.key === 'parcels') { stats.parcels_drawn = 0; }
      if (hint) { hint.update(); }
    },
    update: function () {
      var m = this._map; if (!m) { return; }
      var ids = this.f.index.query(m.getBounds().pad(0.3)), i;
      var tooMany = ids.length > D.detail_limit;
      var want = {};
      if (!tooMany) { for (i = 0; i < ids.length; i++) { want[ids[i]] = true; } }
      for (var k in this.shown) {
        if (!want[k]) { this.group.removeLayer(this.shown[k]); delete this.shown[k]; }
      }
      for (i = 0; !tooMany && i < ids.length; i++) {
        if (!this.shown[ids[i]]) { var lyr = this.o.make(ids[i]); this.shown[ids[i]] = lyr; this.group.addLayer(lyr); }
      }
      if (this.dots) {
        if (tooMany && !m.hasLayer(this.dots)) { this.dots.addTo(m); }
        if (!tooMany && m.hasLayer(this.dots)) { m.removeLayer(this.dots); }
      }
      this.tooMany = tooMany;
      var n = Object.keys(this.shown).length;
      stats.layers[this.o.key] = n; if (this.o.key === 'parcels') { stats.parcels_drawn = n; }
      if (hint) { hint.update(); }
    }
  });

  // ------------------------------------------------------------ parcels
  var P = D.parcels, pf = decodeAll(P.g);
  pf.index = new GridIndex(pf.boxes);
  var byId = {};
  for (var i = 0; i < P.id.length; i++) { byId[P.id[i]] = i; }
  var verdictColour = D.verdicts.map(function (v) { return v.colour; });
  var conflictsOf = {};
  D.layers.forEach(function (spec) {
    if (spec.kind !== 'conflicts') { return; }
    for (var k = 0; k < spec.parcel.length; k++) {
      if (spec.parcel[k] < 0) { continue; }  // its parcel is not drawn: no popup lists it
      var id = P.id[spec.parcel[k]];
      (conflictsOf[id] = conflictsOf[id] || []).push([spec.rule[k], spec.m2[k]]);
    }
  });

  function tooltipEl(i) {
    var d = el('div', 'lg-tip');
    add(d, el('b', null, P.id[i]));
    add(d, el('span', 'lg-v lg-v' + P.v[i], ' ' + D.verdicts[P.v[i]].name));
    add(d, el('div', null, P.owner[i]));
    add(d, el('div', null, fmt(P.mu[i], 4) + ' 亩'));
    return d;
  }
  function row(tbody, label, value) {
    var tr = add(tbody, el('tr'));
    add(tr, el('th', null, label));
    return add(tr, el('td', null, value));
  }
  function popupEl(i) {
    var d = el('div', 'lg-pop');
    add(d, el('div', 'lg-pop-title', P.id[i]));
    var verdict = add(d, el('div', 'lg-verdict lg-v' + P.v[i], D.verdicts[P.v[i]].name));
    verdict.style.borderColor = verdictColour[P.v[i]];
    var tb = add(add(d, el('table')), el('tbody'));
    row(tb, '宗地代码', P.id[i]);
    row(tb, '权利人', P.owner[i]);
    row(tb, '坐落', [P.town[i], P.village[i]].filter(Boolean).join(' '));
    row(tb, '面积', fmt(P.m2[i], 2) + ' 平方米（' + fmt(P.mu[i], 4) + ' 亩）');
    row(tb, '规划用途', [P.use[i], P.use_name[i]].filter(Boolean).join(' '));
    if (P.survey[i]) { row(tb, '现状地类', P.survey[i]); }
    if (P.legacy[i]) { row(tb, '历史遗留', [P.legacy[i], P.legacy_basis[i]].filter(Boolean).join('：')); }
    var ids = P.reasons[i] ? P.reasons[i].split(';') : [];
    if (ids.length) {
      add(d, el('div', 'lg-sec', '筛查依据'));
      var ol = add(d, el('ol', 'lg-reasons'));
      ids.forEach(function (rid) {
        var li = add(ol, el('li'));
        var rule = D.rules[rid] || {};
        add(li, el('b', null, rid + ' ' + (rule.title_zh || (rid === 'GEOMETRY' ? '宗地图形无效，无法计算' : ''))));
        if (rule.text_zh) { add(li, el('div', 'lg-rule-text', '规则：' + rule.text_zh)); }
        if (rule.source) { add(li, el('div', 'lg-rule-src', '依据：' + rule.source)); }
      });
    } else {
      add(d, el('div', 'lg-sec', '未触发任何排除或附条件规则'));
    }
    var pieces = conflictsOf[P.id[i]] || [];
    if (pieces.length) {
      add(d, el('div', 'lg-sec', '冲突范围'));
      pieces.forEach(function (c) {
        var rule = D.rules[c[0]] || {};
        add(d, el('div', null, c[0] + ' ' + (rule.title_zh || '') + '：' + fmt(c[1], 2) + ' 平方米'));
      });
    }
    if (P.notes[i]) { add(d, el('div', 'lg-notes', '提示：' + P.notes[i])); }
    return d;
  }
  function parcelStyle(i) {
    return {renderer: renderer, color: '#333', weight: 1, fillColor: verdictColour[P.v[i]], fillOpacity: 0.75};
  }
  var parcelLayer = new Lazy(pf, {
    key: 'parcels', dots: true, dotColour: function (i) { return verdictColour[P.v[i]]; },
    make: function (i) {
      var lyr = L.polygon(pf.geoms[i], parcelStyle(i));
      lyr.bindTooltip(function () { return tooltipEl(i); }, {sticky: true, direction: 'top'});
      lyr.bindPopup(function () { return popupEl(i); }, {maxWidth: 440, maxHeight: 420, autoPanPadding: [20, 20]});
      return lyr;
    }
  });

  var legacyIdx = [];
  for (i = 0; i < P.legacy.length; i++) { if (P.legacy[i]) { legacyIdx.push(i); } }
  var lf = {geoms: legacyIdx.map(function (k) { return pf.geoms[k]; }), boxes: legacyIdx.map(function (k) { return pf.boxes[k]; })};
  lf.index = new GridIndex(lf.boxes);
  var legacyLayer = new Lazy(lf, {
    key: 'legacy',
    make: function (j) {
      var k = legacyIdx[j];
      return L.polygon(lf.geoms[j], {renderer: above, color: '#6a3d9a', weight: 3, dashArray: '6 4', fill: false,
                                     interactive: false});
    }
  });

  // ------------------------------------------------------------ constraint layers
  var overlays = {}, legendItems = [];
  D.layers.forEach(function (spec) {
    var f = decodeAll(spec.g, spec.kind !== 'conflicts' ? null : function (k) {
      return [pf.geoms[spec.parcel[k]], pf.boxes[spec.parcel[k]]];
    });
    f.index = new GridIndex(f.boxes);
    var lyr = new Lazy(f, {
      key: spec.key,
      make: function (j) {
        var style = {renderer: below, weight: 1, fillOpacity: 0.3, interactive: false};
        if (spec.kind === 'zoning') {
          var cls = spec.classes[spec.code[j].slice(0, 2)] || spec.other;
          style.color = '#888'; style.weight = 0.5; style.fillColor = cls[1]; style.fillOpacity = 0.55;
        } else if (spec.kind === 'conflicts') {
          style.renderer = above; style.color = spec.colour; style.fillColor = spec.colour; style.fillOpacity = 0.5;
          style.weight = 0.8;
        } else {
          style.color = spec.colour; style.fillColor = spec.colour;
          if (spec.key === 'udb') { style.fillOpacity = 0.08; style.weight = 2; style.dashArray = '8 4'; }
        }
        var poly = L.polygon(f.geoms[j], style);
        return poly;
      }
    });
    overlays[spec.name] = lyr;
    if (spec.show) { lyr.addTo(map); }
    legendItems.push(spec);
  });
  overlays['历史遗留用地'] = legacyLayer;
  legacyLayer.addTo(map);
  overlays['入市地块（按筛查结论）'] = parcelLayer;
  parcelLayer.addTo(map);
  L.control.layers(bases, overlays, {collapsed: false, position: 'topright'}).addTo(map);
  L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo(map);

  // ------------------------------------------------------------ title, legend, hint, search
  var Box = L.Control.extend({
    initialize: function (build, opts) { this.build = build; L.setOptions(this, opts); },
    onAdd: function () { var d = el('div', 'lg-box ' + (this.options.cls || '')); this.build(d); L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; }
  });
  new Box(function (d) {
    add(d, el('div', 'lg-title', D.title));
    var sub = [];
    if (D.profile) { sub.push('规则：' + D.profile); }
    if (D.data_date) { sub.push('数据日期：' + D.data_date); }
    if (sub.length) { add(d, el('div', 'lg-sub', sub.join('　'))); }
  }, {position: 'topleft', cls: 'lg-head'}).addTo(map);

  new Box(function (d) {
    add(d, el('div', 'lg-h', '筛查结论'));
    D.verdicts.forEach(function (v) {
      var r = add(d, el('div', 'lg-item'));
      var sw = add(r, el('span', 'lg-sw')); sw.style.background = v.colour;
      add(r, el('span', null, v.name + '　' + v.n + ' 宗，' + fmt(v.mu, 2) + ' 亩'
        + (v.data_only ? '（其中仅因数据缺失 ' + v.data_only + ' 宗）' : '')));
    });
    add(d, el('div', 'lg-h', '图层'));
    legendItems.forEach(function (spec) {
      if (spec.kind === 'zoning') { return; }
      var r = add(d, el('div', 'lg-item'));
      var sw = add(r, el('span', 'lg-sw'));
      sw.style.background = spec.colour; sw.style.opacity = spec.kind === 'conflicts' ? 0.6 : 0.45;
      if (spec.key === 'udb') { sw.style.background = 'transparent'; sw.style.border = '2px dashed ' + spec.colour; }
      add(r, el('span', null, spec.name + (spec.kind === 'conflicts' ? '（地块与限制要素重叠部分）' : '')));
    });
    var lr = add(d, el('div', 'lg-item'));
    var lsw = add(lr, el('span', 'lg-sw')); lsw.style.border = '2px dashed #6a3d9a'; lsw.style.background = 'transparent';
    add(lr, el('span', null, '历史遗留用地'));
    D.layers.forEach(function (spec) {
      if (spec.kind !== 'zoning') { return; }
      var det = add(d, el('details', 'lg-zoning'));
      add(det, el('summary', null, '规划用途（一级类）'));
      Object.keys(spec.classes).forEach(function (k) {
        var r = add(det, el('div', 'lg-item'));
        var sw = add(r, el('span', 'lg-sw')); sw.style.background = spec.classes[k][1];
        add(r, el('span', null, k + ' ' + spec.classes[k][0]));
      });
    });
    if (D.not_drawn.length) {
      add(d, el('div', 'lg-note', D.not_drawn.length + ' 宗图形无效未绘制：' + D.not_drawn.slice(0, 5).join('、') + (D.not_drawn.length > 5 ? '…' : '')));
    }
    add(d, el('div', 'lg-note', '显示坐标系：WGS 84 经纬度 EPSG:4326（与 CGCS2000 相差厘米级，底图同此，无 GCJ-02 偏移）；' +
      '数据与面积：' + D.working_crs + '；显示时简化 0.5 米。'));
  }, {position: 'bottomright', cls: 'lg-legend'}).addTo(map);

  hint = new Box(function (d) { this.d = d; d.style.display = 'none'; }, {position: 'bottomleft', cls: 'lg-hint'});
  hint.update = function () {
    if (!this.d) { return; }
    var over = parcelLayer.tooMany && map.hasLayer(parcelLayer);
    var waiting = [];
    Object.keys(overlays).forEach(function (name) {
      var l = overlays[name]; if (l !== parcelLayer && map.hasLayer(l) && l.tooMany) { waiting.push(name); }
    });
    var msg = [];
    Object.keys(baseTrouble).forEach(function (name) {
      if (map.hasLayer(bases[name])) {
        msg.push('底图“' + name + '”无法加载（离线或网络不通）；地块与各图层照常显示，可在右上角改选“无底图”');
      }
    });
    if (over) { msg.push('视图内地块过多，以点显示；放大后显示地块边界并可点击查询'); }
    if (waiting.length) { msg.push(waiting.join('、') + '：放大后显示'); }
    this.d.textContent = msg.join('；');
    this.d.style.display = msg.length ? '' : 'none';
  };
  hint.addTo(map);
  hint.update();

  var highlight = null;
  function showParcel(id) {
    var i = byId[id];
    if (i === undefined) { return false; }
    var b = pf.boxes[i];
    var bounds = L.latLngBounds([b[0], b[1]], [b[2], b[3]]);
    map.fitBounds(bounds, {maxZoom: 18, padding: [60, 60], animate: false});
    if (highlight) { map.removeLayer(highlight); }
    highlight = L.polygon(pf.geoms[i], {renderer: above, color: '#00e5ff', weight: 4, fill: false, interactive: false}).addTo(map);
    L.popup({maxWidth: 440, maxHeight: 420}).setLatLng(bounds.getCenter()).setContent(popupEl(i)).openOn(map);
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
      if (showParcel(q)) { return; }
      if (D.not_drawn.indexOf(q) >= 0) { add(list, el('div', 'lg-none', q + '：图形无效，未绘制')); return; }
      var hits = [];
      for (var k = 0; k < P.id.length && hits.length < 20; k++) { if (P.id[k].indexOf(q) >= 0) { hits.push(k); } }
      if (!hits.length) { add(list, el('div', 'lg-none', '未找到：' + q)); return; }
      hits.forEach(function (k) {
        var a = add(list, el('div', 'lg-hit', P.id[k] + ' ' + P.owner[k]));
        a.addEventListener('click', function () { input.value = P.id[k]; list.textContent = ''; showParcel(P.id[k]); });
      });
    }
    input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { run(); } });
    var btn = add(d, el('button', 'lg-btn', '查找')); btn.type = 'button';
    btn.addEventListener('click', run);
  }, {position: 'topleft', cls: 'lg-searchbox'}).addTo(map);

  // ------------------------------------------------------------ report
  var firstDrawMs = ((window.performance && performance.now) ? performance.now() : 0) - t0;
  window.landgis = {
    map: map, showParcel: showParcel, stats: function () { return JSON.parse(JSON.stringify(stats)); },
    firstDrawMs: firstDrawMs, parcels: P.id.length, ready: true
  };
  document.documentElement.setAttribute('data-landgis-ready', '1');
}());
