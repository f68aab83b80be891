// A line of several cameras: a tile per camera (state, rate, latency, model, why it rejects),
// the views of the latest part side by side under the verdict, and every view's pictures of a
// station's part (the Details dialog, the re-check view).

import { byId, el } from './dom.js';
import { viewImageUrls } from './evidence.js';

export class CameraTiles {
  constructor(texts) {
    this.texts = texts;
    this.panel = byId('cameras-panel');
    this.list = byId('camera-tiles');
  }

  /** One tile per camera; hidden for a line of one camera (the camera section shows it). */
  show(cameras) {
    const { texts } = this;
    this.panel.hidden = !cameras || cameras.length < 2;
    if (this.panel.hidden) return;
    this.list.replaceChildren(
      ...cameras.map((camera) => {
        const where = camera.station ? texts.t('cameras.view', { station: camera.station, view: camera.view }) : texts.t('cameras.own');
        const bad = camera.fail_safe.length > 0;
        return el('li', { class: 'camera-tile', dataset: { camera: camera.camera_id, cameraState: camera.state, failSafe: bad ? 'yes' : 'no' } }, [
          el('strong', { class: 'camera-name', text: camera.camera_id }),
          el('span', { class: 'camera-state', dataset: { state: camera.state }, text: texts.t(`camera.state.${camera.state}`) }),
          el('span', { class: 'camera-where muted', text: where }),
          el('span', { text: texts.t('cameras.rate', { fps: texts.number(camera.fps, 1), decided: texts.number(camera.throughput_fps, 1) }) }),
          el('span', { text: texts.t('cameras.p99', { value: camera.latency_ms_p99 === null ? '–' : texts.number(camera.latency_ms_p99, 0) }) }),
          el('span', { class: 'muted', text: texts.t('cameras.model', { version: camera.model_version || texts.t('header.none') }) }),
          bad ? el('span', { class: 'camera-fail', text: camera.fail_safe.map((reason) => texts.t(`alarm.failSafe.${reason}`)).join(', ') }) : null,
        ]);
      }),
    );
  }
}

/** The views of a station's part decision side by side (hidden for a one-camera decision). */
export function showViews(list, decision, texts) {
  const views = (decision && decision.views) || [];
  list.hidden = views.length === 0;
  list.replaceChildren(
    ...views.map((view) =>
      el('li', { class: 'view-result', dataset: { outcome: view.decision, view: view.view } }, [
        el('strong', { text: view.view }),
        el('span', { class: 'view-outcome', text: texts.t(`outcome.word.${view.decision}`) }),
        el('span', { text: view.reason === 'score' ? texts.number(view.score, 3) : texts.t(`reason.${view.reason}`) }),
      ]),
    ),
  );
}

/** Every view's image and heatmap of a station's part side by side, each with its verdict and
 * score; returns whether there were views (false: one camera's decision, the list hidden). */
export function showViewPictures(list, client, texts, decision) {
  const results = new Map((decision.views || []).map((view) => [view.view, view]));
  const pictures = viewImageUrls(client, decision);
  list.hidden = pictures.length === 0;
  list.replaceChildren(
    ...pictures.map(({ view, image, heatmap }) => {
      const result = results.get(view);
      const score = result.reason === 'score' ? texts.number(result.score, 3) : texts.t(`reason.${result.reason}`);
      const names = { seq: decision.seq, view };
      return el('li', { class: 'view-picture', dataset: { view, outcome: result.decision } }, [
        el('strong', { class: 'view-picture-caption', text: `${view} · ${texts.t(`outcome.word.${result.decision}`)} · ${score}` }),
        image ? el('img', { src: image, alt: texts.t('image.viewAlt', names) }) : el('p', { class: 'muted', text: texts.t('detail.noViewImage') }),
        heatmap ? el('img', { src: heatmap, alt: texts.t('image.viewHeatmapAlt', names) }) : null,
      ]);
    }),
  );
  return pictures.length > 0;
}
