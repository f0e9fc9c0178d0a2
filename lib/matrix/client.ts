import { retryAfterMs } from '../http/retry';
import {
	TransportError,
	type HttpMethod,
	type HttpTransport,
	type QueryValue,
} from '../http/types';
import { USER_AGENT } from '../http/user-agent';

/**
 * A thin Matrix client-server API client (v3 paths) over the HttpTransport seam. Authentication is
 * the transport's business (n8n credential or a fetch transport with a Bearer header). Every call
 * resolves to a typed outcome instead of throwing, so callers classify without string matching on
 * exceptions. Nothing here logs, and error texts never carry IDs or tokens.
 */
export type MatrixOutcome<T> = { ok: true; status: number; value: T } | MatrixFailure;

export interface MatrixHttpFailure {
	ok: false;
	kind: 'http';
	status: number;
	errcode: string;
	/** The server's text. May contain Matrix IDs: never put it in logs or user-facing errors. */
	serverError: string;
	retryAfterMs?: number;
	/** Whether the delay came from the millisecond-precise body (else the whole-second header). */
	retryAfterPrecise?: boolean;
}

export type MatrixFailure = MatrixHttpFailure | { ok: false; kind: 'network'; code: string };

export interface MemberEvent {
	type: 'm.room.member';
	state_key: string;
	sender: string;
	content: { membership?: string; reason?: string; displayname?: string };
	event_id?: string;
	origin_server_ts?: number;
}

export interface PowerLevels {
	users?: Record<string, number>;
	users_default?: number;
	events?: Record<string, number>;
	events_default?: number;
	state_default?: number;
	invite?: number;
	kick?: number;
	ban?: number;
	redact?: number;
}

export interface LoginResult {
	user_id: string;
	access_token: string;
	device_id: string;
}

export class MatrixClient {
	readonly homeserverUrl: string;

	constructor(
		homeserverUrl: string,
		private readonly transport: HttpTransport,
		private readonly timeoutMs = 30_000,
	) {
		this.homeserverUrl = normaliseHomeserverUrl(homeserverUrl);
	}

	/** Path segments are percent-encoded one by one: `#`, `!`, `:` and `@` must never reach the URL raw. */
	url(segments: readonly string[], prefix = '/_matrix/client/v3'): string {
		return `${this.homeserverUrl}${prefix}/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
	}

	async request<T>(
		method: HttpMethod,
		segments: readonly string[],
		options: {
			qs?: Record<string, QueryValue | undefined>;
			body?: unknown;
			prefix?: string;
			timeoutMs?: number;
		} = {},
	): Promise<MatrixOutcome<T>> {
		try {
			const response = await this.transport<unknown>({
				method,
				url: this.url(segments, options.prefix),
				qs: options.qs,
				headers: { 'User-Agent': USER_AGENT },
				body: options.body ?? (method === 'POST' || method === 'PUT' ? {} : undefined),
				timeoutMs: options.timeoutMs ?? this.timeoutMs,
			});
			if (response.status >= 200 && response.status < 300) {
				return { ok: true, status: response.status, value: response.body as T };
			}
			const body = (response.body && typeof response.body === 'object' ? response.body : {}) as {
				errcode?: unknown;
				error?: unknown;
				retry_after_ms?: unknown;
			};
			// Prefer the body's milliseconds: the header is rounded up to whole seconds (§3.2 notes).
			const bodyDelay =
				typeof body.retry_after_ms === 'number' &&
				Number.isFinite(body.retry_after_ms) &&
				body.retry_after_ms >= 0
					? Math.round(body.retry_after_ms)
					: undefined;
			return {
				ok: false,
				kind: 'http',
				status: response.status,
				errcode: typeof body.errcode === 'string' ? body.errcode : 'M_UNKNOWN',
				serverError: typeof body.error === 'string' ? body.error : '',
				retryAfterMs: response.status === 429 ? (bodyDelay ?? retryAfterMs(response)) : undefined,
				retryAfterPrecise: response.status === 429 ? bodyDelay !== undefined : undefined,
			};
		} catch (error) {
			if (error instanceof TransportError) return { ok: false, kind: 'network', code: error.code };
			return { ok: false, kind: 'network', code: 'ENETWORK' };
		}
	}

	versions() {
		return this.request<{ versions: string[] }>('GET', ['versions'], { prefix: '/_matrix/client' });
	}

	whoami() {
		return this.request<{ user_id: string; device_id?: string; is_guest?: boolean }>('GET', [
			'account',
			'whoami',
		]);
	}

	login(user: string, password: string, deviceId?: string, displayName?: string) {
		const body: Record<string, unknown> = {
			type: 'm.login.password',
			identifier: { type: 'm.id.user', user },
			password,
		};
		if (deviceId) body.device_id = deviceId;
		if (displayName) body.initial_device_display_name = displayName;
		return this.request<LoginResult>('POST', ['login'], { body });
	}

	resolveAlias(alias: string) {
		return this.request<{ room_id: string; servers?: string[] }>('GET', [
			'directory',
			'room',
			alias,
		]);
	}

	join(roomIdOrAlias: string, via: string[] = []) {
		return this.request<{ room_id: string }>('POST', ['join', roomIdOrAlias], {
			qs: via.length ? { via } : undefined,
			body: {},
		});
	}

	invite(roomId: string, userId: string, reason?: string) {
		return this.request<Record<string, never>>('POST', ['rooms', roomId, 'invite'], {
			body: withReason({ user_id: userId }, reason),
		});
	}

	/** Kicking an invited user withdraws the invite. */
	kick(roomId: string, userId: string, reason?: string) {
		return this.request<Record<string, never>>('POST', ['rooms', roomId, 'kick'], {
			body: withReason({ user_id: userId }, reason),
		});
	}

	ban(roomId: string, userId: string, reason?: string) {
		return this.request<Record<string, never>>('POST', ['rooms', roomId, 'ban'], {
			body: withReason({ user_id: userId }, reason),
		});
	}

	unban(roomId: string, userId: string, reason?: string) {
		return this.request<Record<string, never>>('POST', ['rooms', roomId, 'unban'], {
			body: withReason({ user_id: userId }, reason),
		});
	}

	members(roomId: string, filter: { membership?: string; notMembership?: string } = {}) {
		return this.request<{ chunk: MemberEvent[] }>('GET', ['rooms', roomId, 'members'], {
			qs: { membership: filter.membership, not_membership: filter.notMembership },
		});
	}

	joinedMembers(roomId: string) {
		return this.request<{ joined: Record<string, { display_name?: string | null }> }>('GET', [
			'rooms',
			roomId,
			'joined_members',
		]);
	}

	stateEvent<T>(roomId: string, type: string, stateKey = '') {
		return this.request<T>('GET', ['rooms', roomId, 'state', type, stateKey]);
	}

	powerLevels(roomId: string) {
		return this.stateEvent<PowerLevels>(roomId, 'm.room.power_levels');
	}

	send(roomId: string, eventType: string, txnId: string, content: Record<string, unknown>) {
		return this.request<{ event_id: string }>('PUT', ['rooms', roomId, 'send', eventType, txnId], {
			body: content,
		});
	}

	/** One event of a room (404 M_NOT_FOUND when it does not exist or the bot may not see it). */
	event(roomId: string, eventId: string) {
		return this.request<{ sender?: unknown; content?: Record<string, unknown> }>('GET', [
			'rooms',
			roomId,
			'event',
			eventId,
		]);
	}

	profile(userId: string) {
		return this.request<{ displayname?: string; avatar_url?: string }>('GET', ['profile', userId]);
	}

	joinedRooms() {
		return this.request<{ joined_rooms: string[] }>('GET', ['joined_rooms']);
	}

	/** Synapse admin API: the user's `ratelimit_override` row (`{}` when none). Server admins only. */
	rateLimitOverride(userId: string) {
		return this.request<{ messages_per_second?: number; burst_count?: number }>(
			'GET',
			['users', userId, 'override_ratelimit'],
			{ prefix: '/_synapse/admin/v1' },
		);
	}

	/** Synapse admin API: 0 messages per second lifts every limiter for the user. Server admins only. */
	setRateLimitOverride(userId: string, messagesPerSecond = 0, burstCount = 0) {
		return this.request<{ messages_per_second: number; burst_count: number }>(
			'POST',
			['users', userId, 'override_ratelimit'],
			{
				prefix: '/_synapse/admin/v1',
				body: { messages_per_second: messagesPerSecond, burst_count: burstCount },
			},
		);
	}
}

function withReason(body: Record<string, unknown>, reason?: string): Record<string, unknown> {
	return reason ? { ...body, reason } : body;
}

export function normaliseHomeserverUrl(raw: string): string {
	const trimmed = String(raw ?? '')
		.trim()
		.replace(/\/+$/, '');
	if (!URL.canParse(trimmed)) throw new Error('The homeserver URL is not a valid URL');
	const url = new URL(trimmed);
	if (url.protocol !== 'http:' && url.protocol !== 'https:')
		throw new Error('The homeserver URL must start with http:// or https://');
	return trimmed;
}

/** A short, ID-free description of a failure, safe for logs and error messages. */
export function describeFailure(failure: MatrixFailure): string {
	if (failure.kind === 'network') return `no response from the homeserver (${failure.code})`;
	return `homeserver answered ${failure.status} ${failure.errcode}`;
}

/** Raised for failures that stop a whole run (bad token, misconfiguration). Message carries no IDs. */
export class MatrixApiError extends Error {
	constructor(
		message: string,
		readonly failure?: MatrixFailure,
	) {
		super(message);
		this.name = 'MatrixApiError';
	}

	get httpCode(): string | undefined {
		return this.failure?.kind === 'http' ? String(this.failure.status) : undefined;
	}
}
