// Engineer view: the score histogram of recent parts with the thresholds drawn, editable by
// dragging or typing, applied with confirmation. What proposed thresholds would decide is asked
// of the server (POST /api/v1/thresholds/classify), which applies the line's own rule.

import { ApiError, describeError } from './api.js';
import { confirmAction } from './confirm.js';
import { byId, report } from './dom.js';
import { Histogram } from './histogram.js';

export class ThresholdEditor {
  constructor(client, texts, { onApplied }) {
    this.client = client;
    this.texts = texts;
    this.onApplied = onApplied;
    this.allowed = false;
    this.inForce = null; // GET /api/v1/thresholds
    this.sample = []; // recent decisions of the active model with a score
    this.histogram = new Histogram(byId('histogram'), texts);
    this.form = byId('thr-form');
    this.reject = byId('thr-reject');
    this.reviewOn = byId('thr-review-on');
    this.review = byId('thr-review');
    this.sampleSize = byId('thr-sample');
    this.message = byId('thr-message');
    this.redrawPending = false;
    this.judging = false; // a preview request is in flight
    this.judgeAgain = false; // the proposal or the sample changed meanwhile
    this.edited = false; // the engineer changed the proposal since the thresholds in force were loaded

    this.histogram.addEventListener('change', (event) => {
      this.edited = true;
      this.showProposed(event.detail);
    });
    for (const input of [this.reject, this.review]) {
      input.addEventListener('input', () => {
        this.edited = true;
        this.fromInputs();
      });
    }
    this.reviewOn.addEventListener('change', () => {
      this.edited = true;
      if (this.reviewOn.checked && !Number.isFinite(this.review.valueAsNumber)) {
        const manifest = this.inForce && this.inForce.manifest.review;
        this.review.value = String(manifest ?? this.histogram.round(this.reject.valueAsNumber * 0.85));
      }
      this.fromInputs();
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.apply();
    });
    byId('thr-revert').addEventListener('click', () => {
      if (!this.inForce) return;
      this.edited = false;
      this.showProposed(this.inForce);
    });
    byId('thr-manifest').addEventListener('click', () => {
      if (!this.inForce) return;
      this.edited = true;
      this.showProposed(this.inForce.manifest);
    });
    this.sampleSize.addEventListener('change', () => this.refresh());
  }

  setAllowed(allowed) {
    this.allowed = allowed;
    this.updateControls();
  }

  updateControls() {
    const editable = this.allowed && this.inForce !== null;
    this.histogram.setEditable(editable);
    for (const element of this.form.elements) element.disabled = !editable;
    this.review.disabled = !editable || !this.reviewOn.checked;
  }

  async refresh() {
    const { texts } = this;
    try {
      this.inForce = await this.client.get('/api/v1/thresholds');
    } catch (error) {
      this.inForce = null;
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      byId('thr-in-force').textContent = texts.t('eng.noModel');
    }
    if (this.inForce) {
      const { reject, review, source } = this.inForce;
      byId('thr-in-force').textContent = texts.t('thr.inForce', {
        reject: texts.decimal(reject),
        review: review === null ? '' : texts.t('thr.inForceReview', { review: texts.decimal(review) }),
        source: texts.t(`thr.source.${source}`),
      });
      const page = await this.client.get('/api/v1/results', { limit: this.sampleSize.value });
      this.sample = page.items.filter((item) => Number.isFinite(item.score) && item.model_version === this.inForce.model_version);
      this.histogram.setCurrent({ reject, review });
      if (!this.edited) this.showProposed(this.inForce);
      else this.renderPreview();
    }
    this.renderCaption();
    this.updateControls();
  }

  /** A live decision joins the histogram. */
  addDecision(decision) {
    if (!this.inForce || !Number.isFinite(decision.score) || decision.model_version !== this.inForce.model_version) return;
    this.sample.unshift(decision);
    this.sample.length = Math.min(this.sample.length, Number(this.sampleSize.value));
    if (this.redrawPending) return;
    this.redrawPending = true;
    setTimeout(() => {
      this.redrawPending = false;
      this.renderCaption();
      this.renderPreview();
    }, 500);
  }

  get proposed() {
    return this.histogram.proposed;
  }

  /** Thresholds from the histogram (drag) or a button: into the inputs and the preview. */
  showProposed({ reject, review }) {
    this.histogram.setThresholds({ reject, review });
    this.reject.value = String(reject);
    this.reviewOn.checked = review !== null;
    if (review !== null) this.review.value = String(review);
    this.review.disabled = !this.allowed || review === null;
    this.renderPreview();
  }

  fromInputs() {
    const reject = this.reject.valueAsNumber;
    const review = this.reviewOn.checked ? this.review.valueAsNumber : null;
    this.review.disabled = !this.reviewOn.checked;
    if (Number.isFinite(reject) && (review === null || Number.isFinite(review))) {
      this.histogram.setThresholds({ reject, review });
      this.renderPreview();
    }
  }

  renderCaption() {
    byId('thr-caption').textContent =
      this.inForce && this.sample.length
        ? this.texts.t('thr.histogram', { count: this.sample.length, version: this.inForce.model_version })
        : this.texts.t('thr.histogramEmpty');
  }

  /** Re-judge the sample; at most one request in flight, the newest proposal wins. */
  renderPreview() {
    if (this.judging) {
      this.judgeAgain = true;
      return;
    }
    this.judging = true;
    this.judgePreview()
      .catch((error) => report(this.message, describeError(this.texts, error), 'error'))
      .finally(() => {
        this.judging = false;
        if (this.judgeAgain) {
          this.judgeAgain = false;
          this.renderPreview();
        }
      });
  }

  async judgePreview() {
    const preview = byId('thr-preview');
    if (!this.inForce || !this.sample.length) {
      preview.textContent = '';
      this.histogram.setData([], []);
      return;
    }
    const scores = this.sample.map((item) => item.score);
    const judge = ({ reject, review }) =>
      this.client.request('/api/v1/thresholds/classify', { method: 'POST', json: { thresholds: { reject, review }, scores } });
    const [proposedJudged, nowJudged] = await Promise.all([judge(this.proposed), judge(this.inForce)]);
    this.histogram.setData(scores, proposedJudged.outcomes);
    const proposed = proposedJudged.counts;
    const now = nowJudged.counts;
    preview.textContent = this.texts.t('thr.preview', {
      count: this.sample.length,
      pass: proposed.pass,
      review: proposed.review,
      reject: proposed.reject,
      nowPass: now.pass,
      nowReview: now.review,
      nowReject: now.reject,
    });
  }

  /** The inputs as thresholds, or null after reporting what is wrong. */
  validated() {
    const { texts } = this;
    const reject = this.reject.valueAsNumber;
    if (!Number.isFinite(reject)) {
      report(this.message, texts.t('thr.notNumber', { what: texts.t('thr.reject') }), 'error');
      this.reject.focus();
      return null;
    }
    let review = null;
    if (this.reviewOn.checked) {
      review = this.review.valueAsNumber;
      if (!Number.isFinite(review)) {
        report(this.message, texts.t('thr.notNumber', { what: texts.t('thr.review') }), 'error');
        this.review.focus();
        return null;
      }
      if (review >= reject) {
        report(this.message, texts.t('thr.invalid'), 'error');
        this.review.focus();
        return null;
      }
    }
    return { reject, review };
  }

  async apply() {
    const { texts } = this;
    const next = this.validated();
    if (!next || !this.inForce) return;
    const show = (value) => (value === null ? texts.t('thr.none') : texts.decimal(value));
    const confirmed = await confirmAction(
      texts.t('thr.confirmTitle'),
      texts.t('thr.confirmBody', {
        version: this.inForce.model_version,
        oldReject: show(this.inForce.reject),
        newReject: show(next.reject),
        oldReview: show(this.inForce.review),
        newReview: show(next.review),
      }),
    );
    if (!confirmed) return;
    try {
      const applied = await this.client.request('/api/v1/thresholds', { method: 'PUT', json: next });
      report(
        this.message,
        texts.t('thr.applied', {
          reject: texts.decimal(applied.reject),
          review: applied.review === null ? '' : texts.t('thr.inForceReview', { review: texts.decimal(applied.review) }),
        }),
      );
      this.inForce = applied;
      this.edited = false;
      this.showProposed(applied);
    } catch (error) {
      report(this.message, describeError(texts, error), 'error');
    }
    await this.refresh();
    this.onApplied();
  }
}
