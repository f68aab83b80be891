// Wires the dashboard together: one live feed drives the line view; the engineer view loads when
// opened and follows model and threshold changes.

import { Client } from './api.js';
import { Alarm } from './alarm.js';
import { AuditTrail } from './audit.js';
import { DetailDialog } from './detail.js';
import { byId, typing } from './dom.js';
import { LiveFeed } from './feed.js';
import { LineStats } from './line-stats.js';
import { ModelsPanel } from './models.js';
import { PartImage } from './part-image.js';
import { RecheckQueue } from './recheck.js';
import { RecheckSummary } from './recheck-summary.js';
import { RejectStrip } from './rejects.js';
import { Session } from './session.js';
import { currentShiftStart, shiftStarts } from './shift.js';
import { pickLanguage, rememberLanguage, Texts } from './strings.js';
import { Tabs } from './tabs.js';
import { ThresholdEditor } from './thresholds.js';
import { VerdictView } from './verdict.js';

const AUDIT_EVERY_MS = 15000;
const SUMMARY_EVERY_MS = 30000; // the summary counts a whole shift: not too often
const SUMMARY_AFTER_VERDICT_MS = 1500; // several quick verdicts, one summary query
const HOUR_MS = 3600 * 1000;

/** A key given as ?api_key= (a bookmark on a line-side screen) is kept, then removed from the address. */
function takeKeyFromAddress(client) {
  const url = new URL(location.href);
  const key = url.searchParams.get('api_key');
  if (key === null) return;
  client.setKey(key);
  url.searchParams.delete('api_key');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

const texts = new Texts(pickLanguage());
document.documentElement.lang = texts.lang;
document.title = texts.t('app.title');
texts.apply();
const languageSelect = byId('lang-select');
languageSelect.value = texts.lang;
languageSelect.addEventListener('change', () => {
  rememberLanguage(languageSelect.value);
  const url = new URL(location.href);
  url.searchParams.delete('lang'); // the switch wins over a ?lang= in the address
  history.replaceState(null, '', url.pathname + url.search + url.hash);
  location.reload(); // every view is drawn again in the chosen language
});

const client = new Client();
takeKeyFromAddress(client);

const session = new Session(client, texts);
const tabs = new Tabs();
const verdict = new VerdictView(texts);
const partImage = new PartImage(client, texts);
const stats = new LineStats(texts);
const alarm = new Alarm(texts);
const strip = new RejectStrip(client, texts, (decision) => detail.open(decision));
const detail = new DetailDialog(client, texts, strip);
byId('verdict-details').addEventListener('click', () => verdict.current && detail.open(verdict.current));
const audit = new AuditTrail(client, texts);
const thresholds = new ThresholdEditor(client, texts, { onApplied: () => audit.refresh() });
const models = new ModelsPanel(client, texts, {
  onChanged: () => Promise.all([audit.refresh(), thresholds.refresh()]).catch(() => {}),
});
const shifts = shiftStarts();
const feed = new LiveFeed(client, { shifts });
let feedStarted = false;

/** The re-check view's period: the current shift, or the last day or week. */
function recheckPeriod() {
  const choice = byId('rc-period').value;
  if (choice === 'day') return { since: new Date(Date.now() - 24 * HOUR_MS) };
  if (choice === 'week') return { since: new Date(Date.now() - 7 * 24 * HOUR_MS) };
  return { since: currentShiftStart(shifts) };
}
const recheckQueue = new RecheckQueue(client, texts, recheckPeriod);
const recheckSummary = new RecheckSummary(client, texts, recheckPeriod);

const engineerVisible = () => tabs.current === 'engineer';
const recheckVisible = () => tabs.current === 'recheck';

function refreshRecheck() {
  return Promise.all([recheckQueue.reload(), recheckSummary.refresh()]).catch((error) => console.warn('re-check view', error));
}
let summaryTimer = null;
recheckQueue.addEventListener('judged', () => {
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(() => recheckSummary.refresh().catch(() => {}), SUMMARY_AFTER_VERDICT_MS);
});
byId('rc-period').addEventListener('change', refreshRecheck);

function refreshEngineer() {
  return Promise.all([thresholds.refresh(), models.refresh(), audit.refresh()]).catch((error) => console.warn('engineer view', error));
}

function applyRole() {
  verdict.setNotice(session.principal ? null : texts.t('key.required'));
  const engineer = session.isEngineer;
  byId('eng-readonly').hidden = engineer || session.principal === null;
  thresholds.setAllowed(engineer);
  models.setAllowed(engineer);
}

function startFeed() {
  if (feedStarted) feed.restart();
  else feed.start();
  feedStarted = true;
}

feed.addEventListener('decision', ({ detail: decision }) => {
  verdict.show(decision);
  partImage.offer(decision);
  strip.add(decision);
  alarm.noteDecision(decision);
  thresholds.addDecision(decision);
  recheckQueue.noteDecision(decision);
  feed.poke();
});
feed.addEventListener('model', () => {
  feed.poke(0);
  if (engineerVisible()) refreshEngineer();
});
feed.addEventListener('status', ({ detail: status }) => {
  stats.showStatus(status);
  alarm.setStatus(status);
  if (status.last_decision) verdict.show(status.last_decision);
  if (session.principal === null) session.identify().then(applyRole, () => {});
});
feed.addEventListener('shift', ({ detail }) => {
  stats.showShift(detail);
  byId('counts-export').href = client.url('/api/v1/results/export.csv', { since: detail.since.toISOString() });
});
feed.addEventListener('open', () => strip.load().catch(() => {})); // catch up on anything missed while away
feed.addEventListener('connection', ({ detail }) => {
  stats.showConnection(detail.state);
  alarm.setConnection(detail);
});
feed.addEventListener('failure', ({ detail: error }) => {
  if (error.status === 401 && !byId('key-dialog').open) session.askKey(texts.t('key.required'));
});

session.addEventListener('changed', () => {
  applyRole();
  if (session.principal) {
    startFeed();
    strip.load().catch(() => {});
    if (engineerVisible()) refreshEngineer();
    recheckQueue.reload().catch(() => {});
  }
});

tabs.addEventListener('select', ({ detail: name }) => {
  if (name === 'engineer' && session.principal) refreshEngineer();
  if (name === 'recheck' && session.principal) refreshRecheck();
});
setInterval(() => {
  if (engineerVisible() && session.principal) audit.refresh().catch(() => {});
}, AUDIT_EVERY_MS);
setInterval(() => {
  if (recheckVisible() && session.principal) recheckSummary.refresh().catch(() => {});
}, SUMMARY_EVERY_MS);

document.addEventListener('keydown', (event) => {
  if (typing(event) || event.ctrlKey || event.metaKey || event.altKey || document.querySelector('dialog[open]')) return;
  const key = event.key.toLowerCase();
  if (recheckVisible() && recheckQueue.handleKey(key)) {
    event.preventDefault();
    return;
  }
  if (key === 'h') partImage.toggle();
  else if (key === 'r') tabs.select('recheck');
  else if (key === 'l') tabs.select('line');
  else if (key === 'e') tabs.select('engineer');
});

const clock = byId('clock');
const tick = () => {
  const now = new Date();
  clock.textContent = texts.time(now);
  clock.dateTime = now.toISOString();
};
tick();
setInterval(tick, 1000);

async function start() {
  tabs.select(tabs.fromHash());
  let principal = null;
  try {
    principal = await session.identify();
  } catch {
    startFeed(); // the service is unreachable: the feed raises the alarm and keeps trying
    return;
  }
  applyRole();
  if (!principal) {
    session.askKey(texts.t('key.required'));
    return;
  }
  startFeed();
  strip.load().catch(() => {});
  if (engineerVisible()) refreshEngineer();
  if (recheckVisible()) refreshRecheck();
  else recheckQueue.reload().catch(() => {}); // the tab shows how many parts wait
  const recent = await client.get('/api/v1/results', { limit: 50 }).catch(() => ({ items: [] }));
  const withImage = recent.items.find((item) => item.has_image);
  if (withImage) partImage.offer(withImage);
}

start();
window.gaikan = { texts, client, session, feed, recheckQueue }; // for the browser tests and the console
