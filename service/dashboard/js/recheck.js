// The re-check queue: flagged parts nobody has re-checked yet, oldest first, one at a time with
// its image and heatmap side by side. One key per verdict: G good, D defective, 1–9 defective of
// that type, S skip, N note. Each verdict goes to PUT /api/v1/results/{seq}/recheck.

import { describeError } from './api.js';
import { showViewPictures } from './cameras.js';
import { byId, el, report } from './dom.js';
import { imageUrls } from './evidence.js';

const PAGE = 20;
const MAX_TYPE_KEYS = 9;

export class RecheckQueue extends EventTarget {
  constructor(client, texts, period) {
    super();
    this.client = client;
    this.texts = texts;
    this.period = period; // () => { since: Date }
    this.items = [];
    this.cursor = 0; // the highest seq fetched: the next page starts after it
    this.pending = null;
    this.types = new Map(); // model version -> defect types
    this.busy = false;
    this.loading = null;
    byId('rc-good').addEventListener('click', () => this.judge('good'));
    byId('rc-defective').addEventListener('click', () => this.judge('defective'));
    byId('rc-skip').addEventListener('click', () => this.skip());
  }

  get current() {
    return this.items[0] || null;
  }

  /** Start again from the oldest pending part of the period. */
  reload() {
    this.items = [];
    this.cursor = 0;
    return this.fetchMore();
  }

  /** A new decision on the line: an empty queue looks again; the count follows. */
  noteDecision(decision) {
    if (decision.decision === 'pass') return;
    if (this.current === null && !this.loading) this.fetchMore().catch(() => {});
    else if (this.pending !== null) this.showPending(this.pending + 1);
  }

  fetchMore() {
    if (this.loading) return this.loading;
    const since = this.period().since.toISOString();
    this.loading = this.client
      .get('/api/v1/recheck/queue', { since, limit: PAGE, after_seq: this.cursor })
      .then(async (page) => {
        const known = new Set(this.items.map((item) => item.seq));
        const fresh = page.items.filter((item) => !known.has(item.seq));
        this.items.push(...fresh);
        if (fresh.length) this.cursor = Math.max(this.cursor, ...fresh.map((item) => item.seq));
        this.showPending(page.pending);
        await this.show();
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  showPending(count) {
    this.pending = count;
    byId('rc-pending').textContent = this.texts.t('rc.pending', { count: this.texts.number(count) });
    const badge = byId('tab-recheck-count');
    badge.textContent = this.texts.number(count);
    badge.hidden = count === 0;
    this.dispatchEvent(new CustomEvent('pending', { detail: count }));
  }

  async defectTypes(version) {
    if (!this.types.has(version)) {
      const answer = await this.client.get('/api/v1/recheck/defect-types', { model_version: version || undefined });
      this.types.set(version, answer.defect_types);
    }
    return this.types.get(version);
  }

  async show() {
    const part = this.current;
    byId('rc-part').hidden = part === null;
    byId('rc-empty').hidden = part !== null;
    if (part === null) return;
    const { texts } = this;
    byId('rc-part').dataset.seq = String(part.seq);
    byId('rc-part-title').textContent = texts.t('detail.title', { seq: part.seq });
    const perView = showViewPictures(byId('rc-view-pictures'), this.client, texts, part);
    const urls = perView ? { image: null, heatmap: null } : imageUrls(this.client, part); // a station's part: its views' pictures instead
    for (const [id, url, alt] of [
      ['rc-image', urls.image, texts.t('image.alt', { seq: part.seq })],
      ['rc-heatmap', urls.heatmap, texts.t('image.heatmapAlt', { seq: part.seq })],
    ]) {
      const image = byId(id);
      image.hidden = !url;
      image.closest('figure').hidden = !url;
      if (url) {
        image.src = url;
        image.alt = alt;
      }
    }
    byId('rc-no-image').hidden = Boolean(urls.image) || perView;
    const score = part.score === null ? texts.t('score.none') : texts.number(part.score, 4);
    const facts = [
      ['detail.decision', texts.t(`outcome.word.${part.decision}`), 'decision'],
      ['detail.reason', texts.t(`reason.${part.reason}`) + (part.detail ? `: ${part.detail}` : ''), 'reason'],
      ['detail.score', score, 'score'],
      ['detail.model', part.model_version || '–', 'model'],
      ['detail.captured', texts.dateTime(part.captured_at), 'captured'],
    ];
    byId('rc-facts').replaceChildren(
      ...facts.map(([label, value, name]) => el('div', { dataset: { fact: name } }, [el('dt', { text: texts.t(label) }), el('dd', { text: value })])),
    );
    byId('rc-note').value = '';
    report(byId('rc-message'), '');
    const types = await this.defectTypes(part.model_version).catch(() => []);
    if (this.current !== part) return;
    byId('rc-types').replaceChildren(
      ...types.slice(0, MAX_TYPE_KEYS).map((type, index) =>
        el('button', { type: 'button', class: 'rc-button rc-defective', dataset: { type }, onclick: () => this.judge('defective', type) }, [
          el('span', { text: texts.label('defect', type) }),
          ' ',
          el('kbd', { text: String(index + 1) }),
        ]),
      ),
    );
  }

  async judge(verdict, defectType = null) {
    const part = this.current;
    if (part === null || this.busy) return;
    this.busy = true;
    const note = byId('rc-note').value.trim();
    try {
      await this.client.request(`/api/v1/results/${part.seq}/recheck`, {
        method: 'PUT',
        json: { verdict, defect_type: defectType, note: note || null },
      });
      this.items.shift();
      this.showPending(Math.max(0, (this.pending || 1) - 1));
      this.dispatchEvent(new CustomEvent('judged', { detail: { seq: part.seq, verdict, defectType } }));
      await this.advance();
      const word = verdict === 'good' ? this.texts.t('rc.good') : this.texts.t('rc.defective');
      const type = defectType ? ` (${this.texts.label('defect', defectType)})` : '';
      report(byId('rc-message'), this.texts.t('rc.recorded', { seq: part.seq, verdict: word + type }));
    } catch (error) {
      report(byId('rc-message'), describeError(this.texts, error), 'error');
    } finally {
      this.busy = false;
    }
  }

  /** Leave the part pending and show the next one (it comes back on the next reload). */
  async skip() {
    if (this.current === null) return;
    this.items.shift();
    await this.advance();
  }

  async advance() {
    if (this.items.length === 0) await this.fetchMore();
    else await this.show();
  }

  /** One key per verdict while the queue is shown; true when the key was used. */
  handleKey(key) {
    if (this.current === null) return false;
    if (key === 'g') this.judge('good');
    else if (key === 'd') this.judge('defective');
    else if (key === 's') this.skip();
    else if (key === 'n') byId('rc-note').focus();
    else if (/^[1-9]$/.test(key)) {
      const button = byId('rc-types').children[Number(key) - 1];
      if (!button) return false;
      this.judge('defective', button.dataset.type);
    } else return false;
    return true;
  }
}
