// Score histogram (SVG) with the proposed thresholds drawn as lines that can be dragged with the
// pointer or moved with the keyboard (each handle is a slider). Bars are coloured by the outcome
// of each score under the proposed thresholds, as the server judged it (`setData`): the threshold
// rule lives on the server only. Emits `change` with {reject, review}.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
const HEIGHT = 240;
const MARGIN = { left: 44, right: 14, top: 26, bottom: 30 };
const BINS = 40;

function svg(tag, attributes = {}, children = []) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) element.append(child);
  return element;
}

/** Round-number ticks covering [low, high]. */
function ticks(low, high, count = 6) {
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) || raw;
  const values = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) values.push(Number(value.toPrecision(12)));
  return values;
}

export class Histogram extends EventTarget {
  constructor(container, texts) {
    super();
    this.texts = texts;
    this.scores = [];
    this.outcomes = []; // the outcome of each score, from POST /api/v1/thresholds/classify
    this.proposed = { reject: 1, review: null };
    this.current = null;
    this.domain = [0, 1];
    this.editable = false;
    this.root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'group' });
    this.bars = svg('g');
    this.axis = svg('g');
    this.currentLines = svg('g');
    this.handles = {
      review: this.makeHandle('review', texts.t('thr.handleReview')),
      reject: this.makeHandle('reject', texts.t('thr.handleReject')),
    };
    this.root.append(this.bars, this.axis, this.currentLines, this.handles.review.group, this.handles.reject.group);
    container.replaceChildren(this.root);
  }

  // -- data ---------------------------------------------------------------------------------
  /** Finite scores and, index for index, their outcomes under the proposed thresholds. */
  setData(scores, outcomes) {
    this.scores = scores;
    this.outcomes = outcomes;
    this.fitDomain();
    this.draw();
  }

  setCurrent(thresholds) {
    this.current = thresholds;
    this.fitDomain();
    this.draw();
  }

  setThresholds(thresholds) {
    this.proposed = { ...thresholds };
    const [low, high] = this.domain;
    const values = [thresholds.reject, thresholds.review].filter((value) => value !== null && Number.isFinite(value));
    if (values.some((value) => value < low || value > high)) this.fitDomain();
    this.draw();
  }

  setEditable(editable) {
    this.editable = editable;
    this.draw();
  }

  fitDomain() {
    const values = [...this.scores];
    for (const thresholds of [this.current, this.proposed]) {
      if (!thresholds) continue;
      for (const value of [thresholds.reject, thresholds.review]) if (value !== null && Number.isFinite(value)) values.push(value);
    }
    if (!values.length) return;
    let low = Math.min(...values);
    let high = Math.max(...values);
    const pad = (high - low || Math.abs(high) || 1) * 0.08;
    low = low >= 0 && low - pad < 0 ? 0 : low - pad;
    high += pad;
    this.domain = [low, high];
  }

  get step() {
    const raw = (this.domain[1] - this.domain[0]) / 200;
    return 10 ** Math.floor(Math.log10(raw));
  }

  round(value) {
    const decimals = Math.max(0, -Math.floor(Math.log10(this.step)));
    return Number(value.toFixed(decimals));
  }

  x(value) {
    const [low, high] = this.domain;
    return MARGIN.left + ((value - low) / (high - low)) * (WIDTH - MARGIN.left - MARGIN.right);
  }

  valueAt(x) {
    const [low, high] = this.domain;
    return low + ((x - MARGIN.left) / (WIDTH - MARGIN.left - MARGIN.right)) * (high - low);
  }

  // -- drawing ------------------------------------------------------------------------------
  draw() {
    this.drawBars();
    this.drawCurrent();
    for (const [name, handle] of Object.entries(this.handles)) this.placeHandle(name, handle);
  }

  drawBars() {
    const [low, high] = this.domain;
    const width = (high - low) / BINS;
    const bins = Array.from({ length: BINS }, () => ({ pass: 0, review: 0, reject: 0 }));
    this.scores.forEach((score, i) => {
      const index = Math.min(BINS - 1, Math.max(0, Math.floor((score - low) / width)));
      bins[index][this.outcomes[i]] += 1;
    });
    const tallest = Math.max(1, ...bins.map((bin) => bin.pass + bin.review + bin.reject));
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const bars = [];
    bins.forEach((bin, index) => {
      let y = HEIGHT - MARGIN.bottom;
      const x0 = this.x(low + index * width) + 0.5;
      const barWidth = Math.max(1, this.x(low + (index + 1) * width) - x0 - 1);
      for (const outcome of ['pass', 'review', 'reject']) {
        if (!bin[outcome]) continue;
        const h = (bin[outcome] / tallest) * plotHeight;
        y -= h;
        bars.push(svg('rect', { class: `bar-${outcome}`, x: x0, y, width: barWidth, height: h }));
      }
    });
    this.bars.replaceChildren(...bars);
    const axis = [svg('line', { class: 'axis', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: HEIGHT - MARGIN.bottom, y2: HEIGHT - MARGIN.bottom })];
    const tickValues = ticks(low, high);
    const tickStep = tickValues.length > 1 ? tickValues[1] - tickValues[0] : 1;
    const decimals = Math.max(0, -Math.floor(Math.log10(tickStep)));
    for (const value of tickValues) {
      const x = this.x(value);
      axis.push(svg('line', { class: 'axis', x1: x, x2: x, y1: HEIGHT - MARGIN.bottom, y2: HEIGHT - MARGIN.bottom + 4 }));
      const label = svg('text', { x, y: HEIGHT - MARGIN.bottom + 16, 'text-anchor': 'middle' });
      label.textContent = this.texts.number(value, decimals);
      axis.push(label);
    }
    const top = svg('text', { x: MARGIN.left - 6, y: MARGIN.top + 4, 'text-anchor': 'end' });
    top.textContent = this.texts.number(tallest);
    const name = svg('text', { x: WIDTH - MARGIN.right, y: HEIGHT - 2, 'text-anchor': 'end' });
    name.textContent = this.texts.t('thr.axis');
    axis.push(top, name, svg('line', { class: 'axis', x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: HEIGHT - MARGIN.bottom }));
    this.axis.replaceChildren(...axis);
  }

  drawCurrent() {
    const lines = [];
    if (this.current) {
      for (const value of [this.current.reject, this.current.review]) {
        if (value === null) continue;
        const x = this.x(value);
        lines.push(svg('line', { class: 'current', x1: x, x2: x, y1: MARGIN.top - 4, y2: HEIGHT - MARGIN.bottom }));
      }
    }
    this.currentLines.replaceChildren(...lines);
  }

  // -- handles ------------------------------------------------------------------------------
  makeHandle(name, label) {
    const visible = svg('line', { class: 'visible' });
    const hit = svg('line', { class: 'hit' });
    const knob = svg('circle', { r: 7 });
    const text = svg('text', { 'text-anchor': 'middle' });
    const group = svg('g', { class: `handle ${name}`, role: 'slider', tabindex: '0', 'aria-label': label, 'data-threshold': name }, [
      visible,
      hit,
      knob,
      text,
    ]);
    group.addEventListener('pointerdown', (event) => this.startDrag(name, event));
    group.addEventListener('keydown', (event) => this.onKey(name, event));
    return { group, visible, hit, knob, text };
  }

  placeHandle(name, handle) {
    const value = this.proposed[name];
    const shown = value !== null && Number.isFinite(value);
    handle.group.style.display = shown ? '' : 'none';
    handle.group.classList.toggle('disabled', !this.editable);
    handle.group.setAttribute('tabindex', shown && this.editable ? '0' : '-1');
    handle.group.setAttribute('aria-disabled', String(!this.editable));
    if (!shown) return;
    const x = this.x(value);
    for (const line of [handle.visible, handle.hit]) {
      line.setAttribute('x1', x);
      line.setAttribute('x2', x);
      line.setAttribute('y1', MARGIN.top - 6);
      line.setAttribute('y2', HEIGHT - MARGIN.bottom);
    }
    handle.knob.setAttribute('cx', x);
    handle.knob.setAttribute('cy', MARGIN.top - 6);
    handle.text.setAttribute('x', Math.min(Math.max(x, MARGIN.left + 20), WIDTH - MARGIN.right - 20));
    handle.text.setAttribute('y', 12);
    handle.text.textContent = this.texts.number(value, Math.max(0, -Math.floor(Math.log10(this.step))));
    const [low, high] = this.domain;
    handle.group.setAttribute('aria-valuemin', String(this.round(low)));
    handle.group.setAttribute('aria-valuemax', String(this.round(high)));
    handle.group.setAttribute('aria-valuenow', String(value));
    handle.group.setAttribute('aria-valuetext', handle.text.textContent);
  }

  move(name, value) {
    const [low, high] = this.domain;
    const gap = this.step;
    let next = this.round(Math.min(high, Math.max(low, value)));
    if (name === 'review') next = Math.min(next, this.round(this.proposed.reject - gap));
    if (name === 'reject' && this.proposed.review !== null) next = Math.max(next, this.round(this.proposed.review + gap));
    if (next === this.proposed[name]) return;
    this.proposed = { ...this.proposed, [name]: next };
    this.draw();
    this.dispatchEvent(new CustomEvent('change', { detail: { ...this.proposed } }));
  }

  startDrag(name, event) {
    if (!this.editable) return;
    event.preventDefault();
    const group = this.handles[name].group;
    group.focus();
    group.setPointerCapture(event.pointerId);
    const toValue = (clientX) => {
      const box = this.root.getBoundingClientRect();
      return this.valueAt(((clientX - box.left) / box.width) * WIDTH);
    };
    const onMove = (moveEvent) => this.move(name, toValue(moveEvent.clientX));
    const onUp = () => {
      group.removeEventListener('pointermove', onMove);
      group.removeEventListener('pointerup', onUp);
      group.removeEventListener('pointercancel', onUp);
    };
    group.addEventListener('pointermove', onMove);
    group.addEventListener('pointerup', onUp);
    group.addEventListener('pointercancel', onUp);
  }

  onKey(name, event) {
    if (!this.editable) return;
    const value = this.proposed[name];
    const steps = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -10, PageUp: 10 };
    if (event.key in steps) this.move(name, value + steps[event.key] * this.step);
    else if (event.key === 'Home') this.move(name, this.domain[0]);
    else if (event.key === 'End') this.move(name, this.domain[1]);
    else return;
    event.preventDefault();
  }
}
