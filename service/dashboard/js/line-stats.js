// Counters (shift and last hour), throughput and latency, camera, models, and the header facts.

import { CameraTiles } from './cameras.js';
import { byId } from './dom.js';

export class LineStats {
  constructor(texts) {
    this.texts = texts;
    this.tiles = new CameraTiles(texts);
  }

  showStatus(status) {
    const { texts } = this;
    this.showCounts('hour', status.counts_last_hour);
    byId('perf-throughput').textContent = texts.t('perf.fps', { value: texts.number(status.throughput_fps, 1) });
    byId('perf-latency').textContent =
      status.latency_ms_p50 === null
        ? '–'
        : texts.t('perf.ms', { p50: texts.number(status.latency_ms_p50, 1), p99: texts.number(status.latency_ms_p99, 1) });
    this.showCamera(status.camera);
    this.tiles.show(status.cameras);
    const model = status.active_model || texts.t('header.none');
    byId('model-active').textContent = model;
    byId('fact-model').textContent = model;
    byId('fact-model').classList.toggle('bad', !status.active_model);
    byId('fact-uncalibrated').hidden = status.active_model_calibrated !== false;
    byId('model-shadow-row').hidden = !status.shadow_model;
    byId('model-shadow').textContent = status.shadow_model || '';
  }

  showShift({ since, counts }) {
    byId('counts-shift-head').textContent = this.texts.t('counts.shift', { time: this.texts.hoursMinutes(since) });
    this.showCounts('shift', counts);
  }

  showCounts(prefix, counts) {
    const { texts } = this;
    const total = counts.pass + counts.review + counts.reject;
    byId(`${prefix}-inspected`).textContent = texts.number(total);
    byId(`${prefix}-pass`).textContent = texts.number(counts.pass);
    byId(`${prefix}-review`).textContent = texts.number(counts.review);
    byId(`${prefix}-reject`).textContent = texts.number(counts.reject);
    byId(`${prefix}-yield`).textContent = texts.percent(counts.pass, total);
    byId(`${prefix}-rate`).textContent = texts.percent(counts.reject, total);
  }

  showCamera(camera) {
    const { texts } = this;
    const stateText = texts.t(`camera.state.${camera.state}`);
    for (const id of ['camera-state', 'fact-camera']) {
      byId(id).textContent = stateText;
      byId(id).dataset.state = camera.state;
    }
    byId('camera-fps').textContent = texts.t('camera.fpsValue', { value: texts.number(camera.fps, 1) });
    byId('camera-dropped').textContent = texts.number(camera.dropped);
    byId('camera-timeouts').textContent = texts.number(camera.timeouts);
    byId('camera-reconnects').textContent = texts.number(camera.reconnects);
    byId('camera-error-row').hidden = !camera.error;
    byId('camera-error').textContent = camera.error || '';
  }

  showConnection(state) {
    const element = byId('fact-connection');
    element.dataset.state = state;
    element.textContent = this.texts.t(`connection.${state}`);
  }
}
