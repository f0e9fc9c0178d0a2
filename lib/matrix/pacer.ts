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

/**
 * Actions per second below which a 429 does not push the pace unless it tells the server's rate
 * (see onRateLimited): storms, or other clients draining the same bucket, must not starve a run.
 */
export const UNINFORMED_FLOOR = 0.5;

/**
 * After this long without a 429, probe upwards quickly again (slow start). When the last cut came
 * from a tight estimate of the server's rate, wait at least QUIET_INTERVALS slots too, so a slow
 * server (Synapse: 0.3/s) is re-probed rarely.
 */
const QUIET_MS = 10_000;
const QUIET_INTERVALS = 20;
/** …but never longer than this: a storm's tight estimate must not keep a run slow for minutes. */
const QUIET_MAX_MS = 60_000;

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
	private lastLimitedAt = -Infinity;
	private lastCutTight = false;
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
		// A storm, or a cut while others drained the bucket, may leave the pace far below what the
		// server allows again; probing by 0.1 % per success would take thousands of actions to recover.
		const quietMs = this.lastCutTight
			? Math.min(QUIET_MAX_MS, Math.max(QUIET_MS, QUIET_INTERVALS * this.interval))
			: QUIET_MS;
		if (this.limited && now - this.lastLimitedAt >= quietMs) this.limited = false;
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
		this.lastLimitedAt = now;
		this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
		this.tat = Math.max(this.tat, this.pausedUntil);
		this.lastGrowthAt = now;
		// Several in-flight requests may bounce off the same empty bucket: cut once per pause.
		if (now < this.lastCutAt) return;
		this.limited = true;
		const since = this.lastSuccessAt === undefined ? Infinity : now - this.lastSuccessAt;
		// The estimate is tight only while we were acting at our own pace: after a long silence (a
		// fresh run, or a pause while other clients took the tokens) `since` measures them, not us.
		const tight = precise && informed && since <= 2 * this.interval;
		// One answer is one sample: it may cut the pace to a quarter at most (a storm, or a server
		// reconfigured mid-run, can name a wait far longer than its usual token period).
		const estimate = tight
			? Math.max(1000 / (retryAfterMs + since), this.rate / 4)
			: this.rate / 2;
		let next = Math.min(this.rate, estimate) * this.backoffFactor;
		if (!tight) next = Math.max(next, Math.min(this.rate, UNINFORMED_FLOOR));
		this.lastCutTight = tight;
		this.rate = clamp(next, this.minRate, this.maxRate);
		this.lastCutAt = this.pausedUntil;
	}
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}

