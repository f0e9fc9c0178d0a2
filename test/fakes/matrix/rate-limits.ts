import type { FakeClock } from './clock';
import { HttpError } from './errors';
import {
	RateLimiter,
	SYNAPSE_RATE_LIMITS,
	type RateLimitConfig,
	type RateLimitName,
	type RateLimitOptions,
} from './rate-limit';

/** A row of Synapse's `ratelimit_override` table (admin API `override_ratelimit`). */
export interface RateLimitOverride {
	messagesPerSecond: number;
	burstCount: number;
}

export interface LimitAnswer {
	/** Send `Retry-After: ceil(retry_after_ms / 1000)` (Synapse ≥ 1.103; 1.67 sends none). */
	retryAfterHeader: boolean;
	/** Wait before answering a 429 (Synapse ≥ 1.108 pauses 500 ms; 1.67 answers at once). */
	pauseMs: number;
}

/**
 * The homeserver's set of limiters and per-user overrides. Which request meets which limiter, and
 * in which order, is decided by the routes (server.ts), each citing the Synapse handler it copies.
 */
export class HomeserverRateLimits {
	private readonly limiters = new Map<RateLimitName, RateLimiter>();
	private readonly overrides = new Map<string, RateLimitOverride>();

	constructor(
		private readonly clock: FakeClock,
		private readonly answer: () => LimitAnswer,
	) {}

	/** Synapse defaults unless overridden; `false` disables a limiter, `false` overall all of them. */
	configure(options: RateLimitOptions | false): void {
		this.limiters.clear();
		if (options === false) return;
		for (const name of Object.keys(SYNAPSE_RATE_LIMITS) as RateLimitName[]) {
			const config = options[name] === undefined ? SYNAPSE_RATE_LIMITS[name] : options[name];
			if (config) this.limiters.set(name, new RateLimiter({ ...config }, () => this.clock.now()));
		}
	}

	setOverride(userId: string, override: RateLimitOverride | undefined): void {
		if (override) this.overrides.set(userId, { ...override });
		else this.overrides.delete(userId);
	}

	override(userId: string): RateLimitOverride | undefined {
		const found = this.overrides.get(userId);
		return found ? { ...found } : undefined;
	}

	/**
	 * `Ratelimiter.can_do_action`: a requester whose override says 0 messages per second passes
	 * every limiter it is checked against (the table "cheekily" disables all of them); a non-zero
	 * override only replaces rc_message's rate and burst (`RequestRatelimiter.ratelimit`). Limiters
	 * checked without a requester (login) ignore overrides.
	 */
	canDo(name: RateLimitName, key: string, requester?: string, update = true) {
		const limiter = this.limiters.get(name);
		if (!limiter) return { allowed: true, retryAfterMs: 0 };
		const override = requester ? this.overrides.get(requester) : undefined;
		if (override && !override.messagesPerSecond) return { allowed: true, retryAfterMs: 0 };
		const config: RateLimitConfig | undefined =
			name === 'message' && override
				? { perSecond: override.messagesPerSecond, burst: override.burstCount }
				: undefined;
		return limiter.check(key, update, config);
	}

	/** `Ratelimiter.ratelimit`: throws the 429 `LimitExceededError` when not allowed. */
	ratelimit(name: RateLimitName, key: string, requester?: string, update = true): void {
		const { allowed, retryAfterMs } = this.canDo(name, key, requester, update);
		if (allowed) return;
		const { retryAfterHeader, pauseMs } = this.answer();
		// synapse/api/errors.py LimitExceededError: body {errcode, error, retry_after_ms}.
		throw new HttpError(
			429,
			'M_LIMIT_EXCEEDED',
			'Too Many Requests',
			{ retry_after_ms: retryAfterMs },
			retryAfterHeader ? { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) } : {},
			pauseMs,
		);
	}

	/**
	 * room_member.py `ratelimit_invite`, run by `update_membership` before any other check: per room
	 * (keyed by the room alone, across inviters), per invitee, per issuer, each charged as it passes,
	 * so a 429 from a later one leaves the earlier ones charged.
	 */
	chargeInvite(issuer: string, roomId: string, invitee: string): void {
		this.ratelimit('invitesPerRoom', roomId, issuer);
		this.ratelimit('invitesPerUser', invitee, issuer);
		this.ratelimit('invitesPerIssuer', issuer, issuer);
	}

	/**
	 * message.py `persist_and_notify_client_event`: rc_message for every event a user sends
	 * (messages, invites, kicks, joins…), after event auth. `update: false` only looks (the check
	 * `create_and_send_nonmember_event` makes first).
	 */
	chargeEvent(sender: string, update = true): void {
		this.ratelimit('message', sender, sender, update);
	}

	/** `record_action`: counted even past the limit. */
	record(name: RateLimitName, key: string): void {
		this.limiters.get(name)?.record(key);
	}
}
