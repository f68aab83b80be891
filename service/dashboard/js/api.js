// The HTTP client: the API key goes in the X-API-Key header, or as ?api_key= where the browser
// cannot send headers (EventSource, <img>).

const KEY_STORAGE = 'gaikan.apiKey';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function describe(detail) {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map((item) => `${(item.loc || []).slice(1).join('.')}: ${item.msg}`).join('; ');
  return JSON.stringify(detail);
}

export class Client {
  constructor(storage = window.localStorage) {
    this.storage = storage;
    this.key = storage.getItem(KEY_STORAGE) || '';
  }

  setKey(key) {
    this.key = key || '';
    if (this.key) this.storage.setItem(KEY_STORAGE, this.key);
    else this.storage.removeItem(KEY_STORAGE);
  }

  /** `path` with the key as a query parameter, for <img> and EventSource. */
  url(path, params = {}) {
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined) url.searchParams.set(name, value);
    }
    if (this.key) url.searchParams.set('api_key', this.key);
    return url.pathname + url.search;
  }

  /** JSON from the API; throws ApiError (status 0: network) with the server's reason. */
  async request(path, { method = 'GET', params = {}, json, body, contentType, timeoutMs = 10000 } = {}) {
    const headers = { Accept: 'application/json' };
    if (this.key) headers['X-API-Key'] = this.key;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (contentType) {
      headers['Content-Type'] = contentType;
    }
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined) url.searchParams.set(name, value);
    }
    let response;
    try {
      // A stalled service must not leave the page waiting (and looking healthy) forever.
      const signal = AbortSignal.timeout(timeoutMs);
      response = await fetch(url.pathname + url.search, { method, headers, body, cache: 'no-store', signal });
    } catch (error) {
      throw new ApiError(0, String(error));
    }
    let text;
    try {
      text = await response.text();
    } catch (error) {
      throw new ApiError(0, String(error));
    }
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (!response.ok) throw new ApiError(response.status, describe(data && data.detail !== undefined ? data.detail : data));
    return data;
  }

  get(path, params) {
    return this.request(path, { params });
  }
}

/** What went wrong, for a person: the server's reason, or that it cannot be reached. */
export function describeError(texts, error) {
  if (error instanceof ApiError && error.status === 0) return texts.t('error.network');
  if (error instanceof ApiError) return texts.t('error.http', { detail: error.detail, status: error.status });
  return String(error);
}
