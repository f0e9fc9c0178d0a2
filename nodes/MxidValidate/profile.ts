import type { HttpTransport } from '../../lib/http/types';
import { retryAfterMs, sleepMs } from '../../lib/http/retry';

/**
 * The existence check: GET /_matrix/client/v3/profile/{userId} on the bot's homeserver (what
 * Element does before inviting; Synapse does not check invitees itself). Kept here, not in
 * lib/matrix, because it is this node's only Matrix call.
 *
 * exists: 200. notFound: 404 M_NOT_FOUND. unreachable: no answer, or the homeserver could not
 * reach the user's server (5xx). unknown: anything else (403 from servers that restrict profile
 * look-ups, rate limits that do not clear, unexpected answers): never a reason to reject.
 */
export type Existence = 'exists' | 'notFound' | 'unreachable' | 'unknown';

export class ProfileAuthError extends Error {
	constructor() {
		super(
			"The homeserver rejected the bot's access token (401); check the Matrix Bot API credential",
		);
		this.name = 'ProfileAuthError';
	}
}

const MAX_RATE_LIMIT_RETRIES = 2;
const MAX_WAIT_MS = 10_000;

export async function lookUpProfile(
	transport: HttpTransport,
	homeserverUrl: string,
	userId: string,
): Promise<Existence> {
	const url = `${homeserverUrl}/_matrix/client/v3/profile/${encodeURIComponent(userId)}`;
	for (let attempt = 0; ; attempt++) {
		let response;
		try {
			response = await transport<{ errcode?: string }>({ method: 'GET', url, timeoutMs: 20_000 });
		} catch {
			// An HttpTransport rejects only with a TransportError: no answer from the homeserver.
			return 'unreachable';
		}
		const errcode =
			response.body && typeof response.body === 'object' ? response.body.errcode : undefined;
		if (response.status >= 200 && response.status < 300) return 'exists';
		if (response.status === 401) throw new ProfileAuthError();
		if (response.status === 404)
			return errcode === 'M_NOT_FOUND' || errcode === undefined ? 'notFound' : 'unknown';
		if (response.status === 429 && attempt < MAX_RATE_LIMIT_RETRIES) {
			const wait = retryAfterMs(response) ?? 1000 * (attempt + 1);
			if (wait > MAX_WAIT_MS) return 'unknown';
			await sleepMs(wait);
			continue;
		}
		if (response.status >= 500) return 'unreachable';
		return 'unknown';
	}
}

/** The credential's homeserver base URL without trailing slashes, or undefined when unusable. */
export function homeserverBase(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const trimmed = value.trim().replace(/\/+$/, '');
	try {
		const url = new URL(trimmed);
		return url.protocol === 'http:' || url.protocol === 'https:' ? trimmed : undefined;
	} catch {
		return undefined;
	}
}
