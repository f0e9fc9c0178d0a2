/**
 * The fake homeserver's registration tokens, rule by rule against Synapse's source:
 * synapse/rest/admin/registration_tokens.py (the admin API), synapse/storage/databases/main/registration.py
 * (validity and the pending/completed counters), synapse/rest/client/register.py and
 * synapse/handlers/ui_auth/checkers.py `RegistrationTokenAuthChecker` (registration with a token).
 */
import { manualClock, startFakeHomeserver, type FakeHomeserver } from './index';

type Body = Record<string, unknown> & { errcode?: string; error?: string };

function caller(hs: FakeHomeserver, token?: string) {
	return async (method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; body: Body }> => {
		const headers: Record<string, string> = {};
		if (token) headers.Authorization = `Bearer ${token}`;
		if (body !== undefined || raw !== undefined) headers['Content-Type'] = 'application/json';
		const response = await fetch(`${hs.url}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
		return { status: response.status, body: (await response.json()) as Body };
	};
}

const TOKENS = '/_synapse/admin/v1/registration_tokens';
const DAY = 86_400_000;

describe('fake homeserver: Synapse registration tokens', () => {
	let hs: FakeHomeserver;
	let admin: ReturnType<typeof caller>;
	let user: ReturnType<typeof caller>;
	const clock = manualClock(1_800_000_000_000);

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false, clock });
		admin = caller(hs, hs.createUser('admin', { admin: true }).accessToken);
		user = caller(hs, hs.createUser('someone').accessToken);
	});
	afterEach(() => hs.stop());

	test('server_version needs no access token (rest/admin/__init__.py VersionServlet)', async () => {
		const version = await caller(hs)('GET', '/_synapse/admin/v1/server_version');
		expect(version).toEqual({ status: 200, body: { server_version: expect.stringMatching(/^\d+\.\d+\.\d+$/) } });
	});

	test('every token endpoint wants a server admin: 401 without a token, 403 "You are not a server admin" (rest/admin/_base.py assert_requester_is_admin)', async () => {
		expect(await caller(hs)('GET', TOKENS)).toEqual({ status: 401, body: { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' } });
		for (const [method, path] of [['GET', TOKENS], ['POST', `${TOKENS}/new`], ['GET', `${TOKENS}/abcd`], ['PUT', `${TOKENS}/abcd`], ['DELETE', `${TOKENS}/abcd`]]) {
			expect({ method, path, ...(await user(method, path, method === 'GET' || method === 'DELETE' ? undefined : {})) }).toEqual({ method, path, status: 403, body: { errcode: 'M_FORBIDDEN', error: 'You are not a server admin' } });
		}
		expect(hs.admin.allTokens()).toEqual([]);
	});

	test('create with defaults: 16 random characters of [A-Za-z0-9._~-], unlimited, no expiry (NewRegistrationTokenRestServlet)', async () => {
		const created = await admin('POST', `${TOKENS}/new`, {});
		expect(created.status).toBe(200);
		expect(created.body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9._~-]{16}$/), uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
		const short = await admin('POST', `${TOKENS}/new`, { length: 5, uses_allowed: 1, expiry_time: clock.now() + DAY });
		expect(short.body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9._~-]{5}$/), uses_allowed: 1, pending: 0, completed: 0, expiry_time: clock.now() + DAY });
		expect((await admin('POST', `${TOKENS}/new`, { token: 'my.token~1-x_Y' })).body.token).toBe('my.token~1-x_Y');
	});

	test('create refuses bad fields with 400 M_INVALID_PARAM, in Synapse\'s order and words, and stores nothing', async () => {
		const cases: Array<[unknown, string]> = [
			[{ token: 5 }, 'token must be a string'],
			[{ token: '' }, 'token must not be empty and must not be longer than 64 characters'],
			[{ token: 'x'.repeat(65) }, 'token must not be empty and must not be longer than 64 characters'],
			[{ token: 'has space' }, 'token must consist only of characters matched by the regex [A-Za-z0-9-_]'],
			[{ token: 'ümlaut' }, 'token must consist only of characters matched by the regex [A-Za-z0-9-_]'],
			[{ length: '16' }, 'length must be an integer'],
			[{ length: true }, 'length must be an integer'],
			[{ length: 0 }, 'length must be greater than zero and not greater than 64'],
			[{ length: 65 }, 'length must be greater than zero and not greater than 64'],
			[{ uses_allowed: -1 }, 'uses_allowed must be a non-negative integer or null'],
			[{ uses_allowed: 1.5 }, 'uses_allowed must be a non-negative integer or null'],
			[{ expiry_time: 'tomorrow' }, 'expiry_time must be an integer or null'],
			[{ expiry_time: clock.now() - 1 }, 'expiry_time must not be in the past'],
		];
		for (const [input, error] of cases) {
			expect({ input, ...(await admin('POST', `${TOKENS}/new`, input)) }).toEqual({ input, status: 400, body: { errcode: 'M_INVALID_PARAM', error } });
		}
		expect(hs.admin.allTokens()).toEqual([]);
		// parse_json_object_from_request: no body, not JSON, not an object.
		expect((await admin('POST', `${TOKENS}/new`, undefined, '')).body.errcode).toBe('M_NOT_JSON');
		expect((await admin('POST', `${TOKENS}/new`, undefined, '{nope')).body).toEqual({ errcode: 'M_NOT_JSON', error: 'Content not JSON.' });
		expect((await admin('POST', `${TOKENS}/new`, [])).body).toEqual({ errcode: 'M_BAD_JSON', error: 'Content must be a JSON object.' });
	});

	test('a custom token that exists already: 400 M_INVALID_PARAM "Token already exists" (create_registration_token returns False)', async () => {
		await admin('POST', `${TOKENS}/new`, { token: 'dup', uses_allowed: 3 });
		const again = await admin('POST', `${TOKENS}/new`, { token: 'dup', uses_allowed: 1 });
		expect(again).toEqual({ status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'Token already exists: dup' } });
		expect(hs.admin.token('dup')?.uses_allowed).toBe(3);
	});

	test('get, update (only the given fields; 0 uses allowed), delete; unknown tokens 404 M_NOT_FOUND "No such registration token" (RegistrationTokenRestServlet)', async () => {
		await admin('POST', `${TOKENS}/new`, { token: 'abcd', uses_allowed: 3 });
		expect((await admin('GET', `${TOKENS}/abcd`)).body).toEqual({ token: 'abcd', uses_allowed: 3, pending: 0, completed: 0, expiry_time: null });
		const later = clock.now() + 7 * DAY;
		expect((await admin('PUT', `${TOKENS}/abcd`, { expiry_time: later })).body).toEqual({ token: 'abcd', uses_allowed: 3, pending: 0, completed: 0, expiry_time: later });
		expect((await admin('PUT', `${TOKENS}/abcd`, { uses_allowed: 0 })).body).toEqual({ token: 'abcd', uses_allowed: 0, pending: 0, completed: 0, expiry_time: later });
		expect((await admin('PUT', `${TOKENS}/abcd`, {})).body.uses_allowed).toBe(0);
		expect(await admin('PUT', `${TOKENS}/abcd`, { uses_allowed: -2 })).toEqual({ status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'uses_allowed must be a non-negative integer or null' } });
		expect(await admin('PUT', `${TOKENS}/abcd`, { expiry_time: 1 })).toEqual({ status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'expiry_time must not be in the past' } });
		expect((await admin('PUT', `${TOKENS}/abcd`, { uses_allowed: null, expiry_time: null })).body).toEqual({ token: 'abcd', uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
		for (const method of ['GET', 'PUT', 'DELETE']) {
			expect({ method, ...(await admin(method, `${TOKENS}/nope`, method === 'PUT' ? { uses_allowed: 1 } : undefined)) }).toEqual({ method, status: 404, body: { errcode: 'M_NOT_FOUND', error: 'No such registration token: nope' } });
		}
		expect(await admin('DELETE', `${TOKENS}/abcd`)).toEqual({ status: 200, body: {} });
		expect(await admin('DELETE', `${TOKENS}/abcd`)).toEqual({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'No such registration token: abcd' } });
		// Path segments are percent-decoded: a token with ~ and . works as it is typed.
		await admin('POST', `${TOKENS}/new`, { token: 'a.b~c' });
		expect((await admin('GET', `${TOKENS}/${encodeURIComponent('a.b~c')}`)).status).toBe(200);
	});

	test('the list and its valid filter follow get_registration_tokens\' SQL: used up or expired is invalid', async () => {
		hs.admin.setToken({ token: 'fresh', uses_allowed: 3, pending: 0, completed: 1, expiry_time: null });
		hs.admin.setToken({ token: 'busy', uses_allowed: 2, pending: 1, completed: 1, expiry_time: null });
		hs.admin.setToken({ token: 'old', uses_allowed: null, pending: 0, completed: 9, expiry_time: clock.now() - 1 });
		hs.admin.setToken({ token: 'zero', uses_allowed: 0, pending: 0, completed: 0, expiry_time: null });
		const names = async (query: string) => ((await admin('GET', `${TOKENS}${query}`)).body.registration_tokens as Array<{ token: string }>).map((t) => t.token).sort();
		expect(await names('')).toEqual(['busy', 'fresh', 'old', 'zero']);
		expect(await names('?valid=true')).toEqual(['fresh']);
		expect(await names('?valid=false')).toEqual(['busy', 'old', 'zero']);
		expect(await admin('GET', `${TOKENS}?valid=yes`)).toEqual({ status: 400, body: { errcode: 'M_INVALID_PARAM', error: "Boolean query parameter 'valid' must be one of ['true', 'false']" } });
	});

	test('registration with a token: the token stage counts a pending use, completing turns it into a completed one (checkers.py, use_registration_token)', async () => {
		await admin('POST', `${TOKENS}/new`, { token: 'once', uses_allowed: 1 });
		const anon = caller(hs);
		const first = await anon('POST', '/_matrix/client/v3/register', { username: 'newbie', password: 'Secret-pw-1' });
		expect(first.status).toBe(401);
		expect(first.body).toEqual({ flows: [{ stages: ['m.login.registration_token', 'm.login.dummy'] }], params: {}, session: expect.any(String) });
		const session = first.body.session as string;
		const wrong = await anon('POST', '/_matrix/client/v3/register', { username: 'newbie', password: 'Secret-pw-1', auth: { type: 'm.login.registration_token', token: 'nope', session } });
		expect(wrong.status).toBe(401);
		expect(wrong.body).toMatchObject({ errcode: 'M_UNAUTHORIZED', error: 'Invalid registration token', session });
		const staged = await anon('POST', '/_matrix/client/v3/register', { username: 'newbie', password: 'Secret-pw-1', auth: { type: 'm.login.registration_token', token: 'once', session } });
		expect(staged.status).toBe(401);
		expect(staged.body.completed).toEqual(['m.login.registration_token']);
		expect(hs.admin.token('once')).toMatchObject({ pending: 1, completed: 0 });
		// The pending use makes the one-use token invalid for everybody else already.
		expect((await anon('GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=once')).body).toEqual({ valid: false });
		const done = await anon('POST', '/_matrix/client/v3/register', { username: 'newbie', password: 'Secret-pw-1', auth: { type: 'm.login.dummy', session } });
		expect(done.status).toBe(200);
		expect(done.body).toMatchObject({ user_id: '@newbie:localhost', access_token: expect.any(String) });
		expect(hs.admin.token('once')).toMatchObject({ pending: 0, completed: 1 });
		// The new account works; the taken name is refused before any token is counted.
		expect((await caller(hs, done.body.access_token as string)('GET', '/_matrix/client/v3/account/whoami')).body.user_id).toBe('@newbie:localhost');
		expect(await anon('POST', '/_matrix/client/v3/register', { username: 'newbie' })).toEqual({ status: 400, body: { errcode: 'M_USER_IN_USE', error: 'User ID already taken.' } });
	});

	test('token validity check: unknown, expired and used up are invalid (registration_token_is_valid)', async () => {
		hs.admin.setToken({ token: 'ok', uses_allowed: 2, pending: 0, completed: 1, expiry_time: clock.now() + DAY });
		hs.admin.setToken({ token: 'full', uses_allowed: 2, pending: 1, completed: 1, expiry_time: null });
		hs.admin.setToken({ token: 'late', uses_allowed: null, pending: 0, completed: 0, expiry_time: clock.now() + 1000 });
		const valid = async (token: string) => (await caller(hs)('GET', `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`)).body.valid;
		expect([await valid('ok'), await valid('full'), await valid('late'), await valid('unknown')]).toEqual([true, false, true, false]);
		clock.advance(2000);
		expect(await valid('late')).toBe(false);
	});
});
