/**
 * Synapse's `Ratelimiter` (synapse/api/ratelimiting.py, `can_do_action` / `ratelimit` /
 * `record_action`): a "leaky bucket as a meter" per key. Each bucket counts the actions allowed
 * since it was last empty and drains at `perSecond`; an action is allowed while the drained count
 * is at most `burst - 1`. A refused action is not recorded. `retry_after_ms` is
 * `int(1000 * (time_allowed - now))` with `time_allowed = start + (count - burst + 1) / rate`:
 * truncated, not rounded up.
 */
export interface RateLimitConfig {
	perSecond: number;
	burst: number;
}

export interface RateLimitCheck {
	allowed: boolean;
	/** Until one more action fits (Synapse's `retry_after_ms`; 0 when allowed now). */
	retryAfterMs: number;
}

export class RateLimiter {
	/** key → (actions since the bucket was last empty, when that was in seconds). */
	private readonly buckets = new Map<string, { count: number; start: number }>();

	constructor(
		public config: RateLimitConfig,
		private readonly now: () => number = () => performance.now(),
	) {}

	/**
	 * `can_do_action`: may `key` act now? With `update` (the default) an allowed action is recorded.
	 * `override` replaces the configured rate and burst for this call (Synapse's per-user
	 * `ratelimit_override` for rc_message).
	 */
	check(key: string, update = true, override?: RateLimitConfig): RateLimitCheck {
		const { perSecond, burst } = override ?? this.config;
		const nowS = this.now() / 1000;
		let { count, start } = this.buckets.get(key) ?? { count: 0, start: nowS };
		const performed = count - (nowS - start) * perSecond;
		if (performed < 0) {
			// The bucket ran empty: start over and forgive everything before.
			count = 0;
			start = nowS;
		}
		const allowed = !(Math.max(0, performed) > burst - 1);
		if (allowed) {
			count += 1;
			if (update) this.buckets.set(key, { count, start });
		}
		if (perSecond <= 0) return { allowed, retryAfterMs: 0 };
		const allowedAt = Math.max(nowS, start + (count - burst + 1) / perSecond);
		return { allowed, retryAfterMs: allowed ? 0 : Math.trunc(1000 * (allowedAt - nowS)) };
	}

	/** `ratelimit(update=True)`: undefined when allowed (and recorded), else `retry_after_ms`. */
	take(key: string): number | undefined {
		const { allowed, retryAfterMs } = this.check(key);
		return allowed ? undefined : retryAfterMs;
	}

	/**
	 * `record_action`: counts an action even if it breaks the limit (joins seen in a room). Like
	 * Synapse it adds to the stored count without draining first, and drops the bucket when that
	 * count has already leaked away (`_record_action_inner`'s prune).
	 */
	record(key: string, actions = 1): void {
		const nowS = this.now() / 1000;
		const bucket = this.buckets.get(key) ?? { count: 0, start: nowS };
		const count = bucket.count + actions;
		if (bucket.start + count / this.config.perSecond <= nowS) this.buckets.delete(key);
		else this.buckets.set(key, { count, start: bucket.start });
	}

	reset(): void {
		this.buckets.clear();
	}
}

/**
 * Synapse 1.67 defaults (synapse/config/ratelimiting.py; reference §3.3). HEAD differs only in the
 * login limiters: `rc_login.address` and `.account` became 0.003/s burst 5 in 1.79 (#15135).
 */
export const SYNAPSE_RATE_LIMITS = {
	/** `rc_message`: every event a user sends, membership changes (invite, kick, join…) included. */
	message: { perSecond: 0.2, burst: 10 },
	/** `rc_invites.per_room`: keyed by room, across all inviters. */
	invitesPerRoom: { perSecond: 0.3, burst: 10 },
	/** `rc_invites.per_user`: keyed by the invitee, across all rooms and inviters. */
	invitesPerUser: { perSecond: 0.003, burst: 5 },
	/** `rc_invites.per_issuer`: keyed by the inviter. */
	invitesPerIssuer: { perSecond: 0.3, burst: 10 },
	/** `rc_joins.local`: joins by local users. */
	joins: { perSecond: 0.1, burst: 10 },
	/** `rc_joins_per_room`: joins into one room, from anywhere (checked, recorded on each join). */
	joinsPerRoom: { perSecond: 1, burst: 10 },
	/** `rc_login.address`: every login attempt, keyed by the client's IP. */
	loginAddress: { perSecond: 0.17, burst: 3 },
	/** `rc_login.account`: successful logins, keyed by the (lowercased) user ID. */
	loginAccount: { perSecond: 0.17, burst: 3 },
	/** `rc_login.failed_attempts`: failed logins, keyed by the (lowercased) user ID. */
	loginFailed: { perSecond: 0.17, burst: 3 },
} satisfies Record<string, RateLimitConfig>;

export type RateLimitName = keyof typeof SYNAPSE_RATE_LIMITS;
export type RateLimitOptions = Partial<Record<RateLimitName, RateLimitConfig | false>>;
