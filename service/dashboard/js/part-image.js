// The latest part that has a kept image, with the heatmap overlay toggle. Images are saved
// shortly after the decision event and only for some parts: one loader at a time chases the
// newest candidate (rejects and reviews first; passes at most once a second).

import { byId } from './dom.js';
import { imageUrls, preload, waitForEvidence } from './evidence.js';

const HEATMAP_STORAGE = 'gaikan.heatmap';
const PASS_EVERY_MS = 1000;

export class PartImage {
  constructor(client, texts, storage = window.localStorage) {
    this.client = client;
    this.texts = texts;
    this.storage = storage;
    this.frame = byId('part-frame');
    this.image = byId('part-image');
    this.heatmap = byId('part-heatmap');
    this.empty = byId('part-empty');
    this.caption = byId('part-caption');
    this.toggleButton = byId('heatmap-toggle');
    this.shown = null;
    this.next = null;
    this.loading = false;
    this.lastPassTry = 0;
    this.toggleButton.addEventListener('click', () => this.toggle());
    this.setHeatmap(storage.getItem(HEATMAP_STORAGE) === 'on');
  }

  toggle() {
    this.setHeatmap(this.toggleButton.getAttribute('aria-pressed') !== 'true');
  }

  setHeatmap(on) {
    this.toggleButton.setAttribute('aria-pressed', String(on));
    this.frame.dataset.heatmap = on ? 'on' : 'off';
    this.storage.setItem(HEATMAP_STORAGE, on ? 'on' : 'off');
    this.render();
  }

  get heatmapOn() {
    return this.frame.dataset.heatmap === 'on';
  }

  /** A new decision: its image may appear shortly. */
  offer(decision) {
    if (this.shown && decision.seq <= this.shown.seq) return;
    const important = decision.decision !== 'pass';
    if (!important) {
      if ((this.next && this.next.decision !== 'pass') || performance.now() - this.lastPassTry < PASS_EVERY_MS) return;
      this.lastPassTry = performance.now();
    }
    this.next = decision;
    this.work();
  }

  async work() {
    if (this.loading) return;
    this.loading = true;
    try {
      while (this.next) {
        const candidate = this.next;
        this.next = null;
        const patienceMs = candidate.decision === 'pass' ? 1500 : 4000;
        const fresh = await waitForEvidence(this.client, candidate, { patienceMs, abandon: () => this.next !== null });
        if (!fresh || (this.shown && fresh.seq <= this.shown.seq)) continue;
        const urls = imageUrls(this.client, fresh);
        const [image, heatmap] = await Promise.all([preload(urls.image), urls.heatmap ? preload(urls.heatmap) : null]);
        if (!image || (this.shown && fresh.seq <= this.shown.seq)) continue;
        this.shown = fresh;
        this.image.src = image.src;
        this.heatmap.src = heatmap ? heatmap.src : '';
        this.hasHeatmap = Boolean(heatmap);
        this.render();
      }
    } finally {
      this.loading = false;
    }
  }

  render() {
    const { texts } = this;
    const part = this.shown;
    this.empty.hidden = Boolean(part);
    this.image.hidden = !part;
    this.heatmap.hidden = !part || !this.hasHeatmap || !this.heatmapOn;
    if (!part) return;
    this.image.alt = texts.t('image.alt', { seq: part.seq });
    this.heatmap.alt = texts.t('image.heatmapAlt', { seq: part.seq });
    this.frame.dataset.part = String(part.seq);
    let caption = texts.t('image.caption', {
      seq: part.seq,
      outcome: texts.t(`outcome.word.${part.decision}`),
      time: texts.time(part.decided_at),
    });
    if (this.heatmapOn && !this.hasHeatmap) caption += ` · ${texts.t('image.noHeatmap')}`;
    this.caption.textContent = caption;
  }
}
