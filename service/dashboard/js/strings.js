// Every piece of UI text, in one table per language. To add a language, add a table with the
// same keys (e.g. `ja: { … }`): missing keys fall back to English. `{name}` marks a value filled in
// at run time.

export const STRINGS = {
  en: {
    'app.title': 'Gaikan line',
    'app.skip': 'Skip to content',
    'tab.line': 'Line',
    'tab.engineer': 'Engineer',
    'tabs.label': 'Views',

    'header.model': 'Model',
    'header.camera': 'Camera',
    'header.connection': 'Link',
    'header.none': 'none',
    'header.uncalibrated': 'UNCALIBRATED',
    'header.uncalibratedHint': 'The thresholds come from good parts only (safe defaults: unusual parts go to review). Calibrate the model with defective parts (gaikan calibrate) and activate the new version.',
    'connection.live': 'live',
    'connection.connecting': 'connecting…',
    'connection.lost': 'lost',

    'who.local': 'Local engineer (no keys)',
    'who.as': '{role}: {name}',
    'who.signedOut': 'No key',
    'key.button': 'Key…',
    'key.title': 'API key',
    'key.help': 'Enter the API key you were given. It is kept in this browser until you forget it.',
    'key.label': 'API key',
    'key.use': 'Use key',
    'key.forget': 'Forget key',
    'key.cancel': 'Cancel',
    'key.unknown': 'This key is not recognised.',
    'key.required': 'This service needs an API key.',

    'role.operator': 'Operator',
    'role.plc': 'PLC',
    'role.engineer': 'Engineer',

    'outcome.pass': 'PASS',
    'outcome.reject': 'REJECT',
    'outcome.review': 'REVIEW',
    'outcome.none': 'WAITING',
    'outcome.word.pass': 'Pass',
    'outcome.word.reject': 'Reject',
    'outcome.word.review': 'Review',

    'reason.score': 'Score',
    'reason.timeout': 'Deadline missed',
    'reason.no_model': 'No active model',
    'reason.camera_fault': 'Camera fault',
    'reason.error': 'Inspection error',

    'verdict.label': 'Latest part',
    'verdict.part': 'Part #{seq}',
    'verdict.at': 'at {time}',
    'verdict.waiting': 'Waiting for the first part…',
    'verdict.idle': 'No part for {age}',

    'score.title': 'Score',
    'score.none': 'no score',
    'score.rejectAt': 'reject ≥ {value}',
    'score.reviewAt': 'review ≥ {value}',
    'score.gauge': 'Score {score} against reject threshold {reject}',

    'image.title': 'Latest image',
    'image.caption': 'Part #{seq} · {outcome} · {time}',
    'image.none': 'No part image kept yet',
    'image.alt': 'Part #{seq}',
    'image.heatmapAlt': 'Anomaly heatmap of part #{seq}',
    'image.heatmap': 'Heatmap',
    'image.heatmapHint': 'Show the anomaly heatmap (H)',
    'image.noHeatmap': 'no heatmap for this part',

    'counts.title': 'Counts',
    'counts.shift': 'Shift since {time}',
    'counts.hour': 'Last hour',
    'counts.inspected': 'Inspected',
    'counts.passed': 'Passed',
    'counts.review': 'Review',
    'counts.rejected': 'Rejected',
    'counts.yield': 'Yield',
    'counts.rejectRate': 'Reject rate',
    'counts.export': 'Shift results as CSV',

    'perf.title': 'Performance',
    'perf.throughput': 'Throughput',
    'perf.latency': 'Latency p50 / p99',
    'perf.fps': '{value} parts/s',
    'perf.ms': '{p50} / {p99} ms',

    'camera.title': 'Camera',
    'camera.state': 'State',
    'camera.fps': 'Frame rate',
    'camera.fpsValue': '{value} frames/s',
    'camera.frames': 'Frames',
    'camera.dropped': 'Dropped',
    'camera.timeouts': 'Timeouts',
    'camera.reconnects': 'Reconnects',
    'camera.error': 'Last error',
    'camera.state.none': 'no camera',
    'camera.state.stopped': 'stopped',
    'camera.state.connecting': 'connecting',
    'camera.state.running': 'connected',
    'camera.state.faulted': 'FAULT',
    'camera.state.ended': 'replay ended',

    'model.title': 'Models',
    'model.active': 'Active model',
    'model.shadow': 'Shadow model',

    'alarm.failSafe': 'FAIL-SAFE: every part is being rejected',
    'alarm.failSafe.no_model': 'no active model',
    'alarm.failSafe.no_camera': 'no camera configured',
    'alarm.failSafe.camera_fault': 'camera fault',
    'alarm.failSafe.pipeline_stopped': 'inspection stopped',
    'alarm.connection': 'NO CONNECTION to the inspection service: this screen is not up to date (last update {time})',
    'alarm.connectionNever': 'NO CONNECTION to the inspection service',
    'alarm.uninspected': '{count} part(s) rejected without inspection in the last minute: {reasons}',

    'rejects.title': 'Recent rejects',
    'rejects.none': 'No rejected parts',
    'rejects.item': 'Rejected part #{seq}, {reason}, {time}',
    'rejects.open': 'Show details',

    'detail.title': 'Part #{seq}',
    'detail.decision': 'Decision',
    'detail.reason': 'Reason',
    'detail.score': 'Score',
    'detail.thresholds': 'Thresholds',
    'detail.model': 'Model version',
    'detail.captured': 'Captured',
    'detail.latency': 'Latency',
    'detail.camera': 'Camera',
    'detail.source': 'Source',
    'detail.image': 'Part image',
    'detail.heatmap': 'Heatmap',
    'detail.noImage': 'No image kept for this part',
    'detail.close': 'Close',
    'detail.previous': 'Older',
    'detail.next': 'Newer',

    'eng.readOnly': 'Read only: changing thresholds or models needs an engineer key.',
    'eng.noModel': 'No active model: thresholds belong to a model version.',

    'thr.title': 'Thresholds',
    'thr.histogram': 'Scores of the last {count} parts of model {version}',
    'thr.histogramEmpty': 'No scored parts of the active model yet.',
    'thr.sample': 'Parts',
    'thr.reject': 'Reject at or above',
    'thr.review': 'Review at or above',
    'thr.reviewOn': 'Review band',
    'thr.source.manifest': 'from the model package',
    'thr.source.override': 'set by an engineer',
    'thr.inForce': 'In force: reject ≥ {reject}{review} ({source})',
    'thr.inForceReview': ', review ≥ {review}',
    'thr.preview': 'With these thresholds the last {count} parts would be: {pass} pass, {review} review, {reject} reject (in force: {nowPass} pass, {nowReview} review, {nowReject} reject).',
    'thr.apply': 'Apply…',
    'thr.revert': 'Revert',
    'thr.manifest': 'Model defaults',
    'thr.applied': 'Thresholds applied: reject ≥ {reject}{review}.',
    'thr.invalid': 'The review threshold must be below the reject threshold.',
    'thr.notNumber': 'Enter a number for the {what} threshold.',
    'thr.confirmTitle': 'Change thresholds?',
    'thr.confirmBody': 'Model {version}: reject {oldReject} → {newReject}; review {oldReview} → {newReview}. Effective from the next part, recorded in the audit trail.',
    'thr.handleReject': 'Reject threshold',
    'thr.handleReview': 'Review threshold',
    'thr.axis': 'score',
    'thr.none': 'off',

    'audit.title': 'Audit trail',
    'audit.at': 'Time',
    'audit.actor': 'Who',
    'audit.action': 'Action',
    'audit.target': 'Target',
    'audit.change': 'Change',
    'audit.empty': 'Nothing recorded yet.',
    'audit.action.thresholds.update': 'thresholds changed',
    'audit.action.model.upload': 'model uploaded',
    'audit.action.model.activate': 'model activated',
    'audit.action.model.rollback': 'model rolled back',
    'audit.action.model.shadow': 'shadow model set',

    'models.title': 'Model versions',
    'models.version': 'Version',
    'models.uploaded': 'Uploaded',
    'models.activated': 'Last activated',
    'models.state': 'State',
    'models.actions': 'Actions',
    'models.by': '{time} by {who}',
    'models.stateActive': 'active',
    'models.stateShadow': 'shadow',
    'models.activate': 'Activate…',
    'models.rollback': 'Roll back…',
    'models.upload': 'Upload package…',
    'models.uploading': 'Uploading {name}…',
    'models.uploaded.ok': 'Uploaded version {version}.',
    'models.activated.ok': 'Version {version} is active.',
    'models.rolledBack.ok': 'Rolled back to version {version}.',
    'models.shadowStart': 'Shadow',
    'models.shadowStop': 'Stop shadow',
    'models.agreement': 'Agreement',
    'models.shadowStarted': 'Version {version} scores the line in shadow.',
    'models.shadowStopped': 'Shadow mode stopped.',
    'models.agreementTitle': 'Shadow agreement: {version} beside the active model',
    'models.agreementNone': 'No agreement figures yet.',
    'agreement.version': 'Shadow version',
    'agreement.shadowing': 'Scoring now',
    'agreement.since': 'Since',
    'agreement.frames': 'Parts compared',
    'agreement.skipped': 'Parts skipped (shadow too slow)',
    'agreement.errors': 'Shadow errors',
    'agreement.agreement': 'Same decision',
    'agreement.score_correlation': 'Score correlation',
    'agreement.confusion': 'Decisions (rows: active model, columns: shadow)',
    'value.yes': 'yes',
    'value.no': 'no',
    'models.empty': 'No model versions uploaded.',
    'models.confirmActivate': 'Activate model {version}? The line switches between two parts; thresholds come from that version.',
    'models.confirmRollback': 'Roll back to the previously active model?',
    'models.confirmTitle': 'Change the active model?',

    'confirm.ok': 'Confirm',
    'confirm.cancel': 'Cancel',

    'unit.seconds': '{value} s',
    'unit.minutes': '{value} min',
    'unit.hours': '{value} h',
    'unit.percent': '{value} %',
    'unit.ms': '{value} ms',

    'error.http': 'The service refused: {detail} (HTTP {status})',
    'error.network': 'The service cannot be reached.',
  },
};

/** The language to use: `?lang=xx`, then the browser's preferences, then English. */
export function pickLanguage(search = location.search, preferred = navigator.languages || []) {
  const asked = new URLSearchParams(search).get('lang');
  for (const candidate of [asked, ...preferred]) {
    if (!candidate) continue;
    const base = candidate.toLowerCase().split('-')[0];
    if (base in STRINGS) return base;
  }
  return 'en';
}

/** Text lookup for one language; missing keys fall back to English, then to the key itself. */
export class Texts {
  constructor(lang) {
    this.lang = lang in STRINGS ? lang : 'en';
    this.missing = new Set();
    this.numbers = new Map();
    // Factories run on a 24-hour clock.
    this.times = new Intl.DateTimeFormat(this.lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    this.minutes = new Intl.DateTimeFormat(this.lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    this.dateTimes = new Intl.DateTimeFormat(this.lang, {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
  }

  t(key, values = {}) {
    const text = STRINGS[this.lang][key] ?? STRINGS.en[key];
    if (text === undefined) {
      this.missing.add(key);
      return key;
    }
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
  }

  has(key) {
    return key in STRINGS[this.lang] || key in STRINGS.en;
  }

  /** A label for a data field: its translation when there is one, else the field name. */
  label(prefix, field) {
    const key = `${prefix}.${field}`;
    return this.has(key) ? this.t(key) : String(field).replaceAll('_', ' ');
  }

  /** Fill elements marked `data-i18n` (text), `data-i18n-title`, `data-i18n-aria-label`. */
  apply(root = document) {
    for (const element of root.querySelectorAll('[data-i18n]')) element.textContent = this.t(element.dataset.i18n);
    for (const element of root.querySelectorAll('[data-i18n-title]')) element.title = this.t(element.dataset.i18nTitle);
    for (const element of root.querySelectorAll('[data-i18n-aria-label]')) {
      element.setAttribute('aria-label', this.t(element.dataset.i18nAriaLabel));
    }
  }

  number(value, digits = 0) {
    if (value === null || value === undefined || !Number.isFinite(value)) return '–';
    if (!this.numbers.has(digits)) {
      this.numbers.set(digits, new Intl.NumberFormat(this.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
    }
    return this.numbers.get(digits).format(value);
  }

  /** Up to `digits` decimals, without trailing zeros (thresholds, audit values). */
  decimal(value, digits = 4) {
    if (value === null || value === undefined || !Number.isFinite(value)) return '–';
    const key = `max${digits}`;
    if (!this.numbers.has(key)) this.numbers.set(key, new Intl.NumberFormat(this.lang, { maximumFractionDigits: digits }));
    return this.numbers.get(key).format(value);
  }

  percent(part, whole) {
    return whole > 0 ? this.t('unit.percent', { value: this.number((100 * part) / whole, 1) }) : '–';
  }

  time(value) {
    return value ? this.times.format(new Date(value)) : '–';
  }

  hoursMinutes(value) {
    return value ? this.minutes.format(new Date(value)) : '–';
  }

  dateTime(value) {
    return value ? this.dateTimes.format(new Date(value)) : '–';
  }

  duration(seconds) {
    if (seconds < 90) return this.t('unit.seconds', { value: Math.round(seconds) });
    if (seconds < 5400) return this.t('unit.minutes', { value: Math.round(seconds / 60) });
    return this.t('unit.hours', { value: this.number(seconds / 3600, 1) });
  }
}
