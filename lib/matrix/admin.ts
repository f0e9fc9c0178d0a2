import { randomInt } from 'node:crypto';

import type { MatrixClient, MatrixFailure } from './client';

/**
 * Synapse's admin API for registration tokens (docs/usage/administration/admin_api/registration_tokens.md,
 * synapse/rest/admin/registration_tokens.py): tokens people type when they register an account on a
 * homeserver with `registration_requires_token`. Calls go through MatrixClient (one HTTP seam; the
 * transport carries the admin's access token). Errors say what went wrong in our words: Synapse's
 * own texts may contain the token ("No such registration token: abcd"), which must not reach logs.
 */

/** A token Synapse accepts (the admin API's rule): 1–64 of `A-Z a-z 0-9 . _ ~ -`. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const GENERATED_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ADMIN_PREFIX = '/_synapse/admin/v1';

/** A registration token as Synapse describes it (its field names, camel-cased). */
export interface RegistrationToken {
	token: string;
	/** Registrations it allows in all; null: unlimited. */
	usesAllowed: number | null;
	/** Registrations under way with it (they hold a use until they finish or expire). */
	pending: number;
	/** Registrations completed with it. */
	completed: number;
	/** Last moment it works (ms since the epoch, UTC); null: never expires. */
	expiryTime: number | null;
}

/** A token with what an organizer wants to read: uses left, validity, expiry in UTC. */
export interface TokenView extends RegistrationToken {
	/** usesAllowed − pending − completed (never below 0); null: unlimited. */
	usesLeft: number | null;
	expired: boolean;
	/** Works for a registration now (uses left and not expired — the list's `valid` filter). */
	valid: boolean;
	/** The expiry as ISO 8601 (UTC), or null. */
	expiresAt: string | null;
	/** One readable line: "2 of 3 uses left · expires 2026-11-30 18:00 UTC". */
	summary: string;
}

export type AdminErrorKind = 'notFound' | 'exists' | 'invalid' | 'forbidden' | 'unauthorized' | 'unavailable' | 'network' | 'http';

/** A failed admin call. Never carries the token or Synapse's own text. */
export class SynapseAdminError extends Error {
	constructor(
		message: string,
		readonly kind: AdminErrorKind,
		readonly httpCode?: number,
		readonly errcode?: string,
	) {
		super(message);
		this.name = 'SynapseAdminError';
	}
}

/** Synapse's 400 texts that name fields only (registration_tokens.py); anything else is not echoed. */
const SAFE_INVALID_TEXTS = [
	'token must be a string',
	'token must not be empty and must not be longer than 64 characters',
	'token must consist only of characters matched by the regex [A-Za-z0-9-_]',
	'length must be an integer',
	'length must be greater than zero and not greater than 64',
	'uses_allowed must be a non-negative integer or null',
	'expiry_time must be an integer or null',
	'expiry_time must not be in the past',
];

function failure(outcome: MatrixFailure, what: string): SynapseAdminError {
	if (outcome.kind === 'network') return new SynapseAdminError(`The homeserver could not be reached (${outcome.code}) while trying to ${what}`, 'network');
	const { status, errcode } = outcome;
	if (status === 401) return new SynapseAdminError(`The homeserver rejected the admin access token (401 ${errcode})`, 'unauthorized', status, errcode);
	if (status === 403) return new SynapseAdminError('The admin credential is not a Synapse server admin (403): only server admins may manage registration tokens', 'forbidden', status, errcode);
	if (status === 404 && errcode === 'M_NOT_FOUND') return new SynapseAdminError('No such registration token (404 M_NOT_FOUND)', 'notFound', status, errcode);
	if ((status === 404 || status === 405) && errcode === 'M_UNRECOGNIZED')
		return new SynapseAdminError(`The homeserver has no Synapse admin API for registration tokens (${status} M_UNRECOGNIZED); is it Synapse, and is the admin API reachable at this URL?`, 'unavailable', status, errcode);
	if (status === 400 && errcode === 'M_INVALID_PARAM') {
		if (outcome.serverError.startsWith('Token already exists')) return new SynapseAdminError('A registration token with this text exists already (400 M_INVALID_PARAM)', 'exists', status, errcode);
		const safe = SAFE_INVALID_TEXTS.find((text) => outcome.serverError === text);
		return new SynapseAdminError(`Synapse refused the request (400 M_INVALID_PARAM)${safe ? `: ${safe}` : ''}`, 'invalid', status, errcode);
	}
	return new SynapseAdminError(`The homeserver answered ${status} ${errcode} while trying to ${what}`, 'http', status, errcode);
}

function checkToken(token: unknown): string {
	if (typeof token !== 'string' || !TOKEN_PATTERN.test(token))
		throw new SynapseAdminError('A registration token is 1 to 64 characters of A–Z, a–z, 0–9, ".", "_", "~" and "-"', 'invalid');
	return token;
}

function checkUses(uses: unknown): number | null {
	if (uses === null) return null;
	if (typeof uses !== 'number' || !Number.isSafeInteger(uses) || uses < 0)
		throw new SynapseAdminError('The uses allowed must be a whole number, 0 or more (or unlimited)', 'invalid');
	return uses;
}

function checkExpiry(expiry: unknown, now: number): number | null {
	if (expiry === null) return null;
	if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry)) throw new SynapseAdminError('The expiry must be a point in time', 'invalid');
	// Synapse refuses an expiry in the past (400); say so before asking.
	if (expiry < now) throw new SynapseAdminError('The expiry lies in the past', 'invalid');
	return expiry;
}

function number(value: unknown): number {
	return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function nullableNumber(value: unknown): number | null {
	return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function fromApi(raw: unknown): RegistrationToken {
	const t = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
	return {
		token: typeof t.token === 'string' ? t.token : '',
		usesAllowed: nullableNumber(t.uses_allowed),
		pending: number(t.pending),
		completed: number(t.completed),
		expiryTime: nullableNumber(t.expiry_time),
	};
}

/** "2026-11-30 18:00 UTC" */
export function utc(ms: number): string {
	return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Uses left, validity and a readable line, as of `now`. */
export function viewOf(token: RegistrationToken, now: number): TokenView {
	const usesLeft = token.usesAllowed === null ? null : Math.max(0, token.usesAllowed - token.pending - token.completed);
	const expired = token.expiryTime !== null && token.expiryTime <= now;
	// get_registration_tokens(valid=True): uses_allowed > pending + completed (or unlimited) and not expired.
	const valid = (usesLeft === null || usesLeft > 0) && !expired;
	const uses = usesLeft === null ? 'unlimited uses' : `${usesLeft} of ${token.usesAllowed} use${token.usesAllowed === 1 ? '' : 's'} left`;
	const expiry = token.expiryTime === null ? 'does not expire' : `${expired ? 'expired' : 'expires'} ${utc(token.expiryTime)}`;
	const under = token.pending ? ` · ${token.pending} registration${token.pending === 1 ? '' : 's'} under way` : '';
	return {
		...token,
		usesLeft,
		expired,
		valid,
		expiresAt: token.expiryTime === null ? null : new Date(token.expiryTime).toISOString(),
		summary: `${uses} · ${expiry}${under}`,
	};
}

/** A random token generated here (crypto), e.g. to give it a recognisable prefix. */
export function randomToken(prefix = '', length = 16): string {
	if (!/^[A-Za-z0-9._~-]{0,32}$/.test(prefix)) throw new SynapseAdminError('The token prefix may only contain A–Z, a–z, 0–9, ".", "_", "~" and "-" (at most 32)', 'invalid');
	const count = Math.floor(length);
	if (!(count >= 8 && prefix.length + count <= 64)) throw new SynapseAdminError('A generated token needs 8 or more random characters, and at most 64 in all', 'invalid');
	return prefix + Array.from({ length: count }, () => GENERATED_ALPHABET[randomInt(GENERATED_ALPHABET.length)]).join('');
}

export interface CreateTokenInput {
	/** The token's text; without it Synapse generates `length` random characters. */
	token?: string;
	length?: number;
	usesAllowed?: number | null;
	expiryTime?: number | null;
}

export interface UpdateTokenInput {
	usesAllowed?: number | null;
	expiryTime?: number | null;
}

export class SynapseAdmin {
	constructor(
		private readonly client: MatrixClient,
		private readonly now: () => number = Date.now,
	) {}

	private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', segments: string[], what: string, options: { qs?: Record<string, string>; body?: unknown } = {}): Promise<T> {
		const outcome = await this.client.request<T>(method, segments, { prefix: ADMIN_PREFIX, ...options });
		if (!outcome.ok) throw failure(outcome, what);
		return outcome.value;
	}

	/** `GET /_synapse/admin/v1/server_version` (no authentication in Synapse). */
	async serverVersion(): Promise<string> {
		const answer = await this.call<{ server_version?: unknown }>('GET', ['server_version'], 'read the server version');
		return typeof answer?.server_version === 'string' ? answer.server_version : '';
	}

	/** Every token, or only valid (`true`) / only used-up or expired (`false`) ones. */
	async list(valid?: boolean): Promise<TokenView[]> {
		const answer = await this.call<{ registration_tokens?: unknown }>('GET', ['registration_tokens'], 'list registration tokens', valid === undefined ? {} : { qs: { valid: String(valid) } });
		const now = this.now();
		return (Array.isArray(answer?.registration_tokens) ? answer.registration_tokens : []).map((t) => viewOf(fromApi(t), now));
	}

	async get(token: string): Promise<TokenView> {
		return viewOf(fromApi(await this.call('GET', ['registration_tokens', checkToken(token)], 'read a registration token')), this.now());
	}

	async create(input: CreateTokenInput): Promise<TokenView> {
		const body: Record<string, unknown> = {};
		if (input.token !== undefined && input.token !== '') body.token = checkToken(input.token);
		else if (input.length !== undefined) {
			if (!Number.isSafeInteger(input.length) || input.length < 1 || input.length > 64) throw new SynapseAdminError('The token length must be between 1 and 64', 'invalid');
			body.length = input.length;
		}
		if (input.usesAllowed !== undefined) body.uses_allowed = checkUses(input.usesAllowed);
		if (input.expiryTime !== undefined) body.expiry_time = checkExpiry(input.expiryTime, this.now());
		return viewOf(fromApi(await this.call('POST', ['registration_tokens', 'new'], 'create a registration token', { body })), this.now());
	}

	/** Changes only the fields given (Synapse's PUT); nothing given returns the token as it is. */
	async update(token: string, input: UpdateTokenInput): Promise<TokenView> {
		const body: Record<string, unknown> = {};
		if (input.usesAllowed !== undefined) body.uses_allowed = checkUses(input.usesAllowed);
		if (input.expiryTime !== undefined) body.expiry_time = checkExpiry(input.expiryTime, this.now());
		return viewOf(fromApi(await this.call('PUT', ['registration_tokens', checkToken(token)], 'update a registration token', { body })), this.now());
	}

	/** Deletes the token; false when it did not exist (404) and `missingOk` is set. */
	async delete(token: string, missingOk = false): Promise<boolean> {
		try {
			await this.call('DELETE', ['registration_tokens', checkToken(token)], 'delete a registration token');
			return true;
		} catch (error) {
			if (missingOk && error instanceof SynapseAdminError && error.kind === 'notFound') return false;
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: the Matrix Admin node maps it (CONTRIBUTING.md)
			throw error;
		}
	}
}
