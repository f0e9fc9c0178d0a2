import type { HttpResponse } from './types';

/**
 * How long a server asked us to wait, in milliseconds, or undefined when it did not say.
 * Reads `Retry-After` (delta-seconds or an HTTP date, RFC 9110 §10.2.3) and, for Matrix,
 * the body's `retry_after_ms`. Garbage values are ignored rather than trusted.
 */
export function retryAfterMs(response: Pick<HttpResponse, 'headers' | 'body'>, now = Date.now()): number | undefined {
	const header = response.headers['retry-after'];
	if (header !== undefined) {
		const trimmed = header.trim();
		if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
		const date = Date.parse(trimmed);
		if (!Number.isNaN(date)) return Math.max(0, date - now);
	}
	const body = response.body as { retry_after_ms?: unknown } | undefined;
	if (body && typeof body === 'object' && typeof body.retry_after_ms === 'number') {
		const ms = body.retry_after_ms;
		if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
	}
	return undefined;
}

/** Exponential backoff with full jitter, capped: attempt 0 → up to base, attempt n → up to base·2ⁿ. */
export function backoffMs(attempt: number, baseMs = 500, capMs = 30_000, random = Math.random): number {
	const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
	return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (ms <= 0 || signal?.aborted) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		}
		signal?.addEventListener('abort', done, { once: true });
	});
}
