// The detail of one part: full image, heatmap, score, reason, model version, time (a station's
// part: every view's image and heatmap side by side); for a passed part, a button that records
// what a person found later (defective: an escape).

import { describeError } from './api.js';
import { showViewPictures } from './cameras.js';
import { confirmAction } from './confirm.js';
import { byId, el, report } from './dom.js';
import { imageUrls } from './evidence.js';

/** "Defective (scratch) · olga · 2026/12/01 10:00:00": what a person found, who, when. */
export function recheckText(texts, recheck) {
  const type = recheck.defect_type ? ` (${texts.label('defect', recheck.defect_type)})` : '';
  const note = recheck.note ? ` · ${recheck.note}` : '';
  return `${texts.t(`rc.${recheck.verdict}`)}${type} · ${recheck.checked_by} · ${texts.dateTime(recheck.checked_at)}${note}`;
}

export class DetailDialog {
  constructor(client, texts, strip) {
    this.client = client;
    this.texts = texts;
    this.strip = strip;
    this.dialog = byId('detail-dialog');
    this.current = null;
    byId('detail-close').addEventListener('click', () => this.dialog.close());
    byId('detail-older').addEventListener('click', () => this.step(1));
    byId('detail-newer').addEventListener('click', () => this.step(-1));
    byId('detail-report-escape').addEventListener('click', () => this.reportEscape());
    this.dialog.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowLeft') this.step(-1);
      else if (event.key === 'ArrowRight') this.step(1);
    });
    this.dialog.addEventListener('click', (event) => {
      if (event.target === this.dialog) this.dialog.close(); // a click on the backdrop
    });
  }

  async open(decision) {
    this.current = decision;
    report(byId('detail-message'), '');
    this.render(decision);
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const fresh = await this.client.get(`/api/v1/results/${decision.seq}`);
      if (this.current && this.current.seq === fresh.seq) {
        this.current = fresh;
        this.render(fresh);
      }
    } catch {
      // the summary already shown stays
    }
  }

  /** A passed part a person later found defective: recorded as its re-check, counted as an escape. */
  async reportEscape() {
    const { texts } = this;
    const { seq } = this.current;
    if (!(await confirmAction(texts.t('detail.escapeTitle', { seq }), texts.t('detail.escapeBody')))) return;
    try {
      const recheck = await this.client.request(`/api/v1/results/${seq}/recheck`, {
        method: 'PUT',
        json: { verdict: 'defective', defect_type: null, note: null },
      });
      if (this.current.seq !== seq) return;
      this.current = { ...this.current, recheck };
      this.render(this.current);
      report(byId('detail-message'), texts.t('detail.escapeRecorded', { seq }));
    } catch (error) {
      report(byId('detail-message'), describeError(texts, error), 'error');
    }
  }

  step(offset) {
    if (!this.current) return;
    const next = this.strip.neighbour(this.current.seq, offset);
    if (next) this.open(next);
  }

  render(decision) {
    const { texts } = this;
    byId('detail-title').textContent = texts.t('detail.title', { seq: decision.seq });
    const perView = showViewPictures(byId('detail-view-pictures'), this.client, texts, decision);
    const urls = perView ? { image: null, heatmap: null } : imageUrls(this.client, decision); // a station's part: its views' pictures instead
    const image = byId('detail-image');
    const heatmap = byId('detail-heatmap');
    image.hidden = !urls.image;
    heatmap.hidden = !urls.heatmap;
    image.closest('figure').hidden = !urls.image;
    heatmap.closest('figure').hidden = !urls.heatmap;
    if (urls.image) {
      image.src = urls.image;
      image.alt = texts.t('image.alt', { seq: decision.seq });
    }
    if (urls.heatmap) {
      heatmap.src = urls.heatmap;
      heatmap.alt = texts.t('image.heatmapAlt', { seq: decision.seq });
    }
    byId('detail-no-image').hidden = Boolean(urls.image) || perView;
    byId('detail-older').disabled = !this.strip.neighbour(decision.seq, 1);
    byId('detail-newer').disabled = !this.strip.neighbour(decision.seq, -1);

    const thresholds = decision.thresholds;
    const limits = thresholds
      ? [texts.t('score.rejectAt', { value: texts.number(thresholds.reject, 3) })]
          .concat(thresholds.review === null ? [] : [texts.t('score.reviewAt', { value: texts.number(thresholds.review, 3) })])
          .join(' · ')
      : '–';
    const reason = texts.t(`reason.${decision.reason}`) + (decision.detail ? `: ${decision.detail}` : '');
    const facts = [
      ['detail.decision', texts.t(`outcome.word.${decision.decision}`), 'decision'],
      ['detail.reason', reason, 'reason'],
      ['detail.score', decision.score === null ? texts.t('score.none') : texts.number(decision.score, 4), 'score'],
      ['detail.thresholds', limits, 'thresholds'],
      ['detail.model', decision.model_version || '–', 'model'],
      ['detail.captured', texts.dateTime(decision.captured_at), 'captured'],
      ['detail.latency', texts.t('unit.ms', { value: texts.number(decision.latency_ms, 1) }), 'latency'],
      ['detail.camera', decision.camera_id, 'camera'],
      ['detail.source', decision.source || '–', 'source'],
    ];
    if (decision.recheck) facts.push(['detail.recheck', recheckText(texts, decision.recheck), 'recheck']);
    const escaped = decision.recheck && decision.recheck.verdict === 'defective';
    byId('detail-escape').hidden = decision.decision !== 'pass' || Boolean(escaped);
    byId('detail-facts').replaceChildren(
      ...facts.map(([label, value, name]) => el('div', { dataset: { fact: name } }, [el('dt', { text: texts.t(label) }), el('dd', { text: value })])),
    );
  }
}
