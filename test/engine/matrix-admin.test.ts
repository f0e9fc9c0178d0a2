/**
 * Matrix Admin through n8n's engine against the fake homeserver's copy of Synapse's registration
 * token API (test/fakes/matrix/admin.ts, after synapse/rest/admin/registration_tokens.py): one test
 * per operation, one per error answer (400 M_INVALID_PARAM, 404 M_NOT_FOUND, 403 for non-admins,
 * 401), the credential test, and that error messages carry no token.
 */
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { credentialTest, runWorkflow, wf } from '../harness/engine';

const DAY = 86_400_000;

const node = (parameters: IDataObject, extra: { continueOnFail?: boolean } = {}) =>
	wf([{ name: 'Admin', type: 'matrixAdmin', parameters: { resource: 'registrationToken', ...parameters } as never, credentials: ['matrixAdminApi'], ...extra }]);

describe('Matrix Admin node (registration tokens)', () => {
	let hs: FakeHomeserver;
	let creds: { matrixAdminApi: ICredentialDataDecryptedObject };

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		creds = { matrixAdminApi: { homeserverUrl: hs.url, accessToken: hs.createUser('root', { admin: true }).accessToken } };
	});
	afterEach(() => hs.stop());

	const run = (parameters: IDataObject, input?: IDataObject[], extra: { continueOnFail?: boolean } = {}, credentials = creds) => runWorkflow({ workflow: node(parameters, extra), credentials, input });

	test('create: uses and expiry in days; a custom token; a generated one with a prefix; the input item is kept', async () => {
		const before = Date.now();
		const created = await run({ operation: 'create', usesAllowed: 3, expiry: 'days', expiryDays: 2 }, [{ order: 'A1' }]);
		expect(created.status).toBe('success');
		const [out] = created.output('Admin');
		const token = out.registrationToken as IDataObject;
		expect(out.order).toBe('A1');
		expect(token).toMatchObject({ usesAllowed: 3, pending: 0, completed: 0, usesLeft: 3, valid: true });
		expect(token.token).toMatch(/^[A-Za-z0-9._~-]{16}$/);
		expect(Number(token.expiryTime)).toBeGreaterThanOrEqual(before + 2 * DAY);
		expect(hs.admin.token(String(token.token))).toMatchObject({ uses_allowed: 3, expiry_time: token.expiryTime });

		const custom = await run({ operation: 'create', usesAllowed: 1, unlimitedUses: true, expiry: 'at', expiryAt: '2099-01-01T00:00:00Z', createOptions: { token: 'summit-26' } });
		expect(custom.output('Admin')[0].registrationToken).toMatchObject({ token: 'summit-26', usesAllowed: null, expiryTime: Date.parse('2099-01-01T00:00:00Z'), expiresAt: '2099-01-01T00:00:00.000Z' });
		const prefixed = await run({ operation: 'create', usesAllowed: 1, expiry: 'never', createOptions: { prefix: 'ticket-', length: 12 } });
		expect((prefixed.output('Admin')[0].registrationToken as IDataObject).token).toMatch(/^ticket-[A-Za-z0-9]{12}$/);
		expect(hs.admin.allTokens()).toHaveLength(3);
	});

	test('get and get many (all, valid, invalid): one item per token with uses left and expiry in UTC', async () => {
		hs.admin.setToken({ token: 'open', uses_allowed: 5, pending: 1, completed: 2, expiry_time: null });
		hs.admin.setToken({ token: 'spent', uses_allowed: 1, pending: 0, completed: 1, expiry_time: null });
		hs.admin.setToken({ token: 'old', uses_allowed: null, pending: 0, completed: 0, expiry_time: 1_000 });
		const got = await run({ operation: 'get', token: '={{ $json.t }}' }, [{ t: 'open' }]);
		expect(got.output('Admin')[0].registrationToken).toMatchObject({ token: 'open', usesLeft: 2, summary: '2 of 5 uses left · does not expire · 1 registration under way' });
		const names = async (validity: string) => (await run({ operation: 'getMany', validity })).output('Admin').map((o) => o.token);
		expect(await names('all')).toEqual(['open', 'spent', 'old']);
		expect(await names('valid')).toEqual(['open']);
		expect(await names('invalid')).toEqual(['spent', 'old']);
		const old = (await run({ operation: 'getMany', validity: 'invalid' })).output('Admin')[1];
		expect(old.summary).toBe('unlimited uses · expired 1970-01-01 00:00 UTC');
	});

	test('update: only the fields chosen change (0 uses makes a token unusable); delete removes only that token', async () => {
		hs.admin.setToken({ token: 'keep', uses_allowed: 2, pending: 0, completed: 0, expiry_time: null });
		hs.admin.setToken({ token: 'other', uses_allowed: 9, pending: 0, completed: 0, expiry_time: null });
		const updated = await run({ operation: 'update', token: 'keep', updateUses: 'set', updateUsesAllowed: 0 });
		expect(updated.output('Admin')[0].registrationToken).toMatchObject({ token: 'keep', usesAllowed: 0, valid: false, expiryTime: null });
		await run({ operation: 'update', token: 'keep', updateExpiry: 'at', updateExpiryAt: '2099-06-01T12:00:00Z' });
		expect(hs.admin.token('keep')).toMatchObject({ uses_allowed: 0, expiry_time: Date.parse('2099-06-01T12:00:00Z') });
		await run({ operation: 'update', token: 'keep', updateUses: 'unlimited', updateExpiry: 'never' });
		expect(hs.admin.token('keep')).toMatchObject({ uses_allowed: null, expiry_time: null });

		const deleted = await run({ operation: 'delete', token: 'keep' });
		expect(deleted.output('Admin')[0].registrationToken).toEqual({ deleted: true });
		expect(hs.admin.token('keep')).toBeUndefined();
		expect(hs.admin.token('other')).toMatchObject({ uses_allowed: 9 });
		const again = await run({ operation: 'delete', token: 'keep', ignoreMissing: true });
		expect(again.output('Admin')[0].registrationToken).toEqual({ deleted: false });
	});

	test('404 M_NOT_FOUND for get, update and delete: the node fails naming no token, or with Continue On Fail says notFound', async () => {
		for (const parameters of [{ operation: 'get', token: 'hidden-one' }, { operation: 'update', token: 'hidden-one', updateUses: 'set', updateUsesAllowed: 1 }, { operation: 'delete', token: 'hidden-one' }]) {
			const failed = await run(parameters);
			expect({ op: parameters.operation, status: failed.status, httpCode: failed.error?.httpCode, message: failed.error?.message }).toEqual({ op: parameters.operation, status: 'error', httpCode: '404', message: 'No such registration token (404 M_NOT_FOUND)' });
			expect(JSON.stringify(failed.error)).not.toContain('hidden-one');
		}
		const tolerant = await run({ operation: 'get', token: '={{ $json.t }}' }, [{ t: 'hidden-one' }, { t: 'hidden-two' }], { continueOnFail: true });
		expect(tolerant.output('Admin').map((o) => [o.t, o.errorKind])).toEqual([['hidden-one', 'notFound'], ['hidden-two', 'notFound']]);
	});

	test('400 M_INVALID_PARAM: an existing custom token, a past expiry; bad input is refused before any request', async () => {
		hs.admin.setToken({ token: 'taken', uses_allowed: 1, pending: 0, completed: 0, expiry_time: null });
		const exists = await run({ operation: 'create', usesAllowed: 1, expiry: 'never', createOptions: { token: 'taken' } }, undefined, { continueOnFail: true });
		expect(exists.output('Admin')[0]).toMatchObject({ errorKind: 'exists', error: 'A registration token with this text exists already (400 M_INVALID_PARAM)' });
		expect(hs.admin.token('taken')).toMatchObject({ uses_allowed: 1 });
		hs.clearLog();
		const past = await run({ operation: 'create', usesAllowed: 1, expiry: 'at', expiryAt: '2001-01-01T00:00:00Z' });
		expect([past.status, past.error?.message]).toEqual(['error', 'The expiry lies in the past']);
		const badToken = await run({ operation: 'create', usesAllowed: 1, expiry: 'never', createOptions: { token: 'no spaces please' } });
		expect(badToken.error?.message).toMatch(/1 to 64 characters/);
		const badUses = await run({ operation: 'create', usesAllowed: -3, expiry: 'never' });
		expect(badUses.error?.message).toBe('Uses allowed must be a whole number, 0 or more');
		const badDays = await run({ operation: 'create', usesAllowed: 1, expiry: 'days', expiryDays: 0 });
		expect(badDays.error?.message).toBe('Expires in days must be a number above 0');
		expect(hs.requests().filter((r) => r.path.includes('registration_tokens'))).toEqual([]);
		// Synapse's own 400 for a past expiry (e.g. a clock ahead of n8n's) comes back in our words.
		hs.failNext(1, { status: 400, path: /registration_tokens\/new/, body: { errcode: 'M_INVALID_PARAM', error: 'expiry_time must not be in the past' } });
		const refused = await run({ operation: 'create', usesAllowed: 1, expiry: 'days', expiryDays: 1 });
		expect([refused.error?.httpCode, refused.error?.message]).toEqual(['400', 'Synapse refused the request (400 M_INVALID_PARAM): expiry_time must not be in the past']);
	});

	test('403 for an account that is not a server admin, 401 for a rejected token; nothing is created', async () => {
		const plainUser = { matrixAdminApi: { homeserverUrl: hs.url, accessToken: hs.createUser('someone').accessToken } };
		const forbidden = await run({ operation: 'create', usesAllowed: 1, expiry: 'never' }, undefined, {}, plainUser);
		expect([forbidden.status, forbidden.error?.httpCode, forbidden.error?.message]).toEqual(['error', '403', 'The admin credential is not a Synapse server admin (403): only server admins may manage registration tokens']);
		const rejected = await run({ operation: 'getMany', validity: 'all' }, undefined, {}, { matrixAdminApi: { homeserverUrl: hs.url, accessToken: 'syt_wrong' } });
		expect([rejected.error?.httpCode, rejected.error?.message]).toEqual(['401', 'The homeserver rejected the admin access token (401 M_UNKNOWN_TOKEN)']);
		expect(hs.admin.allTokens()).toEqual([]);
	});

	test('credential test: a server admin passes; a plain user, a wrong token and a URL without the admin API fail with a clear message', async () => {
		expect(await credentialTest('matrixAdminApi', creds.matrixAdminApi)).toMatchObject({ status: 'OK' });
		expect(await credentialTest('matrixAdminApi', { homeserverUrl: hs.url, accessToken: hs.createUser('plain').accessToken })).toMatchObject({ status: 'Error', message: 'This account is not a Synapse server admin' });
		expect(await credentialTest('matrixAdminApi', { homeserverUrl: hs.url, accessToken: 'syt_wrong' })).toMatchObject({ status: 'Error', message: 'The homeserver rejected the admin access token' });
		expect(await credentialTest('matrixAdminApi', { homeserverUrl: `${hs.url}/elsewhere`, accessToken: 'x' })).toMatchObject({ status: 'Error' });
		// Every test request named the package and its version (User-Agent).
		expect(hs.requests().length).toBeGreaterThanOrEqual(4);
		expect(hs.requests().filter((r) => !/^n8n-nodes-pretix-matrix\/\d+\.\d+\.\d+/.test(r.userAgent ?? ''))).toEqual([]);
	});
});
