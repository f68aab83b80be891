// The strip of recently rejected parts; each opens the detail dialog.

import { byId, el } from './dom.js';
import { imageUrls, mayHaveImages, waitForEvidence } from './evidence.js';

const KEEP = 12;

export class RejectStrip {
  constructor(client, texts, onOpen) {
    this.client = client;
    this.texts = texts;
    this.onOpen = onOpen;
    this.list = byId('reject-strip');
    this.empty = byId('rejects-empty');
    this.items = [];
  }

  /** Reload from the store (at start and after a reconnect, when events may have been missed). */
  async load() {
    const page = await this.client.get('/api/v1/results', { decision: 'reject', limit: KEEP });
    this.items = page.items;
    this.list.replaceChildren(...this.items.map((decision) => this.card(decision, false)));
    this.empty.hidden = this.items.length > 0;
  }

  add(decision) {
    if (decision.decision !== 'reject' || this.items.some((item) => item.seq === decision.seq)) return;
    this.items.unshift(decision);
    this.list.prepend(this.card(decision, true));
    while (this.items.length > KEEP) {
      this.items.pop();
      this.list.lastElementChild.remove();
    }
    this.empty.hidden = true;
  }

  /** The decision `offset` places newer (negative) or older (positive) than `seq` in the strip. */
  neighbour(seq, offset) {
    const index = this.items.findIndex((item) => item.seq === seq);
    return index < 0 ? null : this.items[index + offset] || null;
  }

  card(decision, fresh) {
    const { texts } = this;
    const reason = texts.t(`reason.${decision.reason}`);
    const picture = el('span', { class: 'thumb-text', text: mayHaveImages(decision) ? '…' : reason });
    const button = el(
      'button',
      {
        type: 'button',
        'aria-label': texts.t('rejects.item', { seq: decision.seq, reason, time: texts.time(decision.decided_at) }),
        title: texts.t('rejects.open'),
        onclick: () => this.onOpen(this.items.find((item) => item.seq === decision.seq) || decision),
      },
      [
        picture,
        el('span', { class: 'meta' }, [
          el('span', { text: `#${decision.seq}` }),
          el('span', { text: decision.score === null ? reason : texts.number(decision.score, 2) }),
        ]),
        el('span', { class: 'meta' }, [el('span', { text: texts.time(decision.decided_at) })]),
      ],
    );
    const item = el('li', { class: fresh ? 'new' : null, dataset: { seq: String(decision.seq) } }, button);
    this.attachThumbnail(decision, picture, item);
    return item;
  }

  async attachThumbnail(decision, placeholder, item) {
    const fresh = await waitForEvidence(this.client, decision, { abandon: () => !item.isConnected });
    if (!item.isConnected) return;
    if (!fresh) {
      placeholder.textContent = this.texts.t(`reason.${decision.reason}`);
      return;
    }
    const index = this.items.findIndex((entry) => entry.seq === fresh.seq);
    if (index >= 0) this.items[index] = fresh;
    const urls = imageUrls(this.client, fresh);
    const thumb = el('img', { class: 'thumb', src: urls.heatmap || urls.image, alt: '' });
    placeholder.replaceWith(thumb);
  }
}
