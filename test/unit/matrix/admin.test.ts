/**
 * lib/matrix/admin.ts against the fake homeserver's copy of Synapse's registration-token admin API
 * (test/fakes/matrix/admin.ts): what each call sends, what it makes of each answer, and that no
 * error message carries a token.
 */
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { randomToken, SynapseAdmin, SynapseAdminError, TOKEN_PATTERN, utc, viewOf } from '../../../lib/matrix/admin';
import { MatrixClient } from '../../../lib/matrix/client';
import { manualClock, startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

const DAY = 86_400_000;

describe('SynapseAdmin (registration tokens)', () => {
	let hs: FakeHomeserver;
	const clock = manualClock(1_800_000_000_000);
	const adminFor = (token: string) => new SynapseAdmin(new MatrixClient(hs.url, fetchTransport(() => `Bearer ${token}`)), clock.now);
	let admin: SynapseAdmin;

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false, clock });
		admin = adminFor(hs.createUser('root', { admin: true }).accessToken);
	});
	afterEach(() => hs.stop());

	async function rejection(promise: Promise<unknown>): Promise<SynapseAdminError> {
		const error = await promise.then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(SynapseAdminError);
		return error as SynapseAdminError;
	}

	test('create, get, update, list (valid filter) and delete round-trip; views say uses left and expiry in UTC', async () => {
		const created = await admin.create({ usesAllowed: 3, expiryTime: clock.now() + 7 * DAY });
		expect(created.token).toMatch(TOKEN_PATTERN);
		expect(created).toMatchObject({ usesAllowed: 3, pending: 0, completed: 0, usesLeft: 3, valid: true, expired: false, expiresAt: new Date(clock.now() + 7 * DAY).toISOString() });
		expect(created.summary).toBe(`3 of 3 uses left · expires ${utc(clock.now() + 7 * DAY)}`);
		expect(hs.admin.token(created.token)).toEqual({ token: created.token, uses_allowed: 3, pending: 0, completed: 0, expiry_time: clock.now() + 7 * DAY });

		const custom = await admin.create({ token: 'summit-26', usesAllowed: null });
		expect(custom.summary).toBe('unlimited uses · does not expire');
		expect((await admin.get('summit-26')).usesLeft).toBeNull();
		const updated = await admin.update('summit-26', { usesAllowed: 1 });
		expect(updated).toMatchObject({ usesAllowed: 1, expiryTime: null, usesLeft: 1 });

		hs.admin.setToken({ token: 'spent', uses_allowed: 1, pending: 0, completed: 1, expiry_time: null });
		expect((await admin.list()).map((t) => t.token).sort()).toEqual([created.token, 'spent', 'summit-26'].sort());
		expect((await admin.list(true)).map((t) => t.token).sort()).toEqual([created.token, 'summit-26'].sort());
		expect(await admin.list(false)).toEqual([expect.objectContaining({ token: 'spent', valid: false, usesLeft: 0 })]);
		expect(hs.requests().filter((r) => r.path.endsWith('/registration_tokens')).map((r) => r.query)).toEqual(['', 'valid=true', 'valid=false']);

		expect(await admin.delete('spent')).toBe(true);
		expect(hs.admin.token('spent')).toBeUndefined();
		expect(await admin.delete('spent', true)).toBe(false);
		// Nobody else's token was touched.
		expect(hs.admin.allTokens().map((t) => t.token).sort()).toEqual([created.token, 'summit-26'].sort());
	});

	test('a pending registration holds a use: 1 of 2 left, and the view says so', async () => {
		hs.admin.setToken({ token: 'half', uses_allowed: 2, pending: 1, completed: 0, expiry_time: clock.now() - 1 });
		const view = await admin.get('half');
		expect(view).toMatchObject({ usesLeft: 1, expired: true, valid: false });
		expect(view.summary).toBe(`1 of 2 uses left · expired ${utc(clock.now() - 1)} · 1 registration under way`);
	});

	test('Synapse\'s errors become kinds with messages that never carry the token', async () => {
		const missing = await rejection(admin.get('secret-token-1'));
		expect([missing.kind, missing.httpCode, missing.errcode]).toEqual(['notFound', 404, 'M_NOT_FOUND']);
		expect((await rejection(admin.delete('secret-token-1'))).kind).toBe('notFound');
		expect((await rejection(admin.update('secret-token-1', { usesAllowed: 2 }))).kind).toBe('notFound');
		await admin.create({ token: 'secret-token-2' });
		const exists = await rejection(admin.create({ token: 'secret-token-2' }));
		expect(exists.kind).toBe('exists');
		for (const error of [missing, exists]) expect(error.message).not.toMatch(/secret-token/);

		const forbidden = await rejection(adminFor(hs.createUser('plain').accessToken).list());
		expect([forbidden.kind, forbidden.httpCode]).toEqual(['forbidden', 403]);
		const unauthorized = await rejection(adminFor('nope').list());
		expect([unauthorized.kind, unauthorized.httpCode, unauthorized.errcode]).toEqual(['unauthorized', 401, 'M_UNKNOWN_TOKEN']);
		hs.failNext(1, { status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'expiry_time must not be in the past' } });
		const invalid = await rejection(admin.create({}));
		expect([invalid.kind, invalid.message]).toEqual(['invalid', 'Synapse refused the request (400 M_INVALID_PARAM): expiry_time must not be in the past']);
		hs.failNext(1, { status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } });
		expect((await rejection(admin.list())).kind).toBe('unavailable');
		await hs.setDown('refuse');
		expect((await rejection(admin.list())).kind).toBe('network');
		await hs.setDown(false);
	});

	test('bad input is refused before any request, with a clear message', async () => {
		hs.clearLog();
		expect((await rejection(admin.create({ token: 'has space' }))).message).toMatch(/1 to 64 characters/);
		expect((await rejection(admin.create({ token: 'x'.repeat(65) }))).kind).toBe('invalid');
		expect((await rejection(admin.create({ usesAllowed: -1 }))).message).toMatch(/whole number/);
		expect((await rejection(admin.create({ usesAllowed: 1.5 }))).kind).toBe('invalid');
		expect((await rejection(admin.create({ expiryTime: clock.now() - 1 }))).message).toMatch(/past/);
		expect((await rejection(admin.create({ length: 0 }))).kind).toBe('invalid');
		expect((await rejection(admin.get('a/b'))).kind).toBe('invalid');
		expect(hs.requests()).toEqual([]);
	});

	test('randomToken: a prefix and at least 8 random letters and digits; the whole stays a valid token', () => {
		const token = randomToken('ticket-', 16);
		expect(token).toMatch(/^ticket-[A-Za-z0-9]{16}$/);
		expect(token).toMatch(TOKEN_PATTERN);
		expect(new Set(Array.from({ length: 50 }, () => randomToken('', 12))).size).toBe(50);
		expect(() => randomToken('bad prefix', 16)).toThrow(SynapseAdminError);
		expect(() => randomToken('x'.repeat(30), 40)).toThrow(/at most 64/);
		expect(() => randomToken('', 4)).toThrow(/8 or more/);
	});

	test('viewOf: unlimited, used up and valid follow the list filter', () => {
		expect(viewOf({ token: 'a', usesAllowed: null, pending: 0, completed: 5, expiryTime: null }, 0)).toMatchObject({ usesLeft: null, valid: true });
		expect(viewOf({ token: 'b', usesAllowed: 2, pending: 1, completed: 1, expiryTime: null }, 0)).toMatchObject({ usesLeft: 0, valid: false });
		expect(viewOf({ token: 'c', usesAllowed: 0, pending: 0, completed: 0, expiryTime: null }, 0)).toMatchObject({ usesLeft: 0, valid: false });
		expect(viewOf({ token: 'd', usesAllowed: 1, pending: 0, completed: 0, expiryTime: 10 }, 10)).toMatchObject({ expired: true, valid: false });
	});
});
