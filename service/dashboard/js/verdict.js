// The big PASS / REJECT / REVIEW indicator and the score against the thresholds.

import { showViews } from './cameras.js';
import { byId } from './dom.js';

const IDLE_AFTER_S = 15;

export class VerdictView {
  constructor(texts) {
    this.texts = texts;
    this.box = byId('verdict');
    this.text = byId('verdict-text');
    this.meta = byId('verdict-meta');
    this.scoreValue = byId('score-value');
    this.scoreThresholds = byId('score-thresholds');
    this.gauge = byId('score-gauge');
    this.views = byId('verdict-views');
    this.current = null;
    this.notice = null; // shown instead of "waiting" when the page cannot follow the line (no key)
    this.render();
    setInterval(() => this.renderMeta(), 1000);
  }

  setNotice(text) {
    this.notice = text;
    this.renderMeta();
  }

  /** Show `decision` unless a newer one is shown already. */
  show(decision) {
    if (!decision || (this.current && decision.seq <= this.current.seq)) return;
    this.current = decision;
    this.render();
  }

  render() {
    const decision = this.current;
    const outcome = decision ? decision.decision : 'none';
    this.box.dataset.outcome = outcome;
    this.box.dataset.seq = decision ? String(decision.seq) : '';
    byId('verdict-details').disabled = !decision; // opens this part's detail
    this.text.textContent = this.t(`outcome.${outcome}`);
    this.renderMeta();
    this.renderScore(decision);
    showViews(this.views, decision, this.texts);
  }

  t(key, values) {
    return this.texts.t(key, values);
  }

  renderMeta() {
    const decision = this.current;
    if (!decision) {
      this.meta.textContent = this.notice || this.t('verdict.waiting');
      return;
    }
    const age = (Date.now() - new Date(decision.decided_at).getTime()) / 1000;
    const idle = age > IDLE_AFTER_S;
    this.box.classList.toggle('stale', idle);
    const parts = [this.t('verdict.part', { seq: decision.seq })];
    if (decision.reason !== 'score') parts.push(this.t(`reason.${decision.reason}`));
    parts.push(idle ? this.t('verdict.idle', { age: this.texts.duration(age) }) : this.t('verdict.at', { time: this.texts.time(decision.decided_at) }));
    this.meta.textContent = parts.join(' · ');
  }

  renderScore(decision) {
    const { texts } = this;
    const marker = this.gauge.querySelector('.gauge-marker');
    const thresholds = decision && decision.thresholds;
    const score = decision ? decision.score : null;
    this.scoreValue.textContent = score === null ? this.t('score.none') : texts.number(score, 3);
    if (!thresholds) {
      this.scoreThresholds.textContent = '';
      marker.hidden = true;
      this.gauge.removeAttribute('aria-label');
      return;
    }
    const { reject, review } = thresholds;
    const limits = [this.t('score.rejectAt', { value: texts.number(reject, 3) })];
    if (review !== null) limits.push(this.t('score.reviewAt', { value: texts.number(review, 3) }));
    this.scoreThresholds.textContent = limits.join(' · ');
    const low = Math.min(0, score ?? 0, review ?? reject);
    const high = Math.max(reject * 1.5, (score ?? 0) * 1.05, low + 1e-9);
    const at = (value) => `${(100 * (value - low)) / (high - low)}%`;
    const reviewStart = review ?? reject;
    this.gauge.querySelector('.gauge-pass').style.width = at(reviewStart);
    const reviewZone = this.gauge.querySelector('.gauge-review');
    reviewZone.style.left = at(reviewStart);
    reviewZone.style.width = `calc(${at(reject)} - ${at(reviewStart)})`;
    this.gauge.querySelector('.gauge-reject').style.left = at(reject);
    marker.hidden = score === null;
    if (score !== null) marker.style.left = at(score);
    this.gauge.setAttribute('aria-label', this.t('score.gauge', { score: score === null ? '–' : texts.number(score, 3), reject: texts.number(reject, 3) }));
  }
}
