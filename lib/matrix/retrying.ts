import { backoffMs, sleepMs } from '../http/retry';
import type { MatrixOutcome } from './client';

export interface RetryOptions {
	/** Absolute time (ms, same clock as `now`) after which no new attempt starts. */
	deadline: number;
	/** Retries for 5xx and network failures (429s are bounded by the deadline only). */
	maxRetries?: number;
	baseDelayMs?: number;
	now?: () => number;
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
	signal?: AbortSignal;
}

/** Worth another try later: rate limited, a server error, or no answer at all. */
export function isTransient(outcome: MatrixOutcome<unknown>): boolean {
	if (outcome.ok) return false;
	return outcome.kind === 'network' || outcome.status === 429 || outcome.status >= 500;
}

/**
 * Runs one idempotent request, retrying 429 (after the server's delay), 5xx and network failures
 * (exponential backoff with jitter) while the deadline allows. Returns the last outcome.
 */
export async function withRetries<T>(
	op: () => Promise<MatrixOutcome<T>>,
	options: RetryOptions,
): Promise<MatrixOutcome<T>> {
	const now = options.now ?? Date.now;
	const sleep = options.sleep ?? sleepMs;
	const maxRetries = options.maxRetries ?? 4;
	let failures = 0;
	for (;;) {
		const outcome = await op();
		if (!isTransient(outcome) || options.signal?.aborted) return outcome;
		let wait: number;
		if (!outcome.ok && outcome.kind === 'http' && outcome.status === 429) {
			wait = outcome.retryAfterMs ?? backoffMs(failures, options.baseDelayMs ?? 1000);
		} else {
			if (failures >= maxRetries) return outcome;
			wait = backoffMs(failures, options.baseDelayMs ?? 500);
			failures++;
		}
		if (now() + wait > options.deadline) return outcome;
		await sleep(wait, options.signal);
	}
}
