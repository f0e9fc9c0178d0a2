/**
 * Synapse's registration tokens in the fake homeserver: the admin API
 * (synapse/rest/admin/registration_tokens.py, docs/usage/administration/admin_api/registration_tokens.md),
 * the token-validity check (synapse/rest/client/register.py `RegistrationTokenValidityRestServlet`)
 * and token-authenticated registration, `m.login.registration_token` (register.py
 * `_calculate_registration_flows`, synapse/handlers/ui_auth/checkers.py `RegistrationTokenAuthChecker`,
 * the counters of synapse/storage/databases/main/registration.py). Hooked into server.ts's router.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { forbidden, HttpError, notFound, unrecognized } from './errors';

type Json = Record<string, unknown>;

/** A registration token object as the admin API returns it. */
export interface RegistrationToken {
	token: string;
	uses_allowed: number | null;
	pending: number;
	completed: number;
	expiry_time: number | null;
}

/** What the admin API needs from the homeserver around it. */
export interface AdminApiHost {
	serverName: string;
	/** The requester (401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN like every authenticated endpoint). */
	auth(req: IncomingMessage, url: URL): { userId: string };
	isAdmin(userId: string): boolean;
	userExists(userId: string): boolean;
	/** Creates a local account and a session for it. */
	register(localpart: string, password: string | undefined): { userId: string; accessToken: string; deviceId: string };
	now(): number;
}

/** The version string `GET /_synapse/admin/v1/server_version` reports (Synapse HEAD in the reference). */
export const FAKE_SYNAPSE_VERSION = '1.157.1';

/** register.py `RegisterRestServlet`: the characters Synapse allows in a token (`string.ascii_letters + string.digits + "._~-"`). */
const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-';
const TOKEN_CHAR_SET = new Set(TOKEN_CHARS);
const REGISTRATION_TOKEN = 'm.login.registration_token';
const DUMMY = 'm.login.dummy';

const invalidParam = (message: string) => new HttpError(400, 'M_INVALID_PARAM', message);

/**
 * A 401 of user-interactive auth: http/server.py answers `InteractiveAuthIncompleteError` with its
 * result as the whole body (flows, params, session, completed; errcode/error only after a failed stage).
 */
export class UiaChallenge extends HttpError {
	constructor(readonly replacesBody: Json) {
		super(401, typeof replacesBody.errcode === 'string' ? replacesBody.errcode : 'M_UNKNOWN', typeof replacesBody.error === 'string' ? replacesBody.error : 'Authentication required');
	}
}

function isInt(value: unknown): value is number {
	// Python's `type(x) is int`: JSON integers only (JSON.parse cannot tell 16.0 from 16; bools are not ints).
	return typeof value === 'number' && Number.isSafeInteger(value);
}

function parseJsonObject(raw: string, allowEmpty = false): Json {
	if (!raw.trim()) {
		if (allowEmpty) return {};
		throw new HttpError(400, 'M_NOT_JSON', 'Content not JSON.');
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(raw);
	} catch {
		throw new HttpError(400, 'M_NOT_JSON', 'Content not JSON.');
	}
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
		throw new HttpError(400, 'M_BAD_JSON', 'Content must be a JSON object.');
	return parsed as Json;
}

interface UiaSession {
	/** The token this session's registration_token stage accepted (UIAuthSessionDataConstants.REGISTRATION_TOKEN). */
	token?: string;
	completed: string[];
}

export class SynapseAdminApi {
	private readonly tokens = new Map<string, RegistrationToken>();
	private readonly uia = new Map<string, UiaSession>();
	/** `registration_requires_token: true` (homeserver.yaml): every registration flow starts with a token. */
	registrationRequiresToken = true;
	/** `enable_registration` (the validity check answers 403 without it). */
	enableRegistration = true;

	constructor(private readonly host: AdminApiHost) {}

	// ------------------------------------------------------------- test controls and inspection

	/** The token as stored (a copy), or undefined. */
	token(token: string): RegistrationToken | undefined {
		const found = this.tokens.get(token);
		return found ? { ...found } : undefined;
	}

	/** Every stored token (copies), in creation order. */
	allTokens(): RegistrationToken[] {
		return [...this.tokens.values()].map((t) => ({ ...t }));
	}

	/** Puts a token in place directly (set-up only; no validation). */
	setToken(token: RegistrationToken): void {
		this.tokens.set(token.token, { ...token });
	}

	// ------------------------------------------------------------- routing

	/** Answers the request when the path is one of these endpoints; undefined otherwise. */
	route(method: string, url: URL, rawBody: string, req: IncomingMessage): Json | undefined {
		const path = url.pathname;
		if (path === '/_synapse/admin/v1/server_version') {
			// rest/admin/__init__.py `VersionServlet`: no authentication.
			if (method !== 'GET') throw unrecognized(405);
			return { server_version: FAKE_SYNAPSE_VERSION };
		}
		if (path === '/_synapse/admin/v1/registration_tokens') {
			if (method !== 'GET') throw unrecognized(405);
			this.requireAdmin(req, url);
			return { registration_tokens: this.list(this.parseValid(url)) };
		}
		if (path === '/_synapse/admin/v1/registration_tokens/new' && method === 'POST') {
			this.requireAdmin(req, url);
			return { ...this.create(parseJsonObject(rawBody)) };
		}
		const one = /^\/_synapse\/admin\/v1\/registration_tokens\/([^/]*)$/.exec(path);
		if (one) {
			if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') throw unrecognized(405);
			let token: string;
			try {
				token = decodeURIComponent(one[1]);
			} catch {
				throw unrecognized();
			}
			this.requireAdmin(req, url);
			if (method === 'GET') return { ...this.get(token) };
			if (method === 'PUT') return { ...this.update(token, parseJsonObject(rawBody)) };
			// `on_DELETE`: 404 when there was nothing to delete.
			if (!this.tokens.delete(token)) throw notFound(`No such registration token: ${token}`);
			return {};
		}
		if (/^\/_matrix\/client\/v1\/register\/m\.login\.registration_token\/validity$/.test(path)) {
			if (method !== 'GET') throw unrecognized(405);
			// No authentication (Synapse rate-limits it per IP: rc_registration_token_validity, not modelled).
			if (!this.enableRegistration) throw forbidden('Registration has been disabled');
			const token = url.searchParams.get('token');
			if (token === null) throw new HttpError(400, 'M_MISSING_PARAM', 'Missing string query parameter token');
			return { valid: this.isValid(token) };
		}
		if (/^\/_matrix\/client\/(v3|r0)\/register$/.test(path) && method === 'POST') {
			return this.register(parseJsonObject(rawBody, true), url);
		}
		return undefined;
	}

	// ------------------------------------------------------------- admin API

	/** rest/admin/_base.py `assert_requester_is_admin`: 403 "You are not a server admin". */
	private requireAdmin(req: IncomingMessage, url: URL): void {
		const { userId } = this.host.auth(req, url);
		if (!this.host.isAdmin(userId)) throw forbidden('You are not a server admin');
	}

	/** http/servlet.py `parse_boolean`: only "true" and "false". */
	private parseValid(url: URL): boolean | undefined {
		const value = url.searchParams.get('valid');
		if (value === null) return undefined;
		if (value === 'true') return true;
		if (value === 'false') return false;
		throw invalidParam("Boolean query parameter 'valid' must be one of ['true', 'false']");
	}

	/**
	 * storage/databases/main/registration.py `get_registration_tokens`: valid = uses left and not
	 * expired (`uses_allowed > pending + completed OR uses_allowed IS NULL) AND (expiry_time > now OR
	 * expiry_time IS NULL`); invalid = `uses_allowed <= pending + completed OR expiry_time <= now`.
	 */
	private list(valid: boolean | undefined): RegistrationToken[] {
		const now = this.host.now();
		const usable = (t: RegistrationToken) =>
			(t.uses_allowed === null || t.uses_allowed > t.pending + t.completed) && (t.expiry_time === null || t.expiry_time > now);
		const used = (t: RegistrationToken) =>
			(t.uses_allowed !== null && t.uses_allowed <= t.pending + t.completed) || (t.expiry_time !== null && t.expiry_time <= now);
		return [...this.tokens.values()].filter((t) => (valid === undefined ? true : valid ? usable(t) : used(t))).map((t) => ({ ...t }));
	}

	private get(token: string): RegistrationToken {
		const found = this.tokens.get(token);
		if (!found) throw notFound(`No such registration token: ${token}`);
		return found;
	}

	/** `NewRegistrationTokenRestServlet.on_POST`, in its order of checks. */
	private create(body: Json): RegistrationToken {
		let token: string;
		if ('token' in body) {
			const given = body.token;
			if (typeof given !== 'string') throw invalidParam('token must be a string');
			if (!(given.length > 0 && given.length <= 64))
				throw invalidParam('token must not be empty and must not be longer than 64 characters');
			if (![...given].every((c) => TOKEN_CHAR_SET.has(c)))
				throw invalidParam('token must consist only of characters matched by the regex [A-Za-z0-9-_]');
			token = given;
		} else {
			const length = 'length' in body ? body.length : 16;
			if (!isInt(length)) throw invalidParam('length must be an integer');
			if (!(length > 0 && length <= 64)) throw invalidParam('length must be greater than zero and not greater than 64');
			token = this.generate(length);
		}
		const usesAllowed = 'uses_allowed' in body ? body.uses_allowed : null;
		if (!(usesAllowed === null || (isInt(usesAllowed) && usesAllowed >= 0)))
			throw invalidParam('uses_allowed must be a non-negative integer or null');
		const expiry = 'expiry_time' in body ? body.expiry_time : null;
		if (expiry !== null && !isInt(expiry)) throw invalidParam('expiry_time must be an integer or null');
		if (isInt(expiry) && expiry < this.host.now()) throw invalidParam('expiry_time must not be in the past');
		if (this.tokens.has(token)) throw invalidParam(`Token already exists: ${token}`);
		const created: RegistrationToken = { token, uses_allowed: usesAllowed as number | null, pending: 0, completed: 0, expiry_time: expiry as number | null };
		this.tokens.set(token, created);
		return created;
	}

	/** storage `generate_registration_token`: random characters of the allowed set, until unused. */
	private generate(length: number): string {
		for (;;) {
			const token = Array.from({ length }, () => TOKEN_CHARS[randomInt(TOKEN_CHARS.length)]).join('');
			if (!this.tokens.has(token)) return token;
		}
	}

	/** `RegistrationTokenRestServlet.on_PUT`: only the fields given change; nothing given → the token as it is. */
	private update(token: string, body: Json): RegistrationToken {
		const changes: Partial<RegistrationToken> = {};
		if ('uses_allowed' in body) {
			const uses = body.uses_allowed;
			if (!(uses === null || (isInt(uses) && uses >= 0))) throw invalidParam('uses_allowed must be a non-negative integer or null');
			changes.uses_allowed = uses as number | null;
		}
		if ('expiry_time' in body) {
			const expiry = body.expiry_time;
			if (expiry !== null && !isInt(expiry)) throw invalidParam('expiry_time must be an integer or null');
			if (isInt(expiry) && expiry < this.host.now()) throw invalidParam('expiry_time must not be in the past');
			changes.expiry_time = expiry as number | null;
		}
		const found = this.get(token);
		Object.assign(found, changes);
		return found;
	}

	/**
	 * storage `registration_token_is_valid`, rule for rule: unknown → invalid; `expiry_time and
	 * expiry_time < now` → invalid; `uses_allowed and pending + completed >= uses_allowed` → invalid.
	 * (Python's truthiness: a token with `uses_allowed: 0` passes this check, though the list's
	 * `valid=true` filter leaves it out — copied as Synapse has it.)
	 */
	private isValid(token: string): boolean {
		const found = this.tokens.get(token);
		if (!found) return false;
		if (found.expiry_time && found.expiry_time < this.host.now()) return false;
		if (found.uses_allowed && found.pending + found.completed >= found.uses_allowed) return false;
		return true;
	}

	// ------------------------------------------------------------- registration

	/** register.py `_calculate_registration_flows` without 3PIDs, captcha or terms. */
	private flows(): Array<{ stages: string[] }> {
		return [{ stages: this.registrationRequiresToken ? [REGISTRATION_TOKEN, DUMMY] : [DUMMY] }];
	}

	private challenge(sessionId: string, session: UiaSession, error?: HttpError): Json {
		const body: Json = { flows: this.flows(), params: {}, session: sessionId };
		if (session.completed.length) body.completed = [...session.completed];
		if (error) {
			body.errcode = error.errcode;
			body.error = error.message;
		}
		return body;
	}

	/**
	 * `RegisterRestServlet.on_POST` with user-interactive auth: without `auth` a new session and the
	 * flows (401); the token stage (checkers.py `RegistrationTokenAuthChecker.check_auth`) counts one
	 * pending use; completing the flow registers and turns the pending use into a completed one
	 * (storage `use_registration_token`).
	 */
	private register(body: Json, url: URL): Json {
		void url;
		const username = body.username;
		let localpart: string | undefined;
		if (username !== undefined) {
			if (typeof username !== 'string' || username.length > 255) throw invalidParam('Invalid username');
			localpart = username.toLowerCase();
			// handlers/register.py `check_username`.
			if (!/^[a-z0-9._=\-/+]+$/.test(localpart))
				throw new HttpError(400, 'M_INVALID_USERNAME', "User ID can only contain characters a-z, 0-9, or '=_-./+'");
			if (this.host.userExists(`@${localpart}:${this.host.serverName}`)) throw new HttpError(400, 'M_USER_IN_USE', 'User ID already taken.');
		}
		const auth = body.auth as Json | undefined;
		const sessionId = typeof auth?.session === 'string' ? auth.session : undefined;
		if (!auth || sessionId === undefined) {
			const id = randomBytes(12).toString('base64url');
			const session: UiaSession = { completed: [] };
			this.uia.set(id, session);
			throw new UiaChallenge(this.challenge(id, session));
		}
		const session = this.uia.get(sessionId);
		if (!session) throw new HttpError(400, 'M_UNKNOWN', 'Unknown session ID');
		if (auth.type === REGISTRATION_TOKEN) {
			if (!('token' in auth)) throw new HttpError(400, 'M_MISSING_PARAM', 'Missing registration token');
			if (typeof auth.token !== 'string') throw invalidParam('Registration token must be a string');
			if (session.token !== undefined) {
				// The stage was done before: no second pending use; a different token is refused.
				if (auth.token !== session.token) throw invalidParam('Registration token has changed');
			} else if (this.isValid(auth.token)) {
				this.tokens.get(auth.token)!.pending += 1;
				session.token = auth.token;
				session.completed.push(REGISTRATION_TOKEN);
			} else {
				throw new UiaChallenge(this.challenge(sessionId, session, new HttpError(401, 'M_UNAUTHORIZED', 'Invalid registration token')));
			}
		} else if (auth.type === DUMMY) {
			if (!session.completed.includes(DUMMY)) session.completed.push(DUMMY);
		} else {
			throw new HttpError(400, 'M_UNRECOGNIZED', 'Unrecognized auth type');
		}
		const done = this.flows().some((flow) => flow.stages.every((stage) => session.completed.includes(stage)));
		if (!done) throw new UiaChallenge(this.challenge(sessionId, session));
		this.uia.delete(sessionId);
		const account = this.host.register(localpart ?? `user${randomInt(1e9)}`, typeof body.password === 'string' ? body.password : undefined);
		if (session.token !== undefined) {
			const token = this.tokens.get(session.token);
			// A token deleted meanwhile has nothing to count (Synapse's update would find no row).
			if (token) {
				token.pending -= 1;
				token.completed += 1;
			}
		}
		return { user_id: account.userId, access_token: account.accessToken, device_id: account.deviceId, home_server: this.host.serverName };
	}
}
