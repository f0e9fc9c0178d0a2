import { sleepMs } from '../http/retry';

/**
 * Learns how fast a homeserver lets us act, from its 429 answers.
 *
 * Synapse limits with a leaky bucket (reference §3.3). When a 429 arrives right after a success, the
 * bucket was full at that success, so `retry_after + time since that success` is one token period:
 * 1000 / (retry_after_ms + sinceLastSuccessMs) is an upper bound of the server's rate that is tight
 * under saturation. We pace a little under it, then probe upwards slowly, and cut
 * again on the next 429 (multiplicative decrease, AIMD). Before the first 429 we ramp up quickly
 * (slow start), so an unlimited server is not crawled at the initial rate.
 *
 * Pacing is a virtual schedule (GCRA): every acquire reserves the next slot; a 429 pauses everyone
 * until the server's retry time, and slots reserved before it are re-reserved.
 */
export interface PacerOptions {
	/** Starting pace, actions per second (default 10). */
	initialRate?: number;
	minRate?: number;
	maxRate?: number;
	/** How many actions may go back to back when we have been idle (default 1: smooth). */
	burst?: number;
	/** Share of the estimated server rate to pace at after a 429 (default 0.95). */
	backoffFactor?: number;
	/** Increase per success after the first 429, as a share of the rate (default 0.001). */
	probeGrowthPerSuccess?: number;
	now?: () => number;
	sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Actions per second below which 429s that name no delay do not push the pace (see onRateLimited). */
export const UNINFORMED_FLOOR = 0.5;

export class AdaptivePacer {
	rate: number;
	private readonly minRate: number;
	private readonly maxRate: number;
	private readonly burst: number;
	private readonly backoffFactor: number;
	private readonly probeGrowth: number;
	private readonly now: () => number;
	private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
	private tat: number;
	private pausedUntil = 0;
	private lastSuccessAt: number | undefined;
	private lastGrowthAt: number;
	private limited = false;
	private lastCutAt = -Infinity;
	rateLimitedCount = 0;

	constructor(options: PacerOptions = {}) {
		this.minRate = options.minRate ?? 0.01;
		this.maxRate = options.maxRate ?? 200;
		this.rate = clamp(options.initialRate ?? 10, this.minRate, this.maxRate);
		this.burst = Math.max(1, options.burst ?? 1);
		this.backoffFactor = options.backoffFactor ?? 0.95;
		this.probeGrowth = options.probeGrowthPerSuccess ?? 0.001;
		this.now = options.now ?? (() => performance.now());
		this.sleep = options.sleep ?? sleepMs;
		this.tat = this.now();
		this.lastGrowthAt = this.tat;
	}

	private get interval(): number {
		return 1000 / this.rate;
	}

	/**
	 * Waits for the next slot. Resolves false, without waiting, when that slot lies past `deadline`
	 * (the caller then gives up instead of sleeping beyond its budget).
	 */
	async acquire(deadline = Infinity, signal?: AbortSignal): Promise<boolean> {
		for (;;) {
			if (signal?.aborted) return false;
			const now = this.now();
			const slot = Math.max(now, this.pausedUntil, this.tat - (this.burst - 1) * this.interval);
			if (slot > deadline) return false;
			this.tat = Math.max(this.tat, slot) + this.interval;
			const pauseSeen = this.pausedUntil;
			if (slot > now) await this.sleep(slot - now, signal);
			// A 429 arrived while we waited: our slot was planned before the server said "slow down".
			if (this.pausedUntil > pauseSeen && this.pausedUntil > this.now()) continue;
			return true;
		}
	}

	onSuccess(): void {
		const now = this.now();
		this.lastSuccessAt = now;
		const elapsed = Math.max(0, (now - this.lastGrowthAt) / 1000);
		this.lastGrowthAt = now;
		// Slow start doubles per second until the server first pushes back; then probe gently, per
		// success, so the share of 429s does not depend on how fast the server is.
		const growth = this.limited ? this.rate * this.probeGrowth : this.rate * (2 ** elapsed - 1);
		this.rate = clamp(this.rate + growth, this.minRate, this.maxRate);
	}

	/**
	 * The server answered 429 and asked us to wait `retryAfterMs`. `precise` is false when the delay
	 * was only known in whole seconds (a `Retry-After` header): the estimate is then too pessimistic,
	 * so one 429 may at most halve the pace. `informed` is false when the server named no delay at all
	 * (the wait is our own backoff): such a 429 tells nothing about the server's rate, so it may halve
	 * the pace but never push it below UNINFORMED_FLOOR — storms of them must not starve a run.
	 */
	onRateLimited(retryAfterMs: number, precise = true, informed = true): void {
		const now = this.now();
		this.rateLimitedCount++;
		this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
		this.tat = Math.max(this.tat, this.pausedUntil);
		this.lastGrowthAt = now;
		// Several in-flight requests may bounce off the same empty bucket: cut once per pause.
		if (now < this.lastCutAt) return;
		this.limited = true;
		const since = this.lastSuccessAt === undefined ? Infinity : now - this.lastSuccessAt;
		let estimate = Number.isFinite(since) ? 1000 / (retryAfterMs + since) : this.rate / 2;
		if (!precise || !informed) estimate = Math.max(estimate, this.rate / 2);
		let next = Math.min(this.rate, estimate) * this.backoffFactor;
		if (!informed) next = Math.max(next, Math.min(this.rate, UNINFORMED_FLOOR));
		this.rate = clamp(next, this.minRate, this.maxRate);
		this.lastCutAt = this.pausedUntil;
	}
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}
