/**
 * Synapse-style rate limiter: a leaky bucket of `burst` actions that drains at `perSecond`.
 * A rejected action is not charged (Synapse only records allowed actions), and the caller is told
 * how long until one action fits again — that becomes `retry_after_ms`.
 */
export interface RateLimitConfig {
	perSecond: number;
	burst: number;
}

export class RateLimiter {
	private readonly buckets = new Map<string, { level: number; at: number }>();

	constructor(
		public config: RateLimitConfig,
		private readonly now: () => number = () => performance.now(),
	) {}

	/** Charges one action for `key`; returns undefined when allowed, else the wait in ms. */
	take(key: string): number | undefined {
		const { perSecond, burst } = this.config;
		const now = this.now();
		const bucket = this.buckets.get(key) ?? { level: 0, at: now };
		const drained = Math.max(0, bucket.level - ((now - bucket.at) / 1000) * perSecond);
		if (drained + 1 > burst) {
			this.buckets.set(key, { level: drained, at: now });
			return Math.max(1, Math.ceil(((drained + 1 - burst) / perSecond) * 1000));
		}
		this.buckets.set(key, { level: drained + 1, at: now });
		return undefined;
	}

	reset(): void {
		this.buckets.clear();
	}
}

/** Synapse defaults (§3.3 of the reference; identical in 1.67 and HEAD). */
export const SYNAPSE_RATE_LIMITS = {
	message: { perSecond: 0.2, burst: 10 },
	invitesPerRoom: { perSecond: 0.3, burst: 10 },
	invitesPerUser: { perSecond: 0.003, burst: 5 },
	invitesPerIssuer: { perSecond: 0.3, burst: 10 },
	joins: { perSecond: 0.1, burst: 10 },
	login: { perSecond: 0.17, burst: 3 },
	loginFailed: { perSecond: 0.17, burst: 3 },
} satisfies Record<string, RateLimitConfig>;

export type RateLimitName = keyof typeof SYNAPSE_RATE_LIMITS;
export type RateLimitOptions = Partial<Record<RateLimitName, RateLimitConfig | false>>;
