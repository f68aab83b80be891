// Part images are saved shortly after the decision event: wait for them, then preload.

import { sleep } from './dom.js';

const POLL_MS = [120, 250, 400, 700, 1000, 1500];

/** Whether images may ever exist for a decision (parts rejected before inspection have none). */
export function mayHaveImages(decision) {
  return decision.reason !== 'camera_fault' && !(decision.reason === 'timeout' && decision.model_version === null);
}

/** The decision re-read until it has an image, or null once `patienceMs` have passed or
 * `abandon()` says to stop. */
export async function waitForEvidence(client, decision, { patienceMs = 4000, abandon = () => false } = {}) {
  if (decision.has_image) return decision;
  if (!mayHaveImages(decision)) return null;
  const started = performance.now();
  for (let attempt = 0; performance.now() - started < patienceMs; attempt += 1) {
    await sleep(POLL_MS[Math.min(attempt, POLL_MS.length - 1)]);
    if (abandon()) return null;
    try {
      const fresh = await client.get(`/api/v1/results/${decision.seq}`);
      if (fresh.has_image) return fresh;
    } catch {
      return null;
    }
  }
  return null;
}

/** Resolves with the loaded Image, or null if it fails to load. */
export function preload(url) {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => resolve(null);
    image.src = url;
  });
}

export function imageUrls(client, decision) {
  return {
    image: decision.has_image ? client.url(`/api/v1/results/${decision.seq}/image`) : null,
    heatmap: decision.has_heatmap ? client.url(`/api/v1/results/${decision.seq}/heatmap`) : null,
  };
}

/** Each view's picture URLs for a station's part (`view_pictures`, in the station's order). */
export function viewImageUrls(client, decision) {
  const base = `/api/v1/results/${decision.seq}/views`;
  return (decision.view_pictures || []).map((kept) => ({
    view: kept.view,
    image: kept.has_image ? client.url(`${base}/${encodeURIComponent(kept.view)}/image`) : null,
    heatmap: kept.has_heatmap ? client.url(`${base}/${encodeURIComponent(kept.view)}/heatmap`) : null,
  }));
}
